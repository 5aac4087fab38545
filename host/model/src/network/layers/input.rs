//! The network input.

use super::{LayerOp, Lowering, Shape, ShapeError};

/// The network input: a source of the given shape.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Input {
    /// The shape of one sample.
    pub shape: Shape,
}

impl LayerOp for Input {
    fn kind(&self) -> &'static str {
        "input"
    }

    fn lowering(&self) -> Lowering {
        Lowering::Input
    }
    fn output_shape(&self, inputs: &[Shape]) -> Result<Shape, ShapeError> {
        super::expect_inputs(inputs, 0)?;
        Ok(self.shape)
    }
}
