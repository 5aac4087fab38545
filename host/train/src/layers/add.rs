//! Element-wise sum of two batches of one shape.

use std::sync::Arc;

use edgenas_model::network::layers::Add;

use super::{Build, BurnLayer, Forward};
use crate::TrainError;
use crate::model::{Batch, GraphModel};

impl BurnLayer for Add {
    fn build(&self, _x: &mut Build<'_>) -> Result<Arc<dyn Forward>, TrainError> {
        Ok(Arc::new(self.clone()))
    }
}

impl Forward for Add {
    fn forward(&self, _model: &GraphModel, inputs: Vec<Batch>, _network_input: &Batch) -> Batch {
        let mut inputs = inputs.into_iter();
        match (inputs.next(), inputs.next()) {
            (Some(Batch::Image(a)), Some(Batch::Image(b))) => Batch::Image(a + b),
            (Some(Batch::Flat(a)), Some(Batch::Flat(b))) => Batch::Flat(a + b),
            _ => unreachable!("the IR checked that added shapes are equal"),
        }
    }
}
