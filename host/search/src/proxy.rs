//! Zero-cost proxies: a score of an untrained network from one mini-batch, which may rank
//! candidates as training would (`edgenas bench proxies` measures how well each does).
//! Synflow and grad-norm need gradients and live with the rest of burn in the train crate
//! ([`edgenas_train::synflow`], [`edgenas_train::grad_norm`]); NASWOT reads activations
//! and is computed here.
//!
//! NASWOT (Mellor et al., ICML 2021, "Neural Architecture Search without Training"): each
//! sample's binary code is which rectified units it switches on; networks whose codes keep
//! the samples apart tend to train better. The score is the log-determinant of the kernel
//! `K[i][j]` = the number of units on which samples `i` and `j` agree.

use edgenas_data::Split;
use edgenas_model::network::layers::ActivationKind;
use edgenas_model::network::{Layer, Network};
use edgenas_model::weights::Weights;
use edgenas_study::ProxyName;
use edgenas_train::{TrainDevice, TrainError};

use crate::strategy::gp::cholesky;

/// Why a proxy could not score a network.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ProxyError {
    /// The forward or backward pass failed, or the score overflowed.
    #[error(transparent)]
    Train(#[from] TrainError),
    /// NASWOT reads rectified units, and the network has none.
    #[error("the network has no ReLU or ReLU6 unit: NASWOT has nothing to read")]
    NoRectifiedUnits,
}

/// Samples in the mini-batch a proxy scores on.
pub const BATCH: usize = 32;

/// `proxy`'s score of `net` at `weights` (its initial ones), the mini-batch drawn from
/// `split`: higher is meant to train better. An error when the proxy cannot read the network
/// (NASWOT without rectified units) or its value overflowed.
pub fn score(
    proxy: ProxyName,
    net: &Network,
    weights: &Weights,
    split: &Split,
    device: &TrainDevice,
) -> Result<f64, ProxyError> {
    Ok(match proxy {
        ProxyName::Naswot => naswot(net, weights, split, device)?,
        ProxyName::Synflow => edgenas_train::synflow(net, weights, device)?,
        ProxyName::GradNorm => edgenas_train::grad_norm(net, weights, split, BATCH, device)?,
    })
}

/// The NASWOT score of `net` with `weights` (its initial ones) on [`BATCH`] samples spread
/// over `split`: ln det of the agreement kernel of the rectified units' on/off codes.
/// `f64::NEG_INFINITY` when two samples share a code (the kernel is singular: the network
/// cannot tell them apart); an error when it has no ReLU or ReLU6 unit to read.
fn naswot(
    net: &Network,
    weights: &Weights,
    split: &Split,
    device: &TrainDevice,
) -> Result<f64, ProxyError> {
    let values = edgenas_train::activations(net, weights, split, BATCH, device)?;
    let n = split.len().min(BATCH);
    let rectified: Vec<(usize, usize)> = net
        .nodes
        .iter()
        .enumerate()
        .filter(|(_, node)| {
            matches!(
                &node.layer,
                Layer::Activation(a) if matches!(a.kind, ActivationKind::Relu | ActivationKind::Relu6)
            )
        })
        .map(|(i, node)| (i, node.shape.elements()))
        .collect();
    if rectified.is_empty() {
        return Err(ProxyError::NoRectifiedUnits);
    }
    let code = |sample: usize| -> Vec<bool> {
        rectified
            .iter()
            .flat_map(|&(node, units)| {
                values[node][sample * units..(sample + 1) * units]
                    .iter()
                    .map(|&v| v > 0.0)
            })
            .collect()
    };
    let codes: Vec<Vec<bool>> = (0..n).map(code).collect();
    // Symmetric: each pair's agreement counted once.
    let mut kernel = vec![0.0; n * n];
    for i in 0..n {
        for j in i..n {
            let agree = codes[i]
                .iter()
                .zip(&codes[j])
                .filter(|(a, b)| a == b)
                .count() as f64;
            kernel[i * n + j] = agree;
            kernel[j * n + i] = agree;
        }
    }
    Ok(log_det(kernel, n))
}

/// ln det of the symmetric positive semi-definite `a` (n×n, row-major); −∞ if it is singular.
fn log_det(a: Vec<f64>, n: usize) -> f64 {
    match cholesky(a, n) {
        Some(l) => (0..n).map(|i| 2.0 * l[i * n + i].ln()).sum(),
        None => f64::NEG_INFINITY,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_det_of_known_matrices() {
        // diag(2, 3): ln 6.
        assert!((log_det(vec![2.0, 0.0, 0.0, 3.0], 2) - 6f64.ln()).abs() < 1e-12);
        // [[4, 2], [2, 3]]: det 8.
        assert!((log_det(vec![4.0, 2.0, 2.0, 3.0], 2) - 8f64.ln()).abs() < 1e-12);
        // Two equal rows: singular.
        assert_eq!(log_det(vec![1.0, 1.0, 1.0, 1.0], 2), f64::NEG_INFINITY);
    }
}
