//! Softmax.

use edgenas_engine::blob::OpKind;

use super::{LayerOp, Lowering, Shape, ShapeError};

/// Softmax over a vector of class scores.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Softmax;

impl LayerOp for Softmax {
    fn kind(&self) -> &'static str {
        "softmax"
    }

    fn lowering(&self) -> Lowering {
        Lowering::op(OpKind::Softmax)
    }

    fn output_shape(&self, inputs: &[Shape]) -> Result<Shape, ShapeError> {
        super::expect_inputs(inputs, 1)?;
        match inputs[0] {
            Shape::Vector(n) => Ok(Shape::Vector(n)),
            s => Err(ShapeError::NeedsVector(s)),
        }
    }
}
