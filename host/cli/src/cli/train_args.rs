//! The training arguments that `train` and `search` share.

use anyhow::Result;
use clap::ValueEnum;
use edgenas::train::{self, DeviceChoice, Optimizer, TrainConfig};

/// How candidates are trained (epochs and time budget are each command's own).
#[derive(Debug, clap::Args)]
pub struct TrainingArgs {
    /// Samples per step.
    #[arg(long, default_value_t = TrainConfig::default().batch_size, value_parser = super::numbers::count)]
    batch_size: usize,
    /// The optimiser.
    #[arg(long, value_enum, default_value_t = OptimizerArg::Adam)]
    optimizer: OptimizerArg,
    /// Peak learning rate (cosine schedule to 0). Default: 3e-3 for Adam, 0.05 for SGD.
    #[arg(long, value_parser = super::numbers::positive)]
    lr: Option<f64>,
    /// Momentum of SGD.
    #[arg(long, default_value_t = 0.9, value_parser = super::numbers::non_negative)]
    momentum: f64,
    /// Weight decay. Default: 0.01 for Adam (decoupled, as AdamW), 5e-4 for SGD.
    #[arg(long, value_parser = super::numbers::non_negative)]
    weight_decay: Option<f64>,
    /// Stop when validation accuracy has not improved for this many epochs (0: never).
    #[arg(long, default_value_t = TrainConfig::default().patience.unwrap_or(0), value_parser = super::numbers::whole)]
    patience: usize,
    /// Where to train.
    #[arg(long, value_enum, default_value_t = DeviceArg::Cpu)]
    device: DeviceArg,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum OptimizerArg {
    /// Adam with decoupled weight decay.
    Adam,
    /// SGD with momentum.
    Sgd,
}

/// Where training runs.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum DeviceArg {
    /// burn's flex backend on the CPU.
    Cpu,
    /// burn's wgpu backend (build with `--features gpu`).
    Gpu,
}

impl TrainingArgs {
    /// The training configuration for `epochs`, an optional time budget and `seed`.
    pub fn config(
        &self,
        epochs: usize,
        time_budget_seconds: Option<f64>,
        seed: u64,
    ) -> TrainConfig {
        let optimizer = match self.optimizer {
            OptimizerArg::Adam => Optimizer::Adam,
            OptimizerArg::Sgd => Optimizer::Sgd {
                momentum: self.momentum,
            },
        };
        let lr = self.lr.unwrap_or(optimizer.default_learning_rate());
        let weight_decay = self
            .weight_decay
            .unwrap_or(optimizer.default_weight_decay());
        TrainConfig {
            epochs,
            time_budget_seconds,
            batch_size: self.batch_size,
            optimizer,
            learning_rate: lr,
            weight_decay,
            patience: (self.patience > 0).then_some(self.patience),
            seed,
        }
    }

    /// The training device.
    pub fn device(&self) -> Result<train::TrainDevice> {
        Ok(train::device(self.device.into())?)
    }
}

impl From<DeviceArg> for DeviceChoice {
    fn from(d: DeviceArg) -> DeviceChoice {
        match d {
            DeviceArg::Cpu => DeviceChoice::Cpu,
            DeviceArg::Gpu => DeviceChoice::Gpu,
        }
    }
}
