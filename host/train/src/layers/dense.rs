//! Fully connected layer: burn's `Linear` module (which keeps its weight as `[in, out]`; ours
//! are `[out, in]`).

use std::sync::Arc;

use burn::module::Param;
use burn::nn::LinearConfig;
use burn::prelude::*;
use edgenas_model::network::layers::Dense;
use edgenas_model::weights::LayerWeights;

use super::{Build, BurnLayer, Forward, flat, single, tensor_data, to_array};
use crate::TrainError;
use crate::model::{Batch, GraphModel};

/// Dense layer `0` of the model's list.
#[derive(Debug)]
struct DenseStep(usize);

impl BurnLayer for Dense {
    fn build(&self, x: &mut Build<'_>) -> Result<Arc<dyn Forward>, TrainError> {
        let Some(LayerWeights::Dense { weight, bias }) = x.weights else {
            return Err(x.missing_weights());
        };
        let fan_in = x.in_shape.map_or(0, |s| s.elements());
        let mut linear = LinearConfig::new(fan_in, self.out_features)
            .with_bias(self.bias)
            .init(x.device);
        let w = Tensor::<2>::from_data(tensor_data(weight), x.device).transpose();
        linear.weight = Param::from_data(w.into_data(), x.device);
        linear.bias = bias
            .as_ref()
            .map(|b| Param::from_data(tensor_data(b), x.device));
        x.model.denses.push(linear);
        Ok(Arc::new(DenseStep(x.model.denses.len() - 1)))
    }
}

impl Forward for DenseStep {
    fn forward(&self, model: &GraphModel, inputs: Vec<Batch>, _network_input: &Batch) -> Batch {
        Batch::Flat(model.denses[self.0].forward(flat(single(inputs))))
    }

    fn weights(&self, model: &GraphModel) -> Option<LayerWeights> {
        let d = &model.denses[self.0];
        Some(LayerWeights::Dense {
            weight: to_array(d.weight.val().transpose()),
            bias: d.bias.as_ref().map(|b| to_array(b.val())),
        })
    }
}
