//! Zero-cost scores that need gradients: computed with burn's autodiff on a network at its
//! initial weights, without training it. The search ranks candidates by them
//! (`--prescreen`); `edgenas bench proxies` measures how well they rank.

use burn::nn::loss::CrossEntropyLossConfig;

use super::device::TrainDevice;
use super::model::GraphModel;
use super::trainer::{TrainError, make_batch, spread};
use edgenas_data::Split;
use edgenas_model::network::Network;
use edgenas_model::weights::{ArrayRole, Weights};

/// Synflow (Tanaka et al., NeurIPS 2020; as a NAS proxy, Abdelfattah et al., ICLR 2021):
/// with every parameter replaced by its absolute value and batch norms using their running
/// statistics, R is the sum of the logits for an input of ones; the score is
/// Σ θ·∂R/∂θ over the convolution and dense weights. It needs no data: it measures how much
/// signal the untrained architecture lets through, layer collapse scoring low.
pub fn synflow(net: &Network, weights: &Weights, device: &TrainDevice) -> Result<f64, TrainError> {
    let ad = device.burn().clone().autodiff();
    let model = GraphModel::new(net, &absolute(weights), &ad)?.with_frozen_norms();
    let shape = net.input_shape();
    let ones = Split {
        x: vec![1.0; shape.elements()],
        labels: vec![0],
    };
    let (x, _) = make_batch(&ones, &[0], shape, &ad);
    let grads = model.logits(x).sum().backward();
    let score = model
        .weight_gradients(&grads)
        .iter()
        .map(|(w, g)| dot(w, g))
        .sum::<f64>();
    finite("synflow", score)
}

/// Grad-norm (Abdelfattah et al., ICLR 2021): the cross-entropy loss of one mini-batch of up
/// to `max_samples` samples spread over `split`, at the given weights (batch norms in
/// training mode); the score is the sum over convolution and dense weights of the Euclidean
/// norm of the loss's gradient.
pub fn grad_norm(
    net: &Network,
    weights: &Weights,
    split: &Split,
    max_samples: usize,
    device: &TrainDevice,
) -> Result<f64, TrainError> {
    let shape = net.input_shape();
    if split.is_empty() || split.x.len() != split.len() * shape.elements() {
        return Err(TrainError::Mismatch(format!(
            "grad-norm needs samples of {shape} ({} values each); the split has {} values for {} samples",
            shape.elements(),
            split.x.len(),
            split.len()
        )));
    }
    let ad = device.burn().clone().autodiff();
    let model = GraphModel::new(net, weights, &ad)?;
    let (x, y) = make_batch(split, &spread(split, max_samples), shape, &ad);
    let loss = CrossEntropyLossConfig::new()
        .init(&ad)
        .forward(model.logits(x), y);
    let grads = loss.backward();
    let score = model
        .weight_gradients(&grads)
        .iter()
        .map(|(_, g)| dot(g, g).sqrt())
        .sum::<f64>();
    finite("grad-norm", score)
}

/// Σ aᵢ·bᵢ in f64.
fn dot(a: &[f32], b: &[f32]) -> f64 {
    a.iter().zip(b).map(|(&x, &y)| x as f64 * y as f64).sum()
}

/// `score`, or an error naming the proxy when it overflowed.
fn finite(proxy: &'static str, value: f64) -> Result<f64, TrainError> {
    match value.is_finite() {
        true => Ok(value),
        false => Err(TrainError::NonFiniteScore { proxy, value }),
    }
}

/// `weights` with every value replaced by its absolute value (synflow's linearisation); the
/// running variances are positive already.
fn absolute(weights: &Weights) -> Weights {
    weights.map(|role, a| match role {
        ArrayRole::RunningVar => a.clone(),
        _ => a.map(f32::abs),
    })
}
