//! 2-D convolution: burn's `Conv2d` module holds the parameters; on the CPU it runs through
//! edgenas's native op (whose backward passes are our own, `crate::native`).

use std::sync::Arc;

use burn::module::Param;
use burn::nn::PaddingConfig2d;
use burn::nn::conv::Conv2dConfig;
use burn::prelude::*;
use burn::tensor::ops::ConvOptions;
use edgenas_model::network::layers::Conv2d;
use edgenas_model::weights::LayerWeights;

use super::{Build, BurnLayer, Forward, image, single, tensor_data, to_array};
use crate::TrainError;
use crate::model::{Batch, GraphModel};

/// Convolution `index` of the model's list, with its options.
#[derive(Debug)]
struct ConvStep {
    index: usize,
    options: ConvOptions<2>,
}

impl BurnLayer for Conv2d {
    fn build(&self, x: &mut Build<'_>) -> Result<Arc<dyn Forward>, TrainError> {
        let Some(LayerWeights::Conv2d { weight, bias }) = x.weights else {
            return Err(x.missing_weights());
        };
        let cin = x.in_shape.map_or(0, |s| s.channels());
        let [ph, pw] = self.padding;
        let mut conv = Conv2dConfig::new([cin, self.out_channels], self.kernel)
            .with_stride(self.stride)
            .with_padding(PaddingConfig2d::Explicit(ph, pw, ph, pw))
            .with_groups(self.groups)
            .with_bias(self.bias)
            .init(x.device);
        conv.weight = Param::from_data(tensor_data(weight), x.device);
        conv.bias = bias
            .as_ref()
            .map(|b| Param::from_data(tensor_data(b), x.device));
        x.model.convs.push(conv);
        Ok(Arc::new(ConvStep {
            index: x.model.convs.len() - 1,
            options: ConvOptions::new(self.stride, self.padding, [1, 1], self.groups),
        }))
    }
}

impl Forward for ConvStep {
    fn forward(&self, model: &GraphModel, inputs: Vec<Batch>, _network_input: &Batch) -> Batch {
        let x = image(single(inputs));
        let conv = &model.convs[self.index];
        if x.device().inner() != Device::flex() {
            return Batch::Image(conv.forward(x));
        }
        let weight = conv.weight.val();
        let bias = match &conv.bias {
            Some(b) => b.val(),
            None => Tensor::zeros([weight.dims()[0]], &x.device()),
        };
        Batch::Image(crate::native::conv2d(x, weight, bias, self.options.clone()))
    }

    fn weights(&self, model: &GraphModel) -> Option<LayerWeights> {
        let c = &model.convs[self.index];
        Some(LayerWeights::Conv2d {
            weight: to_array(c.weight.val()),
            bias: c.bias.as_ref().map(|b| to_array(b.val())),
        })
    }
}
