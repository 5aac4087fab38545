//! A tensor of zeros, as many as the batch has samples.

use std::sync::Arc;

use burn::prelude::*;
use edgenas_model::network::Shape;
use edgenas_model::network::layers::Zero;

use super::{Build, BurnLayer, Forward};
use crate::TrainError;
use crate::model::{Batch, GraphModel};

impl BurnLayer for Zero {
    fn build(&self, _x: &mut Build<'_>) -> Result<Arc<dyn Forward>, TrainError> {
        Ok(Arc::new(self.clone()))
    }
}

impl Forward for Zero {
    fn forward(&self, _model: &GraphModel, _inputs: Vec<Batch>, network_input: &Batch) -> Batch {
        let (n, device) = match network_input {
            Batch::Image(t) => (t.dims()[0], t.device()),
            Batch::Flat(t) => (t.dims()[0], t.device()),
        };
        match self.shape {
            Shape::Image { c, h, w } => Batch::Image(Tensor::zeros([n, c, h, w], &device)),
            Shape::Vector(f) => Batch::Flat(Tensor::zeros([n, f], &device)),
        }
    }
}
