//! Feature map → vector.

use super::{LayerOp, Lowering, Shape, ShapeError};

/// Reinterprets a feature map as a vector (channel-major, as ONNX `Flatten`); no data moves.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Flatten;

impl LayerOp for Flatten {
    fn kind(&self) -> &'static str {
        "flatten"
    }

    fn lowering(&self) -> Lowering {
        Lowering::View
    }

    fn output_shape(&self, inputs: &[Shape]) -> Result<Shape, ShapeError> {
        super::expect_inputs(inputs, 1)?;
        Ok(Shape::Vector(inputs[0].elements()))
    }
}
