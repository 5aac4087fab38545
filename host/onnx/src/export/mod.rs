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
//!
//! [`Precision::Int8Operators`] computes the same numbers in the operator form, for runtimes
//! (tract among them) that should run int8 kernels rather than fold a QDQ graph back into
//! float: every convolution is a QLinearConv on int8 tensors, and every dense layer a
//! QLinearConv with a 1×1 kernel between two Reshapes (QLinearMatMul has no bias input, so a
//! dense layer written with it would round once more than the QDQ model). A fused ReLU or
//! ReLU6 is the saturation of the int8 output (its zero point is −128 and its range ends at or
//! below 6). The other ops read DequantizeLinear and write QuantizeLinear, as in QDQ.
//! [`reference`] computes what both forms should give.

mod files;
mod fold;
mod header;
mod proto;
pub mod quant;
pub mod reference;

pub use edgenas_wire::TractModel;
pub use edgenas_wire::tract::TractFailure;
pub use files::{write, write_path};
pub use header::c_header;
pub use quant::{Calibration, QParams};

use onnx_protobuf::{GraphProto, Message, ModelProto, NodeProto, OperatorSetIdProto, TensorProto};

use edgenas_data::{Dataset, Normalisation};
use edgenas_model::cost::{Deployment, deployment};
use edgenas_model::front_end::FrontEnd;
use edgenas_model::network::layers::{ActivationKind, Conv2d, PoolKind};
use edgenas_model::network::{Layer, Network, Node, Shape};
use edgenas_model::weights::{Array, LayerWeights, Weights};
use proto::{
    attr_float, attr_int, attr_ints, entry, node, tensor_f32, tensor_i8, tensor_i32, tensor_i64,
    value_info,
};

/// The ONNX opset the exporter writes.
pub const OPSET: i64 = 13;
/// The opset of a model with a hard-swish (`HardSwish` came in opset 14); the exporter writes
/// it only then, so that other models stay as they were.
pub const HARD_SWISH_OPSET: i64 = 14;

/// The opset `net` needs.
fn opset(net: &Network) -> i64 {
    let hard_swish = net
        .nodes
        .iter()
        .any(|n| matches!(&n.layer, Layer::Activation(a) if a.kind == ActivationKind::HardSwish));
    if hard_swish { HARD_SWISH_OPSET } else { OPSET }
}

/// What the model's metadata records.
#[derive(Clone, Debug)]
pub struct ModelInfo<'a> {
    /// The search space's name.
    pub space: &'a str,
    /// The genotype's canonical text.
    pub genotype: &'a str,
    /// The normalisation the inputs need, if any.
    pub normalisation: Option<&'a Normalisation>,
    /// The front end that computes the inputs from audio clips, if any.
    pub front_end: Option<&'a FrontEnd>,
    /// The name of each class, in the order of the outputs (empty when unknown).
    pub classes: &'a [String],
}

impl<'a> ModelInfo<'a> {
    /// The information of a model with no data set behind it (no normalisation, front end or
    /// class names): a calibration model, a test's.
    pub fn bare(space: &'a str, genotype: &'a str) -> ModelInfo<'a> {
        ModelInfo {
            space,
            genotype,
            normalisation: None,
            front_end: None,
            classes: &[],
        }
    }

    /// The information of a model trained on `data`: its normalisation, front end and classes.
    pub fn for_dataset(space: &'a str, genotype: &'a str, data: &'a Dataset) -> ModelInfo<'a> {
        ModelInfo {
            space,
            genotype,
            normalisation: Some(&data.normalisation),
            front_end: data.front_end.as_ref(),
            classes: &data.class_names,
        }
    }
}

/// What an exported model's metadata says (see [`ModelInfo`]), read back.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredInfo {
    /// The search space's name.
    pub space: String,
    /// The genotype's canonical text.
    pub genotype: String,
    /// The normalisation its inputs need.
    pub normalisation: Option<Normalisation>,
    /// Its audio front end.
    pub front_end: Option<FrontEnd>,
    /// Its class names (empty when the model does not record them).
    pub classes: Vec<String>,
}

impl StoredInfo {
    /// Reads the metadata of the serialised model `bytes` (`what` names it in errors).
    pub fn from_bytes(bytes: &[u8], what: &str) -> Result<StoredInfo, ExportError> {
        let model = ModelProto::parse_from_bytes(bytes)
            .map_err(|e| ExportError::Weights(format!("{what}: not an ONNX model: {e}")))?;
        StoredInfo::read(&model).map_err(|e| ExportError::Weights(format!("{what}: {e}")))
    }

    /// Reads the metadata of a model edgenas exported.
    pub fn read(model: &ModelProto) -> Result<StoredInfo, ExportError> {
        let text = |key: &str| {
            model
                .metadata_props
                .iter()
                .find(|p| p.key == key)
                .map(|p| p.value.clone())
        };
        let space = text("edgenas.space").ok_or_else(|| {
            ExportError::Weights(
                "the model has no `edgenas.space` metadata: edgenas did not export it".into(),
            )
        })?;
        Ok(StoredInfo {
            space,
            genotype: text("edgenas.genotype").unwrap_or_default(),
            normalisation: metadata(model, "edgenas.normalisation")?,
            front_end: metadata(model, "edgenas.front_end")?,
            classes: metadata(model, "edgenas.classes")?.unwrap_or_default(),
        })
    }
}

/// The JSON value of a model's metadata entry `key`, if it has one.
fn metadata<T: serde::de::DeserializeOwned>(
    model: &ModelProto,
    key: &str,
) -> Result<Option<T>, ExportError> {
    model
        .metadata_props
        .iter()
        .find(|p| p.key == key)
        .map(|p| {
            serde_json::from_str(&p.value)
                .map_err(|e| ExportError::Weights(format!("metadata `{key}`: {e}")))
        })
        .transpose()
}

/// f32, or int8 with the quantisation parameters of every node's output (by node id; `None`
/// where a tensor is not quantised).
#[derive(Clone, Debug)]
pub enum Precision {
    /// Float weights and activations.
    F32,
    /// QDQ int8, with the activation parameters of each IR node's output.
    Int8(Vec<Option<QParams>>),
    /// int8 in the operator form (QLinearConv), with the same parameters.
    Int8Operators(Vec<Option<QParams>>),
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
    /// An exported model does not load or run in tract.
    #[error(transparent)]
    Run(#[from] edgenas_wire::tract::TractFailure),
    /// The weights do not fit the network's layers.
    #[error("the weights do not fit the network: {0}")]
    Mismatch(#[from] edgenas_model::weights::WeightsMismatch),
    /// An exported model does not compile for the device engine.
    #[error(transparent)]
    Compile(#[from] crate::compile::CompileError),
    /// A compiled blob does not load in the device engine.
    #[error("the device blob: {0}")]
    Engine(#[from] edgenas_engine::Error),
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
    weights.check(net)?;
    let folded = fold::folded(net, weights).map_err(ExportError::Weights)?;
    let deployed = deployment(net);
    let (qparams, operators) = match precision {
        Precision::F32 => (None, false),
        Precision::Int8(p) => (Some(p), false),
        Precision::Int8Operators(p) => (Some(p), true),
    };
    let mut e = Emitter::default();
    // The tensor name that carries each node's value, its quantisation scale (for bias
    // scales), and the node whose int8 tensor it is read from (operator form).
    let mut name: Vec<String> = Vec::with_capacity(net.nodes.len());
    let mut scale: Vec<Option<f32>> = Vec::with_capacity(net.nodes.len());
    let mut quant: Vec<Option<String>> = Vec::with_capacity(net.nodes.len());
    // Nodes merged into a QLinearConv (operator form): their value is the op's output.
    let mut absorbed = vec![false; net.nodes.len()];
    for (id, n) in net.nodes.iter().enumerate() {
        let input = |k: usize| name[n.inputs[k]].clone();
        let raw = n.name.clone();
        let (mut inherited, mut inherited_quant) = (None, None);
        if absorbed[id] {
            let src = n.inputs[0];
            let (nm, sc, qn) = (name[src].clone(), scale[src], quant[src].clone());
            name.push(nm);
            scale.push(sc);
            quant.push(qn);
            continue;
        }
        if operators && matches!(n.layer, Layer::Conv2d(_) | Layer::Dense(_)) {
            let chain = merged_chain(net, &deployed, id);
            let end = chain.last().copied().unwrap_or(id);
            let in_q = quant[n.inputs[0]].clone();
            if let (Some(x), Some(Some(p)), Some(s_in)) =
                (in_q, qparams.map(|q| q[end]), scale[n.inputs[0]])
            {
                let (w, b) = folded[id].as_ref().expect("a weighted op has weights");
                let out = e.qlinear(n, x, &net.nodes[end].name, w, b, s_in, p);
                for merged in chain {
                    absorbed[merged] = true;
                }
                name.push(out);
                scale.push(Some(p.scale));
                quant.push(Some(net.nodes[end].name.clone()));
                continue;
            }
        }
        match &n.layer {
            Layer::Input(_) => {}
            Layer::Conv2d(c) => {
                let (w, b) = folded[id].as_ref().expect("a conv has weights");
                let (wn, bn) = e.weights(&raw, w, b, scale[n.inputs[0]], qparams.is_some());
                e.nodes.push(node(
                    "Conv",
                    &raw,
                    &[&input(0), &wn, &bn],
                    &[&raw],
                    conv_attributes(c),
                ));
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
                quant.push(None);
                e.quantize(
                    id, net, &deployed, qparams, &mut name, &mut scale, &mut quant,
                );
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
                ActivationKind::HardSwish => {
                    e.nodes
                        .push(node("HardSwish", &raw, &[&input(0)], &[&raw], vec![]))
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
                inherited_quant = quant[n.inputs[0]].clone();
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
        quant.push(inherited_quant);
        // A reshape keeps its input's quantisation, zeros need none, and a softmax reads
        // quantised logits but gives float probabilities (tract 0.23 saturates a quantised
        // softmax output to 1; onnxruntime does not).
        if !matches!(
            n.layer,
            Layer::Flatten(_) | Layer::Zero(_) | Layer::Softmax(_)
        ) {
            e.quantize(
                id, net, &deployed, qparams, &mut name, &mut scale, &mut quant,
            );
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
            match precision {
                Precision::F32 => "f32",
                Precision::Int8(_) => "int8-qdq",
                Precision::Int8Operators(_) => "int8-operators",
            },
        ),
    ];
    if let Some(n) = info.normalisation {
        metadata.push(entry(
            "edgenas.normalisation",
            &serde_json::to_string(n).expect("serialisable"),
        ));
    }
    if let Some(f) = info.front_end {
        metadata.push(entry(
            "edgenas.front_end",
            &serde_json::to_string(f).expect("serialisable"),
        ));
    }
    if !info.classes.is_empty() {
        metadata.push(entry(
            "edgenas.classes",
            &serde_json::to_string(info.classes).expect("serialisable"),
        ));
    }
    Ok(ModelProto {
        ir_version: 8,
        opset_import: vec![OperatorSetIdProto {
            domain: String::new(),
            version: opset(net),
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

/// The nodes merged into `id` (a batch norm folded into it, an activation fused into it), in
/// order.
fn merged_chain(net: &Network, deployed: &[Deployment], id: usize) -> Vec<usize> {
    let mut chain = Vec::new();
    let mut at = id;
    while let Some(&next) = net
        .consumers(at)
        .iter()
        .find(|&&c| deployed[c] == Deployment::Merged)
    {
        chain.push(next);
        at = next;
    }
    chain
}

/// The attributes of a convolution.
fn conv_attributes(c: &Conv2d) -> Vec<onnx_protobuf::AttributeProto> {
    let [ph, pw] = c.padding;
    vec![
        attr_ints("kernel_shape", &[c.kernel[0] as i64, c.kernel[1] as i64]),
        attr_ints("strides", &[c.stride[0] as i64, c.stride[1] as i64]),
        attr_ints("pads", &[ph as i64, pw as i64, ph as i64, pw as i64]),
        attr_ints("dilations", &[1, 1]),
        attr_int("group", c.groups as i64),
    ]
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
    /// Adds a weighted op's weight and bias as initialisers: f32, or (when `int8` and the
    /// input is quantised) int8 and int32 behind DequantizeLinear. Returns the names to read.
    fn weights(
        &mut self,
        raw: &str,
        w: &Array,
        b: &Array,
        in_scale: Option<f32>,
        int8: bool,
    ) -> (String, String) {
        let (wn, bn) = (format!("{raw}.weight"), format!("{raw}.bias"));
        match in_scale.filter(|_| int8) {
            None => {
                self.inits.push(tensor_f32(&wn, &w.shape, &w.data));
                self.inits.push(tensor_f32(&bn, &b.shape, &b.data));
            }
            Some(s_in) => {
                let bias_scales = self.int8_weights(raw, w, b, s_in);
                let channels = bias_scales.len();
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
            }
        }
        (wn, bn)
    }

    /// Adds `{raw}.weight_q/_scale/_zero` (int8, symmetric per output channel) and
    /// `{raw}.bias_q` (int32 at input scale × weight scale); returns the bias scales.
    fn int8_weights(&mut self, raw: &str, w: &Array, b: &Array, s_in: f32) -> Vec<f32> {
        let (wn, bn) = (format!("{raw}.weight"), format!("{raw}.bias"));
        let channels = w.shape[0];
        let (q, scales) = quant::quantize_per_channel(&w.data, channels);
        let bias_scales: Vec<f32> = scales.iter().map(|s| s * s_in).collect();
        let qb = quant::quantize_bias(&b.data, &scales, s_in);
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
        bias_scales
    }

    /// Adds the scale and zero point initialisers `{n}.out_scale`, `{n}.out_zero` of `p`.
    fn out_params(&mut self, n: &str, p: QParams) -> (String, String) {
        let (sn, zn) = (format!("{n}.out_scale"), format!("{n}.out_zero"));
        self.inits.push(tensor_f32(&sn, &[], &[p.scale]));
        self.inits.push(tensor_i8(&zn, &[], &[p.zero_point]));
        (sn, zn)
    }

    /// Adds `{n}.dq`, the float value of the int8 tensor `{n}.q`; returns its name.
    fn dequantize(&mut self, n: &str) -> String {
        let dq = format!("{n}.dq");
        let ins = [
            format!("{n}.q"),
            format!("{n}.out_scale"),
            format!("{n}.out_zero"),
        ];
        let ins: Vec<&str> = ins.iter().map(String::as_str).collect();
        self.nodes
            .push(node("DequantizeLinear", &dq, &ins, &[&dq], vec![]));
        dq
    }

    /// Writes convolution or dense node `n` in the operator form: a QLinearConv from the
    /// int8 tensor of node `x` to the int8 tensor of node `end` (the last node merged into
    /// `n`, with parameters `p`), read back by DequantizeLinear; returns the float name.
    #[allow(clippy::too_many_arguments)]
    fn qlinear(
        &mut self,
        n: &Node,
        x: String,
        end: &str,
        w: &Array,
        b: &Array,
        s_in: f32,
        p: QParams,
    ) -> String {
        let raw = &n.name;
        let mut w = w.clone();
        let (x_q, attrs, dense) = match &n.layer {
            Layer::Conv2d(c) => (format!("{x}.q"), conv_attributes(c), None),
            Layer::Dense(d) => {
                // A dense layer is a 1×1 convolution of a [1, features, 1, 1] map.
                let features = w.shape[1];
                w.shape = vec![d.out_features, features, 1, 1];
                let to_map = format!("{raw}.as_map");
                self.inits
                    .push(tensor_i64(&to_map, &[4], &[1, features as i64, 1, 1]));
                let x_map = format!("{raw}.input_map");
                self.nodes.push(node(
                    "Reshape",
                    &x_map,
                    &[&format!("{x}.q"), &to_map],
                    &[&x_map],
                    vec![],
                ));
                let pointwise = Conv2d {
                    out_channels: d.out_features,
                    kernel: [1, 1],
                    stride: [1, 1],
                    padding: [0, 0],
                    groups: 1,
                    bias: true,
                };
                (x_map, conv_attributes(&pointwise), Some(d.out_features))
            }
            _ => unreachable!("only weighted ops have a QLinearConv"),
        };
        self.int8_weights(raw, &w, b, s_in);
        let (ys, yz) = self.out_params(end, p);
        let y_q = format!("{end}.q");
        let conv_out = if dense.is_some() {
            format!("{raw}.output_map")
        } else {
            y_q.clone()
        };
        let ins = [
            x_q,
            format!("{x}.out_scale"),
            format!("{x}.out_zero"),
            format!("{raw}.weight_q"),
            format!("{raw}.weight_scale"),
            format!("{raw}.weight_zero"),
            ys,
            yz,
            format!("{raw}.bias_q"),
        ];
        let ins: Vec<&str> = ins.iter().map(String::as_str).collect();
        self.nodes
            .push(node("QLinearConv", raw, &ins, &[&conv_out], attrs));
        if let Some(out) = dense {
            let to_flat = format!("{raw}.as_flat");
            self.inits
                .push(tensor_i64(&to_flat, &[2], &[1, out as i64]));
            self.nodes.push(node(
                "Reshape",
                &format!("{raw}.output_flat"),
                &[&conv_out, &to_flat],
                &[&y_q],
                vec![],
            ));
        }
        self.dequantize(end)
    }

    /// In int8, passes node `id`'s value through QuantizeLinear → DequantizeLinear unless a
    /// consumer merges into it (a fused activation quantises after itself).
    #[allow(clippy::too_many_arguments)]
    fn quantize(
        &mut self,
        id: usize,
        net: &Network,
        deployed: &[Deployment],
        qparams: Option<&Vec<Option<QParams>>>,
        name: &mut [String],
        scale: &mut [Option<f32>],
        quant: &mut [Option<String>],
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
        let (sn, zn) = self.out_params(n, p);
        let q = format!("{n}.q");
        self.nodes
            .push(node("QuantizeLinear", &q, &[&t, &sn, &zn], &[&q], vec![]));
        name[id] = self.dequantize(n);
        scale[id] = Some(p.scale);
        quant[id] = Some(n.clone());
    }
}
