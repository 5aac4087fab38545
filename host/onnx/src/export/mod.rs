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

pub(crate) mod emitter;
mod files;
mod fold;
mod header;
pub(crate) mod proto;
pub mod quant;
pub mod reference;

pub use edgenas_wire::TractModel;
pub use edgenas_wire::tract::TractFailure;
pub use files::{write, write_path};
pub use header::c_header;
pub use quant::{Calibration, QParams};

use onnx_protobuf::{GraphProto, Message, ModelProto, OperatorSetIdProto};

use crate::layers::{ExportNode, Quantisation, batch_dims, onnx};
use emitter::Emitter;

use edgenas_data::{Dataset, Normalisation};
use edgenas_model::cost::{Deployment, deployment};
use edgenas_model::front_end::FrontEnd;
use edgenas_model::network::Network;
use edgenas_model::weights::Weights;
use proto::{entry, node, value_info};

/// The ONNX opset the exporter writes.
pub const OPSET: i64 = 13;
/// The opset of a model with a hard-swish (`HardSwish` came in opset 14); the exporter writes
/// it only then, so that other models stay as they were.
pub const HARD_SWISH_OPSET: i64 = 14;

/// The opset `net` needs: the highest its layers need.
fn opset(net: &Network) -> i64 {
    net.nodes
        .iter()
        .map(|n| onnx(&n.layer).opset())
        .max()
        .unwrap_or(OPSET)
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
        let layer = onnx(&n.layer);
        if absorbed[id] {
            let src = n.inputs[0];
            let (nm, sc, qn) = (name[src].clone(), scale[src], quant[src].clone());
            name.push(nm);
            scale.push(sc);
            quant.push(qn);
            continue;
        }
        if let Some(conv) = layer.as_qlinear_conv().filter(|_| operators) {
            let chain = merged_chain(net, &deployed, id);
            let end = chain.last().copied().unwrap_or(id);
            let in_q = quant[n.inputs[0]].clone();
            if let (Some(x), Some(Some(p)), Some(s_in)) =
                (in_q, qparams.map(|q| q[end]), scale[n.inputs[0]])
            {
                let (w, b) = folded[id].as_ref().expect("a weighted op has weights");
                let out = e.qlinear(&n.name, &conv, x, &net.nodes[end].name, w, b, s_in, p);
                for merged in chain {
                    absorbed[merged] = true;
                }
                name.push(out);
                scale.push(Some(p.scale));
                quant.push(Some(net.nodes[end].name.clone()));
                continue;
            }
        }
        let value = layer.export(&mut ExportNode {
            emitter: &mut e,
            node: n,
            inputs: n.inputs.iter().map(|&i| name[i].clone()).collect(),
            in_scale: n.inputs.first().and_then(|&i| scale[i]),
            int8: qparams.is_some(),
            folded: folded[id].as_ref(),
            weights,
            merged: deployed[id] == Deployment::Merged,
        });
        name.push(value);
        match layer.quantisation() {
            Quantisation::Own => {
                scale.push(None);
                quant.push(None);
                e.quantize(
                    id, net, &deployed, qparams, &mut name, &mut scale, &mut quant,
                );
            }
            // A reshape keeps its input's quantisation.
            Quantisation::Inherited => {
                scale.push(scale[n.inputs[0]]);
                quant.push(quant[n.inputs[0]].clone());
            }
            Quantisation::Float => {
                scale.push(None);
                quant.push(None);
            }
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
