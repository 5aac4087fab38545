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
use crate::layers::{EvaluateNode, Quantisation, onnx};
use edgenas_model::cost::{Deployment, deployment};
use edgenas_model::network::Network;
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
            let s = match onnx(&n.layer).quantisation() {
                Quantisation::Inherited => scales[n.inputs[0]],
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
        let n = &self.net.nodes[id];
        let v = onnx(&n.layer).evaluate(&EvaluateNode {
            net: self.net,
            node: n,
            values,
            folded: self.folded[id].as_ref(),
            in_scale: n
                .inputs
                .first()
                .and_then(|&i| self.params.and(self.scales[i])),
            weights: self.weights,
            merged: self.deployed[id] == Deployment::Merged,
        });
        let p = self
            .params
            .and_then(|p| p[id])
            .filter(|_| quantised(self.net, &self.deployed, id));
        v.into_iter()
            .map(|x| p.map_or(x, |p| fake_quantize(x, p)) as f32)
            .collect()
    }
}

/// Whether the int8 model quantises node `id`'s output: the same rule as the exporter (a node
/// is quantised after the last op merged into it; reshapes, zeros and softmax are not).
fn quantised(net: &Network, deployed: &[Deployment], id: usize) -> bool {
    onnx(&net.nodes[id].layer).quantisation() == Quantisation::Own
        && !net
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
pub(crate) fn weights_as_run(w: &Array, b: &Array, in_scale: Option<f32>) -> (Vec<f64>, Vec<f64>) {
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
