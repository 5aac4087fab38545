//! A tensor of zeros.

use edgenas_engine::blob::OpKind;

use super::{LayerOp, Lowering, Shape, ShapeError};

/// A source of zeros of the given shape: the output of an NB201 node whose incoming edges are
/// all `none`.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Zero {
    /// The shape of the zeros.
    pub shape: Shape,
}

impl LayerOp for Zero {
    fn kind(&self) -> &'static str {
        "zero"
    }

    fn lowering(&self) -> Lowering {
        Lowering::op(OpKind::Fill)
    }
    fn output_shape(&self, inputs: &[Shape]) -> Result<Shape, ShapeError> {
        super::expect_inputs(inputs, 0)?;
        Ok(self.shape)
    }
}
