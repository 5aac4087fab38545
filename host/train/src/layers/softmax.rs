//! Softmax over vectors. As the network's output it ends the logits: training reads the
//! values before it.

use std::sync::Arc;

use burn::tensor::activation::softmax;
use edgenas_model::network::layers::Softmax;

use super::{Build, BurnLayer, Forward, flat, single};
use crate::TrainError;
use crate::model::{Batch, GraphModel};

impl BurnLayer for Softmax {
    fn build(&self, _x: &mut Build<'_>) -> Result<Arc<dyn Forward>, TrainError> {
        Ok(Arc::new(self.clone()))
    }

    fn ends_logits(&self) -> bool {
        true
    }
}

impl Forward for Softmax {
    fn forward(&self, _model: &GraphModel, inputs: Vec<Batch>, _network_input: &Batch) -> Batch {
        Batch::Flat(softmax(flat(single(inputs)), 1))
    }
}
