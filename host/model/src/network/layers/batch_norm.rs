//! Batch normalisation.

use edgenas_engine::blob::OpKind;

use super::{LayerOp, Lowering, Shape};

/// Batch normalisation over channels; at inference a per-channel scale and shift, folded into
/// the preceding convolution on export.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct BatchNorm {
    /// Added to the variance before the square root.
    pub epsilon: f64,
}

impl LayerOp for BatchNorm {
    fn kind(&self) -> &'static str {
        "batch_norm"
    }

    fn lowering(&self) -> Lowering {
        Lowering::op(OpKind::Affine)
    }

    fn output_shape(&self, inputs: &[Shape]) -> Result<Shape, String> {
        super::expect_inputs(inputs, 1)?;
        Ok(inputs[0])
    }

    /// Scale and shift per channel (the running mean and variance are statistics, not
    /// parameters).
    fn params(&self, inputs: &[Shape]) -> u64 {
        2 * inputs[0].channels() as u64
    }
}
