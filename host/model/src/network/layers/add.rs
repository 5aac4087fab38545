//! Element-wise addition (residual connections).

use edgenas_engine::blob::OpKind;

use super::{LayerOp, Lowering, Shape, ShapeError};

/// The sum of two tensors of the same shape.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Add;

impl LayerOp for Add {
    fn kind(&self) -> &'static str {
        "add"
    }

    fn lowering(&self) -> Lowering {
        Lowering::op(OpKind::Add)
    }

    fn output_shape(&self, inputs: &[Shape]) -> Result<Shape, ShapeError> {
        super::expect_inputs(inputs, 2)?;
        if inputs[0] != inputs[1] {
            return Err(ShapeError::Unequal(inputs[0], inputs[1]));
        }
        Ok(inputs[0])
    }
}
