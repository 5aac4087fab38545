//! Export to ONNX: f32 models, int8 QDQ models, and C headers with the model bytes.
//!
//! [`export`] walks the IR in node order and writes an opset-13 `ModelProto` with the
//! `onnx-protobuf` crate: Conv (groups for depthwise), Gemm, Relu, Clip (ReLU6), Add, MaxPool,
//! AveragePool, GlobalAveragePool, Flatten, Softmax and, for a batch norm that follows no
//! convolution, BatchNormalization. A batch norm after a convolution or dense layer is folded
//! into its weights ([`fold`]). The input `input` and output `output` have static shapes with a
//! batch of 1. The model expects normalised samples; the data set's normalisation, the space,
//! the genotype and the edgenas version are in the metadata (`edgenas.*`).
//!
//! With [`Precision::Int8`], the model is a QDQ model: every op's output (after a fused
//! activation; a final softmax excepted) and the input pass through QuantizeLinear →
//! DequantizeLinear with per-tensor
//! asymmetric int8 parameters from calibration; weights are int8, symmetric per output
//! channel, behind a DequantizeLinear; biases are int32 with scale `input scale × weight scale`.

mod artifacts;
mod fold;
mod header;
mod proto;
pub mod quant;
mod tract;

pub use artifacts::{Artifacts, write, write_artifacts};
pub use header::c_header;
pub use quant::{Calibration, QParams};
pub use tract::TractModel;

use onnx_protobuf::{GraphProto, Message, ModelProto, NodeProto, OperatorSetIdProto, TensorProto};

use crate::cost::{Deployment, deployment};
use crate::data::Normalisation;
use crate::network::layers::{ActivationKind, PoolKind};
use crate::network::{Layer, Network, Shape};
use crate::weights::{LayerWeights, Weights};
use proto::{
    attr_float, attr_int, attr_ints, entry, node, tensor_f32, tensor_i8, tensor_i32, value_info,
};

/// The ONNX opset the exporter writes.
pub const OPSET: i64 = 13;

/// What the model's metadata records.
#[derive(Clone, Debug)]
pub struct ModelInfo<'a> {
    /// The search space's name.
    pub space: &'a str,
    /// The genotype's canonical text.
    pub genotype: &'a str,
    /// The normalisation the inputs need, if any.
    pub normalisation: Option<&'a Normalisation>,
}

/// f32, or int8 with the quantisation parameters of every node's output (by node id; `None`
/// where a tensor is not quantised).
#[derive(Clone, Debug)]
pub enum Precision {
    /// Float weights and activations.
    F32,
    /// QDQ int8, with the activation parameters of each IR node's output.
    Int8(Vec<Option<QParams>>),
}

/// Why a network cannot be exported.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ExportError {
    /// The weights do not fit the network.
    #[error("the weights do not fit the network: {0}")]
    Weights(String),
    /// Calibration cannot give quantisation parameters.
    #[error("calibration: {0}")]
    Calibration(String),
    /// An exported model does not run.
    #[error("{0}")]
    Run(String),
    /// A file cannot be written.
    #[error("cannot write {0}")]
    Io(String),
}

/// Per-node quantisation parameters from calibration values (one list of values per IR node,
/// from `train::activations`). Fails when there are no samples or the samples are all equal.
pub fn calibrate(
    values: &[Vec<f32>],
    method: Calibration,
) -> Result<Vec<Option<QParams>>, ExportError> {
    let input = values
        .first()
        .filter(|v| !v.is_empty())
        .ok_or_else(|| ExportError::Calibration("the calibration set is empty".into()))?;
    if input.iter().all(|&v| v == input[0]) {
        return Err(ExportError::Calibration(
            "the calibration samples are constant: activation ranges cannot be measured".into(),
        ));
    }
    Ok(quant::ranges(values, method)
        .into_iter()
        .map(|r| r.map(|(lo, hi)| quant::activation_params(lo, hi)))
        .collect())
}

/// Exports `net` with `weights` to an ONNX model.
pub fn export(
    net: &Network,
    weights: &Weights,
    info: &ModelInfo,
    precision: &Precision,
) -> Result<ModelProto, ExportError> {
    weights.check(net).map_err(ExportError::Weights)?;
    let folded = fold::folded(net, weights).map_err(ExportError::Weights)?;
    let deployed = deployment(net);
    let qparams = match precision {
        Precision::F32 => None,
        Precision::Int8(p) => Some(p),
    };
    let mut e = Emitter::default();
    // The tensor name that carries each node's value, and its quantisation (for bias scales).
    let mut name: Vec<String> = Vec::with_capacity(net.nodes.len());
    let mut scale: Vec<Option<f32>> = Vec::with_capacity(net.nodes.len());
    for (id, n) in net.nodes.iter().enumerate() {
        let input = |k: usize| name[n.inputs[k]].clone();
        let raw = n.name.clone();
        let mut inherited = None;
        match &n.layer {
            Layer::Input(_) => {}
            Layer::Conv2d(c) => {
                let (w, b) = folded[id].as_ref().expect("a conv has weights");
                let (wn, bn) = e.weights(&raw, w, b, scale[n.inputs[0]], qparams.is_some());
                let [ph, pw] = c.padding;
                let attrs = vec![
                    attr_ints("kernel_shape", &[c.kernel[0] as i64, c.kernel[1] as i64]),
                    attr_ints("strides", &[c.stride[0] as i64, c.stride[1] as i64]),
                    attr_ints("pads", &[ph as i64, pw as i64, ph as i64, pw as i64]),
                    attr_ints("dilations", &[1, 1]),
                    attr_int("group", c.groups as i64),
                ];
                e.nodes
                    .push(node("Conv", &raw, &[&input(0), &wn, &bn], &[&raw], attrs));
            }
            Layer::Dense(_) => {
                let (w, b) = folded[id].as_ref().expect("a dense layer has weights");
                let (wn, bn) = e.weights(&raw, w, b, scale[n.inputs[0]], qparams.is_some());
                e.nodes.push(node(
                    "Gemm",
                    &raw,
                    &[&input(0), &wn, &bn],
                    &[&raw],
                    vec![attr_int("transB", 1)],
                ));
            }
            Layer::BatchNorm(_) if deployed[id] == Deployment::Merged => {
                // Folded into the producer: the producer's output is this node's value.
                name.push(input(0));
                scale.push(None);
                e.quantize(id, net, &deployed, qparams, &mut name, &mut scale);
                continue;
            }
            Layer::BatchNorm(_) => {
                let Some(LayerWeights::BatchNorm {
                    gamma,
                    beta,
                    running_mean,
                    running_var,
                    epsilon,
                }) = weights.get(&n.name)
                else {
                    unreachable!("checked by Weights::check")
                };
                let mut ins = vec![input(0)];
                for (suffix, a) in [
                    ("scale", gamma),
                    ("bias", beta),
                    ("mean", running_mean),
                    ("var", running_var),
                ] {
                    let t = format!("{raw}.{suffix}");
                    e.inits.push(tensor_f32(&t, &a.shape, &a.data));
                    ins.push(t);
                }
                let ins: Vec<&str> = ins.iter().map(String::as_str).collect();
                e.nodes.push(node(
                    "BatchNormalization",
                    &raw,
                    &ins,
                    &[&raw],
                    vec![attr_float("epsilon", *epsilon as f32)],
                ));
            }
            Layer::Activation(a) => match a.kind {
                ActivationKind::Relu => {
                    e.nodes
                        .push(node("Relu", &raw, &[&input(0)], &[&raw], vec![]))
                }
                ActivationKind::Relu6 => {
                    let (lo, hi) = (format!("{raw}.min"), format!("{raw}.max"));
                    e.inits.push(tensor_f32(&lo, &[], &[0.0]));
                    e.inits.push(tensor_f32(&hi, &[], &[6.0]));
                    e.nodes
                        .push(node("Clip", &raw, &[&input(0), &lo, &hi], &[&raw], vec![]));
                }
            },
            Layer::Pool(p) => {
                let mut attrs = vec![
                    attr_ints("kernel_shape", &[p.kernel as i64; 2]),
                    attr_ints("strides", &[p.stride as i64; 2]),
                    attr_ints("pads", &[p.padding as i64; 4]),
                ];
                let op = match p.kind {
                    PoolKind::Max => "MaxPool",
                    PoolKind::Avg => {
                        attrs.push(attr_int("count_include_pad", p.count_include_pad as i64));
                        "AveragePool"
                    }
                };
                e.nodes.push(node(op, &raw, &[&input(0)], &[&raw], attrs));
            }
            Layer::GlobalAvgPool(_) => e.nodes.push(node(
                "GlobalAveragePool",
                &raw,
                &[&input(0)],
                &[&raw],
                vec![],
            )),
            Layer::Add(_) => {
                e.nodes
                    .push(node("Add", &raw, &[&input(0), &input(1)], &[&raw], vec![]))
            }
            Layer::Flatten(_) => {
                e.nodes.push(node(
                    "Flatten",
                    &raw,
                    &[&input(0)],
                    &[&raw],
                    vec![attr_int("axis", 1)],
                ));
                // A reshape keeps its input's quantisation.
                inherited = scale[n.inputs[0]];
            }
            Layer::Softmax(_) => e.nodes.push(node(
                "Softmax",
                &raw,
                &[&input(0)],
                &[&raw],
                vec![attr_int("axis", 1)],
            )),
            Layer::Zero(z) => {
                let shape = batch_dims(z.shape);
                e.inits
                    .push(tensor_f32(&raw, &shape, &vec![0.0; z.shape.elements()]));
            }
        }
        name.push(if matches!(n.layer, Layer::Input(_)) {
            "input".to_string()
        } else {
            raw
        });
        scale.push(inherited);
        // A reshape keeps its input's quantisation, zeros need none, and a softmax reads
        // quantised logits but gives float probabilities (tract 0.23 saturates a quantised
        // softmax output to 1; onnxruntime does not).
        if !matches!(
            n.layer,
            Layer::Flatten(_) | Layer::Zero(_) | Layer::Softmax(_)
        ) {
            e.quantize(id, net, &deployed, qparams, &mut name, &mut scale);
        }
    }
    let last = name[net.output].clone();
    e.nodes
        .push(node("Identity", "output", &[&last], &["output"], vec![]));
    let graph = GraphProto {
        name: format!("edgenas-{}", info.space),
        node: e.nodes,
        initializer: e.inits,
        input: vec![value_info("input", &batch_dims(net.input_shape()))],
        output: vec![value_info(
            "output",
            &batch_dims(net.nodes[net.output].shape),
        )],
        ..Default::default()
    };
    let mut metadata = vec![
        entry("edgenas.version", env!("CARGO_PKG_VERSION")),
        entry("edgenas.space", info.space),
        entry("edgenas.genotype", info.genotype),
        entry(
            "edgenas.precision",
            if qparams.is_some() { "int8-qdq" } else { "f32" },
        ),
    ];
    if let Some(n) = info.normalisation {
        metadata.push(entry(
            "edgenas.normalisation",
            &serde_json::to_string(n).expect("serialisable"),
        ));
    }
    Ok(ModelProto {
        ir_version: 8,
        opset_import: vec![OperatorSetIdProto {
            domain: String::new(),
            version: OPSET,
            ..Default::default()
        }],
        producer_name: "edgenas".into(),
        producer_version: env!("CARGO_PKG_VERSION").into(),
        graph: Some(graph).into(),
        metadata_props: metadata,
        ..Default::default()
    })
}

/// The serialised bytes of a model.
pub fn to_bytes(model: &ModelProto) -> Vec<u8> {
    model
        .write_to_bytes()
        .expect("an in-memory ModelProto serialises")
}

/// `[1, …shape]`.
fn batch_dims(shape: Shape) -> Vec<usize> {
    let mut d = vec![1];
    d.extend(shape.dims());
    d
}

/// The nodes and initialisers written so far.
#[derive(Default)]
struct Emitter {
    nodes: Vec<NodeProto>,
    inits: Vec<TensorProto>,
}

impl Emitter {
    /// Adds a weighted op's weight and bias as initialisers (int8 and int32 behind
    /// DequantizeLinear when `int8` and the input is quantised); returns the names to read.
    fn weights(
        &mut self,
        raw: &str,
        w: &crate::weights::Array,
        b: &crate::weights::Array,
        in_scale: Option<f32>,
        int8: bool,
    ) -> (String, String) {
        let (wn, bn) = (format!("{raw}.weight"), format!("{raw}.bias"));
        match in_scale.filter(|_| int8) {
            None => {
                self.inits.push(tensor_f32(&wn, &w.shape, &w.data));
                self.inits.push(tensor_f32(&bn, &b.shape, &b.data));
                (wn, bn)
            }
            Some(s_in) => {
                let channels = w.shape[0];
                let (q, scales) = quant::quantize_per_channel(&w.data, channels);
                let bias_scales: Vec<f32> = scales.iter().map(|s| s * s_in).collect();
                let qb: Vec<i32> = b
                    .data
                    .iter()
                    .zip(&bias_scales)
                    .map(|(v, s)| (v / s).round() as i32)
                    .collect();
                self.inits.push(tensor_i8(&format!("{wn}_q"), &w.shape, &q));
                self.inits
                    .push(tensor_f32(&format!("{wn}_scale"), &[channels], &scales));
                self.inits.push(tensor_i8(
                    &format!("{wn}_zero"),
                    &[channels],
                    &vec![0; channels],
                ));
                self.inits
                    .push(tensor_i32(&format!("{bn}_q"), &[channels], &qb));
                self.inits.push(tensor_f32(
                    &format!("{bn}_scale"),
                    &[channels],
                    &bias_scales,
                ));
                self.inits.push(tensor_i32(
                    &format!("{bn}_zero"),
                    &[channels],
                    &vec![0; channels],
                ));
                for t in [&wn, &bn] {
                    self.nodes.push(node(
                        "DequantizeLinear",
                        &format!("{t}_dq"),
                        &[
                            &format!("{t}_q"),
                            &format!("{t}_scale"),
                            &format!("{t}_zero"),
                        ],
                        &[t],
                        vec![attr_int("axis", 0)],
                    ));
                }
                (wn, bn)
            }
        }
    }

    /// In int8, passes node `id`'s value through QuantizeLinear → DequantizeLinear unless a
    /// consumer merges into it (a fused activation quantises after itself).
    fn quantize(
        &mut self,
        id: usize,
        net: &Network,
        deployed: &[Deployment],
        qparams: Option<&Vec<Option<QParams>>>,
        name: &mut [String],
        scale: &mut [Option<f32>],
    ) {
        let Some(Some(p)) = qparams.map(|q| q[id]) else {
            return;
        };
        if net
            .consumers(id)
            .iter()
            .any(|&c| deployed[c] == Deployment::Merged)
        {
            return;
        }
        let t = name[id].clone();
        let n = &net.nodes[id].name;
        let (sn, zn) = (format!("{n}.out_scale"), format!("{n}.out_zero"));
        self.inits.push(tensor_f32(&sn, &[], &[p.scale]));
        self.inits.push(tensor_i8(&zn, &[], &[p.zero_point]));
        let (q, dq) = (format!("{n}.q"), format!("{n}.dq"));
        self.nodes
            .push(node("QuantizeLinear", &q, &[&t, &sn, &zn], &[&q], vec![]));
        self.nodes.push(node(
            "DequantizeLinear",
            &dq,
            &[&q, &sn, &zn],
            &[&dq],
            vec![],
        ));
        name[id] = dq;
        scale[id] = Some(p.scale);
    }
}
