//! Feature maps to vectors.

use std::sync::Arc;

use edgenas_model::network::layers::Flatten;

use super::{Build, BurnLayer, Forward, flat, single};
use crate::TrainError;
use crate::model::{Batch, GraphModel};

/// The flatten step.
#[derive(Debug)]
struct FlattenStep;

impl BurnLayer for Flatten {
    fn build(&self, _x: &mut Build<'_>) -> Result<Arc<dyn Forward>, TrainError> {
        Ok(Arc::new(FlattenStep))
    }
}

impl Forward for FlattenStep {
    fn forward(&self, _model: &GraphModel, inputs: Vec<Batch>, _network_input: &Batch) -> Batch {
        Batch::Flat(flat(single(inputs)))
    }
}
