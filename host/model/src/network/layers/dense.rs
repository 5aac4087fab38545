//! Fully connected layer.

use edgenas_engine::blob::OpKind;

use super::{LayerOp, Lowering, Shape};

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

    fn output_shape(&self, inputs: &[Shape]) -> Result<Shape, String> {
        super::expect_inputs(inputs, 1)?;
        match inputs[0] {
            Shape::Vector(_) => Ok(Shape::Vector(self.out_features)),
            s => Err(format!(
                "needs a vector, got a feature map {s} (flatten it first)"
            )),
        }
    }

    fn params(&self, inputs: &[Shape]) -> u64 {
        let bias = if self.bias { self.out_features } else { 0 };
        (inputs[0].elements() * self.out_features + bias) as u64
    }

    fn macs(&self, inputs: &[Shape], _output: &Shape) -> u64 {
        (inputs[0].elements() * self.out_features) as u64
    }
}
