//! Fully connected layer.

use edgenas_engine::DType;
use edgenas_engine::blob::OpKind;
use edgenas_engine::format;

use super::{LayerOp, Lowering, Shape, ShapeError};
use crate::weights::{Array, LayerWeights};

/// A fully connected layer `y = W·x + b` over a vector.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Dense {
    /// Output features.
    pub out_features: usize,
    /// Whether the layer adds a bias.
    pub bias: bool,
}

impl LayerOp for Dense {
    fn kind(&self) -> &'static str {
        "dense"
    }

    fn lowering(&self) -> Lowering {
        Lowering::op(OpKind::Dense)
    }

    fn output_shape(&self, inputs: &[Shape]) -> Result<Shape, ShapeError> {
        super::expect_inputs(inputs, 1)?;
        match inputs[0] {
            Shape::Vector(_) => Ok(Shape::Vector(self.out_features)),
            s => Err(ShapeError::NeedsVector(s)),
        }
    }

    fn params(&self, inputs: &[Shape]) -> u64 {
        let bias = if self.bias { self.out_features } else { 0 };
        (inputs[0].elements() * self.out_features + bias) as u64
    }

    fn macs(&self, inputs: &[Shape], _output: &Shape) -> u64 {
        (inputs[0].elements() * self.out_features) as u64
    }

    fn weight_shapes(&self, inputs: &[Shape], _output: &Shape) -> Vec<Vec<usize>> {
        let mut v = vec![vec![self.out_features, inputs[0].elements()]];
        if self.bias {
            v.push(vec![self.out_features]);
        }
        v
    }

    /// He (Kaiming) uniform (gain 6) for a hidden layer; the logits draw from ±1/√fan_in, as
    /// PyTorch's default does, so that training starts near a uniform prediction. The bias
    /// starts at 0.
    fn initial_weights(
        &self,
        inputs: &[Shape],
        _output: &Shape,
        logits: bool,
        draw: &mut dyn FnMut(&[usize], usize, f64) -> Array,
    ) -> Option<LayerWeights> {
        let fan_in = inputs[0].elements();
        let gain = if logits { 1.0 } else { 6.0 };
        Some(LayerWeights::Dense {
            weight: draw(&[self.out_features, fan_in], fan_in, gain),
            bias: self.bias.then(|| Array::full(&[self.out_features], 0.0)),
        })
    }

    fn constant_bytes(&self, dtype: DType, inputs: &[Shape], _output: &Shape) -> usize {
        format::weighted_op_bytes(
            dtype,
            inputs[0].elements() * self.out_features,
            self.out_features,
        )
    }
}
