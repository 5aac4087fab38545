//! Our own reference of what an exported model computes, written independently of burn and
//! of every ONNX runtime: a plain interpreter of the deployed network (batch norms folded,
//! activations fused, see `cost::deployment`) in `f64`.
//!
//! With quantisation parameters it computes the int8 model's arithmetic, in the same places
//! as the QDQ and operator-form exports: the input and every op's output are rounded to int8
//! (`q = clamp(round_half_even(x / scale) + zero_point, −128, 127)`, ONNX QuantizeLinear's
//! rule) and read back as `scale × (q − zero_point)`; a weighted op whose input is quantised
//! uses int8 weights (symmetric, per output channel) and an int32 bias at `input scale ×
//! weight scale`. Its sums of products of dequantised int8 values equal the integer
//! accumulator times the two scales exactly (within `f64` rounding), so this is the integer
//! computation of an int8 kernel, followed by requantisation.

use super::{ExportError, QParams, fold, quant};
use edgenas_model::cost::{Deployment, deployment};
use edgenas_model::network::layers::{ActivationKind, Conv2d, Pool, PoolKind};
use edgenas_model::network::{Layer, Network, Shape};
use edgenas_model::weights::{Array, Weights};

/// A network ready to be interpreted: its folded weights, its deployment, and for the int8
/// model each node's output parameters.
pub struct Reference<'a> {
    net: &'a Network,
    weights: &'a Weights,
    params: Option<&'a [Option<QParams>]>,
    folded: Vec<Option<(Array, Array)>>,
    deployed: Vec<Deployment>,
    /// The scale of each node's value where it is quantised.
    scales: Vec<Option<f32>>,
}

impl<'a> Reference<'a> {
    /// The f32 model (`params` is `None`) or the int8 model with each node's output
    /// parameters (from `export::calibrate`).
    pub fn new(
        net: &'a Network,
        weights: &'a Weights,
        params: Option<&'a [Option<QParams>]>,
    ) -> Result<Reference<'a>, ExportError> {
        weights.check(net)?;
        let folded = fold::folded(net, weights).map_err(ExportError::Weights)?;
        let deployed = deployment(net);
        let mut scales: Vec<Option<f32>> = Vec::with_capacity(net.nodes.len());
        for (id, n) in net.nodes.iter().enumerate() {
            let s = match &n.layer {
                Layer::Flatten(_) => scales[n.inputs[0]],
                _ if quantised(net, &deployed, id) => params.and_then(|p| p[id]).map(|p| p.scale),
                _ => None,
            };
            scales.push(s);
        }
        Ok(Reference {
            net,
            weights,
            params,
            folded,
            deployed,
            scales,
        })
    }

    /// Runs one sample and returns every node's value, in node order.
    pub fn run(&self, input: &[f32]) -> Result<Vec<Vec<f32>>, ExportError> {
        let expected = self.net.input_shape().elements();
        if input.len() != expected {
            return Err(ExportError::Weights(format!(
                "the input has {} values, the network reads {expected}",
                input.len()
            )));
        }
        let mut values = vec![input.to_vec()];
        values[0] = self.node(0, &values);
        for id in 1..self.net.nodes.len() {
            values.push(self.node(id, &values));
        }
        Ok(values)
    }

    /// The scale of node `id`'s value where the int8 model quantises it.
    pub fn scale(&self, id: usize) -> Option<f32> {
        self.scales[id]
    }

    /// Node `id`'s value computed from the values of the nodes before it, rounded to int8
    /// where the model quantises it. For the input node (id 0), `values[0]` is the sample.
    pub fn node(&self, id: usize, values: &[Vec<f32>]) -> Vec<f32> {
        let (net, n) = (self.net, &self.net.nodes[id]);
        let arg =
            |k: usize| -> Vec<f64> { values[n.inputs[k]].iter().map(|&x| x as f64).collect() };
        let in_shape = || net.nodes[n.inputs[0]].shape;
        let in_scale = || self.params.and(self.scales[n.inputs[0]]);
        let v: Vec<f64> = match &n.layer {
            Layer::Input(_) => values[0].iter().map(|&x| x as f64).collect(),
            Layer::Conv2d(c) => {
                let (w, b) = self.folded[id].as_ref().expect("a conv has weights");
                let (w, b) = weights_as_run(w, b, in_scale());
                conv2d(&arg(0), in_shape(), n.shape, c, &w, &b)
            }
            Layer::Dense(d) => {
                let (w, b) = self.folded[id].as_ref().expect("a dense layer has weights");
                let (w, b) = weights_as_run(w, b, in_scale());
                let x = arg(0);
                (0..d.out_features)
                    .map(|o| {
                        b[o] + x
                            .iter()
                            .enumerate()
                            .map(|(i, v)| w[o * x.len() + i] * v)
                            .sum::<f64>()
                    })
                    .collect()
            }
            Layer::BatchNorm(_) if self.deployed[id] == Deployment::Merged => arg(0),
            Layer::BatchNorm(_) => {
                let (scale, shift) = self
                    .weights
                    .batch_norm_affine(&n.name)
                    .expect("checked by Weights::check");
                let x = arg(0);
                let per_channel = x.len() / scale.len();
                x.iter()
                    .enumerate()
                    .map(|(i, &x)| x * scale[i / per_channel] + shift[i / per_channel])
                    .collect()
            }
            Layer::Activation(a) => arg(0)
                .iter()
                .map(|&x| match a.kind {
                    ActivationKind::Relu => x.max(0.0),
                    ActivationKind::Relu6 => x.clamp(0.0, 6.0),
                    ActivationKind::HardSwish => x * (x + 3.0).clamp(0.0, 6.0) / 6.0,
                })
                .collect(),
            Layer::Pool(p) => pool(&arg(0), in_shape(), n.shape, p),
            Layer::GlobalAvgPool(_) => {
                let Shape::Image { c, .. } = in_shape() else {
                    unreachable!("checked by shape inference")
                };
                let x = arg(0);
                let per = x.len() / c;
                x.chunks(per)
                    .map(|m| m.iter().sum::<f64>() / per as f64)
                    .collect()
            }
            Layer::Add(_) => arg(0).iter().zip(arg(1)).map(|(a, b)| a + b).collect(),
            Layer::Flatten(_) => arg(0),
            Layer::Softmax(_) => {
                let x = arg(0);
                let max = x.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let exp: Vec<f64> = x.iter().map(|&x| (x - max).exp()).collect();
                let sum: f64 = exp.iter().sum();
                exp.iter().map(|e| e / sum).collect()
            }
            Layer::Zero(z) => vec![0.0; z.shape.elements()],
        };
        let p = self
            .params
            .and_then(|p| p[id])
            .filter(|_| quantised(net, &self.deployed, id));
        v.into_iter()
            .map(|x| p.map_or(x, |p| fake_quantize(x, p)) as f32)
            .collect()
    }
}

/// Whether the int8 model quantises node `id`'s output: the same rule as the exporter (a node
/// is quantised after the last op merged into it; reshapes, zeros and softmax are not).
fn quantised(net: &Network, deployed: &[Deployment], id: usize) -> bool {
    !matches!(
        net.nodes[id].layer,
        Layer::Flatten(_) | Layer::Zero(_) | Layer::Softmax(_)
    ) && !net
        .consumers(id)
        .iter()
        .any(|&c| deployed[c] == Deployment::Merged)
}

/// `x` rounded to the int8 grid of `p` and read back.
pub fn fake_quantize(x: f64, p: QParams) -> f64 {
    let scale = p.scale as f64;
    let q = (x / scale).round_ties_even() + p.zero_point as f64;
    (q.clamp(-128.0, 127.0) - p.zero_point as f64) * scale
}

/// The weight and bias a weighted op computes with: the float values, or, when its input is
/// quantised with `in_scale`, the int8 weights and int32 bias read back.
fn weights_as_run(w: &Array, b: &Array, in_scale: Option<f32>) -> (Vec<f64>, Vec<f64>) {
    let as_f64 = |a: &[f32]| a.iter().map(|&x| x as f64).collect::<Vec<_>>();
    let Some(s_in) = in_scale else {
        return (as_f64(&w.data), as_f64(&b.data));
    };
    let channels = w.shape[0];
    let per = w.data.len() / channels;
    let (q, scales) = quant::quantize_per_channel(&w.data, channels);
    let weight = q
        .iter()
        .enumerate()
        .map(|(i, &q)| q as f64 * scales[i / per] as f64)
        .collect();
    let bias = quant::quantize_bias(&b.data, &scales, s_in)
        .iter()
        .zip(&scales)
        .map(|(&q, &s)| q as f64 * (s * s_in) as f64)
        .collect();
    (weight, bias)
}

fn image(shape: Shape) -> (usize, usize, usize) {
    match shape {
        Shape::Image { c, h, w } => (c, h, w),
        Shape::Vector(_) => unreachable!("checked by shape inference"),
    }
}

fn conv2d(x: &[f64], from: Shape, to: Shape, c: &Conv2d, w: &[f64], b: &[f64]) -> Vec<f64> {
    let ((ci, hi, wi), (co, ho, wo)) = (image(from), image(to));
    let (cin_g, cout_g) = (ci / c.groups, co / c.groups);
    let [kh, kw] = c.kernel;
    let mut out = vec![0.0; co * ho * wo];
    for o in 0..co {
        let g = o / cout_g;
        for oy in 0..ho {
            for ox in 0..wo {
                let mut acc = b[o];
                for k in 0..cin_g {
                    let ch = g * cin_g + k;
                    for ky in 0..kh {
                        for kx in 0..kw {
                            let iy = (oy * c.stride[0] + ky) as isize - c.padding[0] as isize;
                            let ix = (ox * c.stride[1] + kx) as isize - c.padding[1] as isize;
                            if iy < 0 || ix < 0 || iy >= hi as isize || ix >= wi as isize {
                                continue;
                            }
                            let xv = x[(ch * hi + iy as usize) * wi + ix as usize];
                            acc += xv * w[((o * cin_g + k) * kh + ky) * kw + kx];
                        }
                    }
                }
                out[(o * ho + oy) * wo + ox] = acc;
            }
        }
    }
    out
}

fn pool(x: &[f64], from: Shape, to: Shape, p: &Pool) -> Vec<f64> {
    let ((c, hi, wi), (_, ho, wo)) = (image(from), image(to));
    let mut out = Vec::with_capacity(c * ho * wo);
    for ch in 0..c {
        for oy in 0..ho {
            for ox in 0..wo {
                let mut window = Vec::with_capacity(p.kernel * p.kernel);
                for ky in 0..p.kernel {
                    for kx in 0..p.kernel {
                        let iy = (oy * p.stride + ky) as isize - p.padding as isize;
                        let ix = (ox * p.stride + kx) as isize - p.padding as isize;
                        if iy >= 0 && ix >= 0 && iy < hi as isize && ix < wi as isize {
                            window.push(x[(ch * hi + iy as usize) * wi + ix as usize]);
                        }
                    }
                }
                out.push(match p.kind {
                    PoolKind::Max => window.iter().copied().fold(f64::NEG_INFINITY, f64::max),
                    PoolKind::Avg => {
                        let count = if p.count_include_pad {
                            p.kernel * p.kernel
                        } else {
                            window.len()
                        };
                        window.iter().sum::<f64>() / count as f64
                    }
                });
            }
        }
    }
    out
}
