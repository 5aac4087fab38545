//! Batch normalisation: burn's `BatchNorm` module holds the parameters and running
//! statistics; in training on the CPU it runs through edgenas's native op.

use std::sync::Arc;

use burn::module::{Param, RunningState};
use burn::nn::{BatchNorm as BurnBatchNorm, BatchNormConfig};
use burn::prelude::*;
use edgenas_model::network::layers::BatchNorm;
use edgenas_model::weights::LayerWeights;

use super::{Build, BurnLayer, Forward, single, tensor_data, to_array};
use crate::TrainError;
use crate::model::{Batch, GraphModel};

/// Batch norm `index` of the model's list, with the epsilon it reports back.
#[derive(Debug)]
struct NormStep {
    index: usize,
    epsilon: f64,
}

impl BurnLayer for BatchNorm {
    fn build(&self, x: &mut Build<'_>) -> Result<Arc<dyn Forward>, TrainError> {
        let Some(LayerWeights::BatchNorm {
            gamma,
            beta,
            running_mean,
            running_var,
            epsilon,
        }) = x.weights
        else {
            return Err(x.missing_weights());
        };
        let device = x.device;
        let mut bn = BatchNormConfig::new(x.node.shape.channels())
            .with_epsilon(*epsilon)
            .init(device);
        bn.gamma = Param::from_data(tensor_data(gamma), device);
        bn.beta = Param::from_data(tensor_data(beta), device);
        bn.running_mean = RunningState::new(Tensor::from_data(tensor_data(running_mean), device));
        bn.running_var = RunningState::new(Tensor::from_data(tensor_data(running_var), device));
        x.model.norms.push(bn);
        Ok(Arc::new(NormStep {
            index: x.model.norms.len() - 1,
            epsilon: self.epsilon,
        }))
    }
}

impl Forward for NormStep {
    fn forward(&self, model: &GraphModel, inputs: Vec<Batch>, _network_input: &Batch) -> Batch {
        let bn = &model.norms[self.index];
        match single(inputs) {
            Batch::Image(t) => Batch::Image(norm(bn, t)),
            Batch::Flat(t) => Batch::Flat(norm(bn, t)),
        }
    }

    fn weights(&self, model: &GraphModel) -> Option<LayerWeights> {
        let n = &model.norms[self.index];
        Some(LayerWeights::BatchNorm {
            gamma: to_array(n.gamma.val()),
            beta: to_array(n.beta.val()),
            running_mean: to_array(n.running_mean.value()),
            running_var: to_array(n.running_var.value()),
            epsilon: self.epsilon,
        })
    }
}

/// Batch norm `bn` of `x`: in training on the CPU through edgenas's native op (its forward and
/// backward passes are our own, `crate::native`), with the running statistics updated as
/// burn's module updates them; otherwise through burn's module.
fn norm<const D: usize>(bn: &BurnBatchNorm, x: Tensor<D>) -> Tensor<D> {
    let device = x.device();
    let training = device.is_autodiff() && bn.training.is_enabled();
    if !training || device.clone().inner() != Device::flex() {
        return bn.forward(x);
    }
    let (y, mean, variance) =
        crate::native::batch_norm_train(x, bn.gamma.val(), bn.beta.val(), bn.epsilon);
    let m = bn.momentum;
    let blend = |running: Tensor<1>, batch: Tensor<1>| {
        running
            .to_device(&device)
            .mul_scalar(1.0 - m)
            .add(batch.mul_scalar(m))
            .detach()
    };
    bn.running_mean
        .update(blend(bn.running_mean.value_sync(), mean));
    bn.running_var
        .update(blend(bn.running_var.value_sync(), variance));
    y
}
