//! The weights of a network in a structure of our own, free of any training backend.
//!
//! Training fills it, export reads it, and the search uses its seeded initial draw to measure
//! a candidate's latency before training. Layouts follow ONNX and PyTorch: a convolution's
//! weight is `[out, in / groups, kh, kw]`, a dense layer's is `[out, in]`.

mod init;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use init::initial_weights;

use crate::network::Network;

/// A dense array of `f32` with its shape.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Array {
    /// The dimensions.
    pub shape: Vec<usize>,
    /// The values, row-major.
    pub data: Vec<f32>,
}

impl Array {
    /// An array of `shape` filled with `value`.
    pub fn full(shape: &[usize], value: f32) -> Array {
        Array {
            shape: shape.to_vec(),
            data: vec![value; shape.iter().product()],
        }
    }

    /// Whether every value is finite.
    pub fn is_finite(&self) -> bool {
        self.data.iter().all(|x| x.is_finite())
    }

    /// The array with `f` applied to every value.
    pub fn map(&self, f: impl Fn(f32) -> f32) -> Array {
        Array {
            shape: self.shape.clone(),
            data: self.data.iter().map(|&v| f(v)).collect(),
        }
    }
}

/// The parameters (and batch norm statistics) of one layer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LayerWeights {
    /// A convolution: weight `[out, in / groups, kh, kw]`, optional bias `[out]`.
    Conv2d {
        /// The kernel.
        weight: Array,
        /// The bias, when the layer has one.
        bias: Option<Array>,
    },
    /// A dense layer: weight `[out, in]`, optional bias `[out]`.
    Dense {
        /// The weight matrix.
        weight: Array,
        /// The bias, when the layer has one.
        bias: Option<Array>,
    },
    /// A batch norm: scale, shift and the running statistics, each `[channels]`.
    BatchNorm {
        /// The scale γ.
        gamma: Array,
        /// The shift β.
        beta: Array,
        /// The running mean.
        running_mean: Array,
        /// The running variance.
        running_var: Array,
        /// Added to the variance before the square root.
        epsilon: f64,
    },
}

impl LayerWeights {
    fn arrays(&self) -> Vec<&Array> {
        match self {
            LayerWeights::Conv2d { weight, bias } | LayerWeights::Dense { weight, bias } => {
                std::iter::once(weight).chain(bias).collect()
            }
            LayerWeights::BatchNorm {
                gamma,
                beta,
                running_mean,
                running_var,
                ..
            } => {
                vec![gamma, beta, running_mean, running_var]
            }
        }
    }
}

/// Which array of a layer's weights an array is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArrayRole {
    /// A convolution's kernel or a dense layer's matrix.
    Weight,
    /// A convolution's or dense layer's bias.
    Bias,
    /// A batch norm's scale γ.
    Gamma,
    /// A batch norm's shift β.
    Beta,
    /// A batch norm's running mean.
    RunningMean,
    /// A batch norm's running variance.
    RunningVar,
}

impl LayerWeights {
    /// The layer with every array replaced by `f(role, array)`.
    pub fn map(&self, f: &impl Fn(ArrayRole, &Array) -> Array) -> LayerWeights {
        match self {
            LayerWeights::Conv2d { weight, bias } => LayerWeights::Conv2d {
                weight: f(ArrayRole::Weight, weight),
                bias: bias.as_ref().map(|b| f(ArrayRole::Bias, b)),
            },
            LayerWeights::Dense { weight, bias } => LayerWeights::Dense {
                weight: f(ArrayRole::Weight, weight),
                bias: bias.as_ref().map(|b| f(ArrayRole::Bias, b)),
            },
            LayerWeights::BatchNorm {
                gamma,
                beta,
                running_mean,
                running_var,
                epsilon,
            } => LayerWeights::BatchNorm {
                gamma: f(ArrayRole::Gamma, gamma),
                beta: f(ArrayRole::Beta, beta),
                running_mean: f(ArrayRole::RunningMean, running_mean),
                running_var: f(ArrayRole::RunningVar, running_var),
                epsilon: *epsilon,
            },
        }
    }
}

/// The weights of a network, by node name.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Weights {
    /// Every node that has parameters.
    pub layers: BTreeMap<String, LayerWeights>,
}

impl Weights {
    /// The weights of a node.
    pub fn get(&self, node: &str) -> Option<&LayerWeights> {
        self.layers.get(node)
    }

    /// These weights with every array replaced by `f(role, array)`.
    pub fn map(&self, f: impl Fn(ArrayRole, &Array) -> Array) -> Weights {
        let layers = self.layers.iter();
        Weights {
            layers: layers.map(|(n, l)| (n.clone(), l.map(&f))).collect(),
        }
    }

    /// Batch norm node `node` in inference mode as a per-channel affine map
    /// `x·scale + shift`, with `scale = γ / √(var + ε)` and `shift = β − mean·scale`; `None`
    /// when the node has no batch norm weights.
    pub fn batch_norm_affine(&self, node: &str) -> Option<(Vec<f64>, Vec<f64>)> {
        let Some(LayerWeights::BatchNorm {
            gamma,
            beta,
            running_mean,
            running_var,
            epsilon,
        }) = self.get(node)
        else {
            return None;
        };
        let scale: Vec<f64> = gamma
            .data
            .iter()
            .zip(&running_var.data)
            .map(|(&g, &v)| g as f64 / (v as f64 + epsilon).sqrt())
            .collect();
        let shift = beta
            .data
            .iter()
            .zip(&running_mean.data)
            .zip(&scale)
            .map(|((&b, &m), s)| b as f64 - m as f64 * s)
            .collect();
        Some((scale, shift))
    }

    /// Whether every value is finite.
    pub fn is_finite(&self) -> bool {
        self.layers
            .values()
            .all(|l| l.arrays().iter().all(|a| a.is_finite()))
    }

    /// Checks that these weights fit `network`: every parameterised node has weights of the
    /// right kind and shapes. Names the first node that does not.
    pub fn check(&self, network: &Network) -> Result<(), WeightsMismatch> {
        for (id, node) in network.nodes.iter().enumerate() {
            let expected = expected_shapes(network, id);
            let found = self.layers.get(&node.name);
            match (expected, found) {
                (None, None) => {}
                (Some(expected), Some(w)) => {
                    let found: Vec<Vec<usize>> =
                        w.arrays().iter().map(|a| a.shape.clone()).collect();
                    if found != expected {
                        return Err(WeightsMismatch::Shapes {
                            node: node.name.clone(),
                            found,
                            expected,
                        });
                    }
                }
                (Some(_), None) => return Err(WeightsMismatch::Missing(node.name.clone())),
                (None, Some(_)) => return Err(WeightsMismatch::Unexpected(node.name.clone())),
            }
        }
        Ok(())
    }
}

/// Why weights do not fit a network ([`Weights::check`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WeightsMismatch {
    /// A node's arrays have other shapes than its layer needs.
    #[error("node {node}: weights of shapes {found:?}, expected {expected:?}")]
    Shapes {
        /// The node.
        node: String,
        /// The shapes given.
        found: Vec<Vec<usize>>,
        /// The shapes its layer needs.
        expected: Vec<Vec<usize>>,
    },
    /// A node with parameters has no weights.
    #[error("node {0} has no weights")]
    Missing(String),
    /// Weights are given for a node without parameters.
    #[error("node {0} takes no weights")]
    Unexpected(String),
}

/// The shapes of the arrays node `id` needs, in the order of [`LayerWeights::arrays`].
fn expected_shapes(network: &Network, id: usize) -> Option<Vec<Vec<usize>>> {
    let node = &network.nodes[id];
    let shapes = node
        .layer
        .op()
        .weight_shapes(&network.input_shapes(id), &node.shape);
    (!shapes.is_empty()).then_some(shapes)
}
