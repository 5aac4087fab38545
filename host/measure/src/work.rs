//! The work of each node of an ONNX model as tract loads and types it: the op kind the cost
//! model prices, the datum type, and the units of work (MACs for convolutions and dense
//! layers, elements for pools and elementwise ops).

use std::collections::HashSet;

use edgenas_wire::tract::TractFailure;
use serde::Serialize;
use tract_onnx::prelude::*;
use tract_onnx::tract_core::ops::cnn::{Conv, MaxPool, SumPool};
use tract_onnx::tract_core::ops::einsum::EinSum;

/// The op kinds of the cost model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum CostKind {
    /// A convolution with a spatial kernel (MACs).
    Conv,
    /// A depthwise convolution (MACs).
    Depthwise,
    /// A 1×1 convolution (MACs).
    Pointwise,
    /// A dense layer or matrix product (MACs).
    Dense,
    /// Max and global pooling (elements read).
    Pool,
    /// Average pooling with a window (elements read).
    AvgPool,
    /// Elementwise ops: activations, additions, softmax, casts (elements written).
    Elementwise,
}

impl CostKind {
    /// Every kind, in the order of the cost model's fields.
    pub const ALL: [CostKind; 7] = [
        CostKind::Conv,
        CostKind::Depthwise,
        CostKind::Pointwise,
        CostKind::Dense,
        CostKind::Pool,
        CostKind::AvgPool,
        CostKind::Elementwise,
    ];
}

/// The precision a node computes in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum CostPrecision {
    /// 8-bit integers (operator-form ops, or every op of a QDQ model).
    Int8,
    /// 32-bit floats.
    F32,
}

/// One node's work.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NodeWork {
    /// tract's node name (the ONNX node's name, with a suffix where tract split it).
    pub name: String,
    /// tract's op name.
    pub op: String,
    /// The cost model's kind.
    pub kind: CostKind,
    /// The precision.
    pub precision: CostPrecision,
    /// MACs or elements, by kind.
    pub work: f64,
    /// Elements of its output.
    pub outputs: f64,
    /// Whether `kind` is a guess for an op the cost model has no kind for.
    pub fallback: bool,
}

/// The work of a whole model.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ModelWork {
    /// The nodes that compute, in evaluation order.
    pub nodes: Vec<NodeWork>,
    /// Whether the model is int8 (QDQ or operator form).
    pub int8: bool,
}

impl ModelWork {
    /// Ops priced with a fallback kind, by op name, once each.
    pub fn fallback_ops(&self) -> Vec<String> {
        let mut seen: Vec<String> = Vec::new();
        for n in self.nodes.iter().filter(|n| n.fallback) {
            if !seen.contains(&n.op) {
                seen.push(n.op.clone());
            }
        }
        seen
    }
}

/// Ops that move no data or only relabel it: no work and no per-node cost.
const FREE_OPS: &[&str] = &[
    "Source", "Const", "AddAxis", "RmAxis", "Reshape", "Identity",
];

/// Elementwise ops the cost model knows, data movement (a strided `Downsample`) included;
/// anything else is priced as elementwise with a fallback warning.
const ELEMENTWISE_OPS: &[&str] = &[
    "Downsample",
    "Add",
    "Sub",
    "Mul",
    "Div",
    "Max",
    "Min",
    "Softmax",
    "Clip",
    "Cast",
    "Exp",
    "Relu",
    "HardSwish",
    "LookupTable",
    "Scale",
    "Round",
    "RoundHalfToEven",
];

/// Loads `bytes` with tract, types and declutters it, and returns each node's work. `what`
/// (a file name) names the model in errors.
pub fn analyse(bytes: &[u8], what: &str) -> Result<ModelWork, TractFailure> {
    edgenas_wire::tract::settle_tract();
    let fail = |e: TractError| TractFailure::Load {
        what: what.into(),
        message: format!("{e:#}"),
    };
    let inference = tract_onnx::onnx()
        .model_for_read(&mut &bytes[..])
        .map_err(fail)?;
    // In a QDQ model every op computes in int8 on a device; the Q/DQ nodes themselves are
    // how the file states it, not work (a device fuses them into the ops).
    let qdq: HashSet<String> = inference
        .nodes()
        .iter()
        .filter(|n| matches!(n.op.name().as_ref(), "QuantizeLinear" | "DequantizeLinear"))
        .map(|n| n.name.clone())
        .collect();
    let typed = inference
        .into_typed()
        .map_err(fail)?
        .into_decluttered()
        .map_err(fail)?;
    let int8_ops = typed.nodes().iter().any(|n| is_int8(&typed, n));
    let int8 = !qdq.is_empty() || int8_ops;
    let from_qdq = |name: &str| {
        qdq.iter()
            .any(|q| name == q || name.starts_with(&format!("{q}.")))
    };
    let mut nodes = Vec::new();
    for id in typed.eval_order().map_err(fail)? {
        let node = typed.node(id);
        let op = node.op.name().to_string();
        if FREE_OPS.contains(&op.as_str()) || op.starts_with("AxisOp") || from_qdq(&node.name) {
            continue;
        }
        let out: usize = node.outputs[0]
            .fact
            .shape
            .as_concrete()
            .map(|s| s.iter().product())
            .ok_or_else(|| TractFailure::NotStatic {
                what: what.into(),
                value: format!("node {}", node.name),
            })?;
        let input = |k: usize| -> Option<Vec<usize>> {
            let fact = typed.outlet_fact(*node.inputs.get(k)?).ok()?;
            fact.shape.as_concrete().map(|s| s.to_vec())
        };
        let (kind, work, fallback) = if let Some(conv) = node.op_as::<Conv>() {
            let area: usize = conv.pool_spec.kernel_shape.iter().product();
            let per_output = conv.pool_spec.input_channels / conv.group.max(1) * area;
            let kind = if conv.group > 1 && per_output == area {
                CostKind::Depthwise
            } else if area == 1 {
                CostKind::Pointwise
            } else {
                CostKind::Conv
            };
            (kind, (out * per_output) as f64, false)
        } else if let Some(einsum) = node.op_as::<EinSum>() {
            let shapes: Vec<Option<Vec<usize>>> = (0..node.inputs.len()).map(input).collect();
            let out_shape = node.outputs[0].fact.shape.as_concrete().map(|s| s.to_vec());
            let macs = einsum_macs(einsum, &shapes, out_shape.as_deref());
            // A 1×1 convolution becomes a product over a feature map (rank ≥ 3 out).
            let rank = node.outputs[0].fact.rank();
            let kind = if rank >= 3 {
                CostKind::Pointwise
            } else {
                CostKind::Dense
            };
            (kind, macs.unwrap_or(out as f64), macs.is_none())
        } else if let Some(p) = node.op_as::<MaxPool>() {
            let area: usize = p.pool_spec.kernel_shape.iter().product();
            (CostKind::Pool, (out * area) as f64, false)
        } else if let Some(p) = node.op_as::<SumPool>() {
            let area: usize = p.pool_spec.kernel_shape.iter().product();
            (CostKind::AvgPool, (out * area) as f64, false)
        } else if op.starts_with("Reduce") {
            let read: usize = input(0).map(|s| s.iter().product()).unwrap_or(out);
            (CostKind::Pool, read as f64, false)
        } else {
            let known = ELEMENTWISE_OPS.iter().any(|k| op.contains(k));
            (CostKind::Elementwise, out as f64, !known)
        };
        nodes.push(NodeWork {
            name: node.name.clone(),
            op,
            kind,
            precision: if int8 {
                CostPrecision::Int8
            } else {
                CostPrecision::F32
            },
            work,
            outputs: out as f64,
            fallback,
        });
    }
    Ok(ModelWork { nodes, int8 })
}

/// The MACs of an einsum: the product of the sizes of all its axes (each summed or kept axis
/// once, its size read from an input or the output), or `None` where a size is unknown.
fn einsum_macs(
    op: &EinSum,
    inputs: &[Option<Vec<usize>>],
    output: Option<&[usize]>,
) -> Option<f64> {
    let mut macs = 1f64;
    for axis in op.axes.iter_all_axes() {
        let from_inputs = axis
            .inputs
            .iter()
            .enumerate()
            .find_map(|(slot, positions)| {
                let pos = *positions.first()?;
                inputs.get(slot)?.as_ref()?.get(pos).copied()
            });
        let from_output = || Some(output?[*axis.outputs.first()?.first()?]);
        macs *= from_inputs.or_else(from_output)? as f64;
    }
    Some(macs)
}

/// Whether a node reads 8-bit integers (an op of the operator form).
fn is_int8(model: &TypedModel, node: &TypedNode) -> bool {
    node.inputs.first().is_some_and(|i| {
        model
            .outlet_fact(*i)
            .is_ok_and(|f| matches!(f.datum_type.unquantized(), DatumType::I8 | DatumType::U8))
    }) && !matches!(node.op.name().as_ref(), "Source" | "Const")
}
