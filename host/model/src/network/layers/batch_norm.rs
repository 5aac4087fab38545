//! Batch normalisation.

use edgenas_engine::DType;
use edgenas_engine::blob::OpKind;
use edgenas_engine::format;

use super::{Fold, LayerOp, Lowering, Shape, ShapeError};
use crate::weights::{Array, LayerWeights};

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

    fn output_shape(&self, inputs: &[Shape]) -> Result<Shape, ShapeError> {
        super::expect_inputs(inputs, 1)?;
        Ok(inputs[0])
    }

    /// Scale and shift per channel (the running mean and variance are statistics, not
    /// parameters).
    fn params(&self, inputs: &[Shape]) -> u64 {
        2 * inputs[0].channels() as u64
    }

    /// γ, β, the running mean and the running variance.
    fn weight_shapes(&self, _inputs: &[Shape], output: &Shape) -> Vec<Vec<usize>> {
        vec![vec![output.channels()]; 4]
    }

    /// γ = 1, β = 0, mean 0, variance 1.
    fn initial_weights(
        &self,
        _inputs: &[Shape],
        output: &Shape,
        _logits: bool,
        _draw: &mut dyn FnMut(&[usize], usize, f64) -> Array,
    ) -> Option<LayerWeights> {
        let c = output.channels();
        Some(LayerWeights::BatchNorm {
            gamma: Array::full(&[c], 1.0),
            beta: Array::full(&[c], 0.0),
            running_mean: Array::full(&[c], 0.0),
            running_var: Array::full(&[c], 1.0),
            epsilon: self.epsilon,
        })
    }

    /// Folded into a convolution or dense layer it has no constants of its own; as an op of
    /// its own, a channel affine.
    fn constant_bytes(&self, dtype: DType, _inputs: &[Shape], output: &Shape) -> usize {
        format::channel_affine_bytes(dtype, output.channels())
    }

    fn fold(&self) -> Option<Fold> {
        Some(Fold::Weights)
    }
}
