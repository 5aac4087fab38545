//! ReLU, ReLU6 and hard-swish: burn's functions; ReLU6 of feature maps on the CPU through
//! edgenas's native clamp (burn's clamp backward, a masked select, took a fifth of a
//! MobileNetV2's training time; burn's ReLU, and ReLU6 after a dense layer, are as fast as
//! ours).

use std::sync::Arc;

use burn::prelude::*;
use burn::tensor::activation::{hard_swish, relu};
use edgenas_model::network::layers::{Activation, ActivationKind};

use super::{Build, BurnLayer, Forward, map, single};
use crate::TrainError;
use crate::model::{Batch, GraphModel};

impl BurnLayer for Activation {
    fn build(&self, _x: &mut Build<'_>) -> Result<Arc<dyn Forward>, TrainError> {
        Ok(Arc::new(self.clone()))
    }
}

impl Forward for Activation {
    fn forward(&self, _model: &GraphModel, inputs: Vec<Batch>, _network_input: &Batch) -> Batch {
        let x = single(inputs);
        match self.kind {
            ActivationKind::Relu => map(x, relu, relu),
            ActivationKind::Relu6 => map(x, relu6, |t| t.clamp(0.0, 6.0)),
            ActivationKind::HardSwish => map(x, hard_swish, hard_swish),
        }
    }
}

/// ReLU6 of the feature maps `x`: on the CPU through edgenas's native clamp, elsewhere
/// through burn's.
fn relu6(x: Tensor<4>) -> Tensor<4> {
    if x.device().inner() == Device::flex() {
        crate::native::clamp(x, 0.0, 6.0)
    } else {
        x.clamp(0.0, 6.0)
    }
}
