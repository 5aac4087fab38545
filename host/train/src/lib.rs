//! Training with burn: a module built from any IR network, and the loop that trains it.
//!
//! [`train`] takes a network, its initial [`Weights`], a [`Dataset`] and a [`TrainConfig`], and
//! returns the best weights (by validation accuracy) with a [`TrainReport`]. Nothing outside
//! this module sees a burn type: weights go in and out as our own structure.

mod device;
mod layers;
mod model;
mod native;
mod scores;
mod trainer;

pub use device::{DeviceChoice, NoGpu, TrainDevice, device};
pub use edgenas_model::training::{Optimizer, TrainConfig};
pub use model::{Batch, GraphModel};
pub use scores::{grad_norm, synflow};
pub use trainer::{
    Progress, StopReason, TrainError, TrainReport, Trained, activations, evaluate, outputs, train,
    train_until,
};
