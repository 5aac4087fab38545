//! The training loop.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::decay::WeightDecayConfig;
use burn::optim::momentum::MomentumConfig;
use burn::optim::{AdamWConfig, GradientsParams, SgdConfig};
use burn::prelude::*;
use serde::Serialize;

use super::device::TrainDevice;
use super::model::{Batch, GraphModel};
use edgenas_data::{Dataset, Split};
use edgenas_model::network::{Network, Shape};
use edgenas_model::rng::Rng;
use edgenas_model::training::{Optimizer, TrainConfig};
use edgenas_model::weights::{Weights, WeightsMismatch};

/// Where training stands, for progress displays.
#[derive(Clone, Debug)]
pub struct Progress {
    /// The current epoch, from 1.
    pub epoch: usize,
    /// The most epochs.
    pub epochs: usize,
    /// Steps done in this epoch.
    pub step: usize,
    /// Steps in one epoch.
    pub steps_per_epoch: usize,
    /// The last step's loss.
    pub loss: f64,
    /// Validation accuracy of the last finished epoch.
    pub valid_accuracy: Option<f64>,
    /// Seconds since training began.
    pub elapsed_seconds: f64,
    /// Whether this report ends an epoch: `valid_accuracy` is then that epoch's, just
    /// measured (one such report per epoch, after its last step's).
    pub epoch_done: bool,
}

/// Why training stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StopReason {
    /// All epochs ran.
    Epochs,
    /// The time budget ran out.
    TimeBudget,
    /// Validation accuracy stopped improving.
    EarlyStopping,
}

/// What a training run measured.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TrainReport {
    /// Epochs that ran (the last one may be partial when the time budget ran out).
    pub epochs_run: usize,
    /// Why training stopped.
    pub stopped_by: StopReason,
    /// Mean training loss of each epoch.
    pub loss_curve: Vec<f64>,
    /// Validation accuracy after each epoch.
    pub valid_curve: Vec<f64>,
    /// The epoch (from 1) whose weights are kept.
    pub best_epoch: usize,
    /// Validation accuracy of the kept weights.
    pub valid_accuracy: f64,
    /// Seconds spent training, validation excluded.
    pub train_seconds: f64,
    /// Training samples per second (forward, backward and optimiser step).
    pub samples_per_second: f64,
}

/// A finished training run: the best weights and the report.
#[derive(Clone, Debug)]
pub struct Trained {
    /// The weights of the best epoch by validation accuracy.
    pub weights: Weights,
    /// The measurements.
    pub report: TrainReport,
}

/// Why training failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TrainError {
    /// The loss became NaN or infinite.
    #[error("the loss became {value} at epoch {epoch}, step {step}: lower the learning rate")]
    NonFiniteLoss {
        /// The epoch, from 1.
        epoch: usize,
        /// The step within the epoch, from 1.
        step: usize,
        /// The value.
        value: f64,
    },
    /// The data set does not fit the network.
    #[error("the data set does not fit the network: {0}")]
    Mismatch(String),
    /// The weights do not fit the network.
    #[error("the weights do not fit the network: {0}")]
    Weights(#[from] WeightsMismatch),
    /// A zero-cost score ([`crate::synflow`], [`crate::grad_norm`]) overflowed `f32`.
    #[error("{proxy} is not finite ({value}): the network's signal overflowed f32")]
    NonFiniteScore {
        /// The score's name.
        proxy: &'static str,
        /// What it came to.
        value: f64,
    },
    /// The caller asked training to stop (Ctrl-C during a search).
    #[error("interrupted")]
    Interrupted,
}

/// Trains `net` from `initial` weights on `data` and returns the weights of the epoch with the
/// best validation accuracy.
pub fn train(
    net: &Network,
    initial: &Weights,
    data: &Dataset,
    config: &TrainConfig,
    device: &TrainDevice,
    progress: &mut dyn FnMut(&Progress),
) -> Result<Trained, TrainError> {
    train_until(
        net,
        initial,
        data,
        config,
        device,
        progress,
        &AtomicBool::new(false),
    )
}

/// [`train`], stopping with [`TrainError::Interrupted`] at the first step after `stop` is set.
///
/// Training runs on a thread of rayon's pool while this thread passes the reports to
/// `progress`: the end of every epoch (training waits until `progress` has returned from it),
/// and a step at most every [`STEP_REPORTS_EVERY`].
pub fn train_until(
    net: &Network,
    initial: &Weights,
    data: &Dataset,
    config: &TrainConfig,
    device: &TrainDevice,
    progress: &mut dyn FnMut(&Progress),
    stop: &AtomicBool,
) -> Result<Trained, TrainError> {
    if rayon::current_thread_index().is_some() {
        return train_here(net, initial, data, config, device, progress, stop);
    }
    // On a thread of rayon's pool, an op's parallel pieces are handed to the other threads
    // directly; from outside it, each op would wake a thread and sleep until the op is done (a
    // quarter of a small network's training went to those system calls). The reports come
    // back here, so `progress` need not be `Send`; `stop` still stops it at the next step.
    // Waking this thread for every step cost a fast network a tenth of its time, so a step
    // is reported only when the last report is [`STEP_REPORTS_EVERY`] old. Every epoch's end
    // is, and training waits until `progress` has seen it: what the caller decides then (a
    // search pruning the trial at a rung) takes effect before the next epoch begins.
    let mut trained = None;
    rayon::in_place_scope(|scope| {
        // Made here, so that a `progress` that panics drops them and training waits for no one.
        let (report, reports) = std::sync::mpsc::channel();
        let (seen, wait_seen) = std::sync::mpsc::channel();
        let slot = &mut trained;
        scope.spawn(move |_| {
            let mut last: Option<Instant> = None;
            let mut send = |p: &Progress| {
                if p.epoch_done || last.is_none_or(|t| t.elapsed() >= STEP_REPORTS_EVERY) {
                    last = Some(Instant::now());
                    // A caller gone (its `progress` panicked) waits for nothing.
                    if report.send(p.clone()).is_ok() && p.epoch_done {
                        wait_seen.recv().unwrap_or(());
                    }
                }
            };
            *slot = Some(train_here(
                net, initial, data, config, device, &mut send, stop,
            ));
        });
        for p in reports {
            progress(&p);
            if p.epoch_done {
                seen.send(()).unwrap_or(());
            }
        }
    });
    trained.expect("the training task ran to its end")
}

/// How often [`train_until`] passes on a report of a step that does not end an epoch.
const STEP_REPORTS_EVERY: Duration = Duration::from_millis(100);

/// [`train_until`] on this thread.
fn train_here(
    net: &Network,
    initial: &Weights,
    data: &Dataset,
    config: &TrainConfig,
    device: &TrainDevice,
    progress: &mut dyn FnMut(&Progress),
    stop: &AtomicBool,
) -> Result<Trained, TrainError> {
    let device = device.burn();
    if data.shape != net.input_shape() || data.classes() != net.classes {
        return Err(TrainError::Mismatch(format!(
            "samples are {} with {} classes, the network takes {} with {} classes",
            data.shape,
            data.classes(),
            net.input_shape(),
            net.classes
        )));
    }
    if data.train.is_empty() || data.valid.is_empty() {
        return Err(TrainError::Mismatch(
            "the training or validation split is empty".into(),
        ));
    }
    let ad = device.clone().autodiff();
    let mut model = GraphModel::new(net, initial, &ad)?;
    let mut optim = match config.optimizer {
        Optimizer::Adam => AdamWConfig::new()
            .with_weight_decay(config.weight_decay as f32)
            .init(),
        Optimizer::Sgd { momentum } => SgdConfig::new()
            .with_momentum(Some(
                MomentumConfig::new()
                    .with_momentum(momentum)
                    .with_dampening(0.0),
            ))
            .with_weight_decay(Some(WeightDecayConfig::new(config.weight_decay as f32)))
            .init(),
    };
    let loss_fn = CrossEntropyLossConfig::new().init(&ad);
    let batch = config.batch_size.max(1);
    let n = data.train.len();
    let steps_per_epoch = n.div_ceil(batch);
    let total_steps = (steps_per_epoch * config.epochs.max(1)) as f64;
    let mut rng = Rng::new(config.seed);
    let mut order: Vec<usize> = (0..n).collect();
    let started = Instant::now();
    let mut train_seconds = 0.0;
    let mut samples = 0usize;
    let mut report = TrainReport {
        epochs_run: 0,
        stopped_by: StopReason::Epochs,
        loss_curve: Vec::new(),
        valid_curve: Vec::new(),
        best_epoch: 0,
        valid_accuracy: f64::NEG_INFINITY,
        train_seconds: 0.0,
        samples_per_second: 0.0,
    };
    let mut best = initial.clone();
    let mut since_best = 0;
    let mut global_step = 0usize;
    'epochs: for epoch in 1..=config.epochs {
        for i in (1..n).rev() {
            order.swap(i, rng.below(i + 1));
        }
        let epoch_start = Instant::now();
        let mut loss_sum = 0.0;
        let mut steps = 0;
        let mut out_of_time = false;
        for (k, chunk) in order.chunks(batch).enumerate() {
            if stop.load(Ordering::Relaxed) {
                return Err(TrainError::Interrupted);
            }
            let lr = config.learning_rate
                * 0.5
                * (1.0 + (std::f64::consts::PI * global_step as f64 / total_steps).cos());
            let (x, y) = make_batch(&data.train, chunk, data.shape, &ad);
            let loss = loss_fn.forward(model.logits(x), y);
            let value = loss.clone().into_scalar::<f32>() as f64;
            if !value.is_finite() {
                return Err(TrainError::NonFiniteLoss {
                    epoch,
                    step: k + 1,
                    value,
                });
            }
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = optim.step(lr, model, grads);
            loss_sum += value;
            steps += 1;
            global_step += 1;
            samples += chunk.len();
            let elapsed = started.elapsed().as_secs_f64();
            progress(&Progress {
                epoch,
                epochs: config.epochs,
                step: k + 1,
                steps_per_epoch,
                loss: value,
                valid_accuracy: report.valid_curve.last().copied(),
                elapsed_seconds: elapsed,
                epoch_done: false,
            });
            if config.time_budget_seconds.is_some_and(|b| elapsed >= b) {
                out_of_time = true;
                break;
            }
        }
        train_seconds += epoch_start.elapsed().as_secs_f64();
        let valid_model = model.valid();
        let accuracy = accuracy_of(&valid_model, &data.valid, data.shape, device);
        report.epochs_run = epoch;
        report.loss_curve.push(loss_sum / steps.max(1) as f64);
        report.valid_curve.push(accuracy);
        progress(&Progress {
            epoch,
            epochs: config.epochs,
            step: steps,
            steps_per_epoch,
            loss: report.loss_curve.last().copied().unwrap_or(0.0),
            valid_accuracy: Some(accuracy),
            elapsed_seconds: started.elapsed().as_secs_f64(),
            epoch_done: true,
        });
        if accuracy > report.valid_accuracy {
            report.valid_accuracy = accuracy;
            report.best_epoch = epoch;
            best = valid_model.weights(net);
            since_best = 0;
        } else {
            since_best += 1;
        }
        if out_of_time {
            report.stopped_by = StopReason::TimeBudget;
            break 'epochs;
        }
        if config.patience.is_some_and(|p| since_best >= p) {
            report.stopped_by = StopReason::EarlyStopping;
            break 'epochs;
        }
    }
    report.train_seconds = train_seconds;
    report.samples_per_second = samples as f64 / train_seconds.max(1e-9);
    Ok(Trained {
        weights: best,
        report,
    })
}

/// Accuracy of `weights` on `split`, in [0, 1].
pub fn evaluate(
    net: &Network,
    weights: &Weights,
    split: &Split,
    device: &TrainDevice,
) -> Result<f64, TrainError> {
    let device = device.burn();
    let model = GraphModel::new(net, weights, device)?;
    Ok(accuracy_of(&model, split, net.input_shape(), device))
}

/// The output values of every node of `net` on up to `max_samples` samples of `split` spread
/// over it, per node (for calibration). Runs in inference mode.
pub fn activations(
    net: &Network,
    weights: &Weights,
    split: &Split,
    max_samples: usize,
    device: &TrainDevice,
) -> Result<Vec<Vec<f32>>, TrainError> {
    let device = device.burn();
    let model = GraphModel::new(net, weights, device)?;
    let picked = spread(split, max_samples);
    let mut all = vec![Vec::new(); net.nodes.len()];
    for chunk in picked.chunks(64) {
        let (x, _) = make_batch(split, chunk, net.input_shape(), device);
        for (acc, values) in all.iter_mut().zip(model.node_values(x)) {
            acc.extend(values);
        }
    }
    Ok(all)
}

/// The network's outputs for single samples (batches of one), as the exported models see them.
pub fn outputs(
    net: &Network,
    weights: &Weights,
    samples: &[&[f32]],
    device: &TrainDevice,
) -> Result<Vec<Vec<f32>>, TrainError> {
    let device = device.burn();
    let model = GraphModel::new(net, weights, device)?;
    let split = Split {
        x: samples.concat(),
        labels: vec![0; samples.len()],
    };
    (0..samples.len())
        .map(|i| {
            let (x, _) = make_batch(&split, &[i], net.input_shape(), device);
            Ok(model.output(x).values())
        })
        .collect()
}

fn accuracy_of(model: &GraphModel, split: &Split, shape: Shape, device: &Device) -> f64 {
    let idx: Vec<usize> = (0..split.len()).collect();
    let mut correct = 0usize;
    for chunk in idx.chunks(256) {
        let (x, y) = make_batch(split, chunk, shape, device);
        let predicted = model.logits(x).argmax(1).flatten::<1>(0, 1);
        let hits = predicted.equal(y).int().sum().into_scalar::<i64>();
        correct += hits as usize;
    }
    correct as f64 / split.len().max(1) as f64
}

/// Up to `max_samples` sample indices spread evenly over `split`.
pub(crate) fn spread(split: &Split, max_samples: usize) -> Vec<usize> {
    let n = split.len().min(max_samples);
    (0..n).map(|i| i * split.len() / n).collect()
}

/// The samples `chunk` of `split` as one batch and its labels.
pub(crate) fn make_batch(
    split: &Split,
    chunk: &[usize],
    shape: Shape,
    device: &Device,
) -> (Batch, Tensor<1, Int>) {
    let size = shape.elements();
    let mut x = Vec::with_capacity(chunk.len() * size);
    for &i in chunk {
        x.extend_from_slice(&split.x[i * size..(i + 1) * size]);
    }
    let labels: Vec<i64> = chunk.iter().map(|&i| split.labels[i] as i64).collect();
    let n = chunk.len();
    let batch = match shape {
        Shape::Image { c, h, w } => {
            Batch::Image(Tensor::from_data(TensorData::new(x, [n, c, h, w]), device))
        }
        Shape::Vector(f) => Batch::Flat(Tensor::from_data(TensorData::new(x, [n, f]), device)),
    };
    (
        batch,
        Tensor::from_data(TensorData::new(labels, [n]), device),
    )
}
