//! How a candidate is trained: the settings a study records and the training crate follows,
//! with their defaults declared here once.

use serde::{Deserialize, Serialize};

/// The optimiser.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "name", rename_all = "lowercase")]
pub enum Optimizer {
    /// Adam with decoupled weight decay (AdamW).
    Adam,
    /// Stochastic gradient descent with (undampened) momentum and L2 weight decay.
    Sgd {
        /// The momentum, 0.9 typically.
        momentum: f64,
    },
}

/// How to train.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    /// The most epochs to run.
    pub epochs: usize,
    /// Stop after this many seconds of training, if set.
    pub time_budget_seconds: Option<f64>,
    /// Samples per step.
    pub batch_size: usize,
    /// The optimiser.
    pub optimizer: Optimizer,
    /// Peak learning rate; it follows a cosine from there to 0 over the epochs.
    pub learning_rate: f64,
    /// Weight decay.
    pub weight_decay: f64,
    /// Stop when validation accuracy has not improved for this many epochs, if set.
    pub patience: Option<usize>,
    /// Seeds the order of the samples (the initial weights have their own seed).
    pub seed: u64,
}

impl Default for TrainConfig {
    fn default() -> TrainConfig {
        TrainConfig {
            epochs: 30,
            time_budget_seconds: None,
            batch_size: 32,
            optimizer: Optimizer::Adam,
            learning_rate: Optimizer::Adam.default_learning_rate(),
            weight_decay: Optimizer::Adam.default_weight_decay(),
            patience: Some(8),
            seed: 0,
        }
    }
}

impl Optimizer {
    /// The peak learning rate used when the user gives none.
    pub fn default_learning_rate(&self) -> f64 {
        match self {
            Optimizer::Adam => 3e-3,
            Optimizer::Sgd { .. } => 0.05,
        }
    }

    /// The weight decay used when the user gives none.
    pub fn default_weight_decay(&self) -> f64 {
        match self {
            Optimizer::Adam => 0.01,
            Optimizer::Sgd { .. } => 5e-4,
        }
    }
}
