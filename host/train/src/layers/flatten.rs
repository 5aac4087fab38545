//! Feature maps to vectors.

use std::sync::Arc;

use edgenas_model::network::layers::Flatten;

use super::{Build, BurnLayer, Forward, flat, single};
use crate::TrainError;
use crate::model::{Batch, GraphModel};

impl BurnLayer for Flatten {
    fn build(&self, _x: &mut Build<'_>) -> Result<Arc<dyn Forward>, TrainError> {
        Ok(Arc::new(self.clone()))
    }
}

impl Forward for Flatten {
    fn forward(&self, _model: &GraphModel, inputs: Vec<Batch>, _network_input: &Batch) -> Batch {
        Batch::Flat(flat(single(inputs)))
    }
}
