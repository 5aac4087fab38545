//! Max and average pooling: burn's pooling functions; max pooling on the CPU through
//! edgenas's native op (its backward pass is our own, `crate::native`).

use std::sync::Arc;

use burn::prelude::*;
use burn::tensor::module::{avg_pool2d, max_pool2d};
use burn::tensor::ops::{AvgPoolOptions, MaxPoolOptions};
use edgenas_model::network::layers::{Pool, PoolKind};

use super::{Build, BurnLayer, Forward, image, single};
use crate::TrainError;
use crate::model::{Batch, GraphModel};

/// A pooling step.
#[derive(Debug)]
enum PoolStep {
    Max(MaxPoolOptions<2>),
    Avg(AvgPoolOptions<2>),
}

impl BurnLayer for Pool {
    fn build(&self, _x: &mut Build<'_>) -> Result<Arc<dyn Forward>, TrainError> {
        Ok(Arc::new(match self.kind {
            PoolKind::Max => PoolStep::Max(
                MaxPoolOptions::new([self.kernel; 2])
                    .with_stride([self.stride; 2])
                    .with_padding([self.padding; 2]),
            ),
            PoolKind::Avg => {
                let mut o = AvgPoolOptions::new([self.kernel; 2])
                    .with_stride([self.stride; 2])
                    .with_padding([self.padding; 2]);
                o.count_include_pad = self.count_include_pad;
                PoolStep::Avg(o)
            }
        }))
    }
}

impl Forward for PoolStep {
    fn forward(&self, _model: &GraphModel, inputs: Vec<Batch>, _network_input: &Batch) -> Batch {
        let x = image(single(inputs));
        Batch::Image(match self {
            PoolStep::Max(o) if x.device().inner() == Device::flex() => {
                crate::native::max_pool2d(x, o.clone())
            }
            PoolStep::Max(o) => max_pool2d(x, o.clone()),
            PoolStep::Avg(o) => avg_pool2d(x, o.clone()),
        })
    }
}
