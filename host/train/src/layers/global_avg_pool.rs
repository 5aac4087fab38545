//! Global average pooling: burn's adaptive average pooling to 1 × 1.

use std::sync::Arc;

use burn::tensor::module::adaptive_avg_pool2d;
use edgenas_model::network::layers::GlobalAvgPool;

use super::{Build, BurnLayer, Forward, image, single};
use crate::TrainError;
use crate::model::{Batch, GraphModel};

impl BurnLayer for GlobalAvgPool {
    fn build(&self, _x: &mut Build<'_>) -> Result<Arc<dyn Forward>, TrainError> {
        Ok(Arc::new(self.clone()))
    }
}

impl Forward for GlobalAvgPool {
    fn forward(&self, _model: &GraphModel, inputs: Vec<Batch>, _network_input: &Batch) -> Batch {
        Batch::Image(adaptive_avg_pool2d(image(single(inputs)), [1, 1]))
    }
}
