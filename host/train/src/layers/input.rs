//! The network input: the batch itself (the model never runs this step).

use std::sync::Arc;

use edgenas_model::network::layers::Input;

use super::{Build, BurnLayer, Forward};
use crate::TrainError;
use crate::model::{Batch, GraphModel};

impl BurnLayer for Input {
    fn build(&self, _x: &mut Build<'_>) -> Result<Arc<dyn Forward>, TrainError> {
        Ok(Arc::new(self.clone()))
    }
}

impl Forward for Input {
    fn forward(&self, _model: &GraphModel, _inputs: Vec<Batch>, network_input: &Batch) -> Batch {
        network_input.clone()
    }
}
