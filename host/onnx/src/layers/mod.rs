//! The ONNX faces of each IR layer type, one file each, behind one trait: the nodes the layer
//! exports to, what the reference interpreter computes for it, and how the device compiler
//! reads those nodes back.
//!
//! A layer type's model faces (shape, parameters, MACs, folding, lowering) are its file in
//! `edgenas-model`'s `network/layers`; these are the faces that need ONNX, so they live in the
//! crate that owns it. Adding a layer type here is its file and its op types in [`IMPORTS`]
//! ([`onnx`] follows `edgenas_model::with_layer!`, and does not compile until the file is
//! there).

mod activation;
mod add;
mod batch_norm;
pub(crate) mod conv2d;
mod dense;
mod flatten;
mod global_avg_pool;
mod input;
mod pool;
mod softmax;
mod zero;

use edgenas_model::network::layers::Conv2d;
use edgenas_model::network::{Layer, Network, Node, Shape};
use edgenas_model::weights::{Array, Weights};
use onnx_protobuf::{AttributeProto, NodeProto};

use crate::compile::graph::Reader;
use crate::export::emitter::Emitter;
use crate::export::proto::node;
use crate::export::{OPSET, reference};

/// How the int8 model treats a layer's output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Quantisation {
    /// Rounded to int8 with its own parameters (after the last op merged into it).
    Own,
    /// The same int8 values as its input (a reshape).
    Inherited,
    /// Not quantised: zeros, and a softmax's float probabilities.
    Float,
}

/// What every layer type answers on the ONNX side.
pub(crate) trait OnnxLayer {
    /// Writes the node's ONNX nodes and initialisers; returns the name of the value that
    /// holds its output (its own name, or its input's when it is merged into the op before it).
    fn export(&self, x: &mut ExportNode<'_>) -> String;
    /// The node's value, in `f64`, from its inputs (before int8 rounding).
    fn evaluate(&self, x: &EvaluateNode<'_>) -> Vec<f64>;
    /// How the int8 model treats the output.
    fn quantisation(&self) -> Quantisation {
        Quantisation::Own
    }
    /// For a weighted op, the convolution it is in the int8 operator form (a QLinearConv; a
    /// dense layer is a 1×1 one).
    fn as_qlinear_conv(&self) -> Option<Conv2d> {
        None
    }
    /// The ONNX opset the layer's nodes need.
    fn opset(&self) -> i64 {
        OPSET
    }
}

/// The registry: the ONNX faces of each layer type (`with_layer!` matches the types).
pub(crate) fn onnx(layer: &Layer) -> &dyn OnnxLayer {
    edgenas_model::with_layer!(layer, l => l)
}

/// Reads one ONNX node into the device graph: the node, its name, its output's name.
pub(crate) type Import = fn(&mut Reader, &NodeProto, &str, &str) -> Result<(), String>;

/// The ONNX op types the device compiler reads, each with the layer file's function that
/// reads it (QDQ pairs and Identity are the compiler's own).
pub(crate) const IMPORTS: &[(&str, Import)] = &[
    ("Conv", conv2d::import),
    ("Gemm", dense::import),
    ("Relu", activation::import_clamp),
    ("Clip", activation::import_clamp),
    ("HardSwish", activation::import_hard_swish),
    ("BatchNormalization", batch_norm::import),
    ("Add", add::import),
    ("MaxPool", pool::import),
    ("AveragePool", pool::import),
    ("GlobalAveragePool", global_avg_pool::import),
    ("Softmax", softmax::import),
    ("Flatten", flatten::import),
    ("Reshape", flatten::import),
];

/// One node being exported: where its nodes go, and what it reads.
pub(crate) struct ExportNode<'a> {
    /// The nodes and initialisers written so far.
    pub emitter: &'a mut Emitter,
    /// The IR node.
    pub node: &'a Node,
    /// The names of the values it reads, in input order.
    pub inputs: Vec<String>,
    /// Its first input's int8 scale, where that input is quantised.
    pub in_scale: Option<f32>,
    /// Whether the model is int8.
    pub int8: bool,
    /// Its weight and bias with a following batch norm folded in (weighted ops).
    pub folded: Option<&'a (Array, Array)>,
    /// The network's weights.
    pub weights: &'a Weights,
    /// Whether the node is merged into the op before it on the device.
    pub merged: bool,
}

impl ExportNode<'_> {
    /// The node's name, which is also the name of its ONNX output.
    pub fn raw(&self) -> &str {
        &self.node.name
    }

    /// Writes one ONNX node `op` named as the IR node, from `inputs` to the node's output.
    pub fn emit(&mut self, op: &str, inputs: &[&str], attributes: Vec<AttributeProto>) -> String {
        let raw = self.node.name.clone();
        self.emitter
            .nodes
            .push(node(op, &raw, inputs, &[&raw], attributes));
        raw
    }

    /// Writes one ONNX node `op` that reads the node's first input only.
    pub fn emit_unary(&mut self, op: &str, attributes: Vec<AttributeProto>) -> String {
        let input = self.inputs[0].clone();
        self.emit(op, &[&input], attributes)
    }

    /// Writes a weighted op `op`: its input, its weight and its bias (f32, or int8 behind
    /// DequantizeLinear when the model is int8 and the input quantised).
    pub fn emit_weighted(&mut self, op: &str, attributes: Vec<AttributeProto>) -> String {
        let (w, b) = self.folded.expect("a weighted op has weights");
        let (wn, bn) = self
            .emitter
            .weights(&self.node.name, w, b, self.in_scale, self.int8);
        let input = self.inputs[0].clone();
        self.emit(op, &[&input, &wn, &bn], attributes)
    }
}

/// One node being interpreted by the reference: the values before it.
pub(crate) struct EvaluateNode<'a> {
    /// The network.
    pub net: &'a Network,
    /// The IR node.
    pub node: &'a Node,
    /// The values of the nodes before it (for the input node, `values[0]` is the sample).
    pub values: &'a [Vec<f32>],
    /// Its weight and bias with a following batch norm folded in (weighted ops).
    pub folded: Option<&'a (Array, Array)>,
    /// Its first input's int8 scale, where the int8 model quantises that input.
    pub in_scale: Option<f32>,
    /// The network's weights.
    pub weights: &'a Weights,
    /// Whether the node is merged into the op before it on the device.
    pub merged: bool,
}

impl EvaluateNode<'_> {
    /// Input `k`'s value.
    pub fn arg(&self, k: usize) -> Vec<f64> {
        self.values[self.node.inputs[k]]
            .iter()
            .map(|&x| x as f64)
            .collect()
    }

    /// The first input's shape.
    pub fn in_shape(&self) -> Shape {
        self.net.nodes[self.node.inputs[0]].shape
    }

    /// The weight and bias the op computes with (see [`reference::weights_as_run`]).
    pub fn weights_as_run(&self) -> (Vec<f64>, Vec<f64>) {
        let (w, b) = self.folded.expect("a weighted op has weights");
        reference::weights_as_run(w, b, self.in_scale)
    }
}

/// A feature map's (channels, height, width), which shape inference has checked.
fn image(shape: Shape) -> (usize, usize, usize) {
    match shape {
        Shape::Image { c, h, w } => (c, h, w),
        Shape::Vector(_) => unreachable!("checked by shape inference"),
    }
}

/// `[1, …shape]`.
pub(crate) fn batch_dims(shape: Shape) -> Vec<usize> {
    let mut d = vec![1];
    d.extend(shape.dims());
    d
}
