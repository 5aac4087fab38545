//! From device steps to blob records: datum types, the arena plan, constants and the int8
//! requantisation parameters.

use edgenas_engine::DType;
use edgenas_engine::blob::{self, Activation, Model, NO_TENSOR, OpKind, OpRecord, TensorRecord};
use edgenas_engine::format::align_up;
use edgenas_engine::planner;
use edgenas_engine::requant::{quantize_multiplier, quantize_multipliers};
use edgenas_model::cost::lowering::{DeviceGraph, DeviceOp, DeviceStep, DeviceTensor};

use super::graph::{Graph, Op, OpWeights, Quant, Step};

type Result<T> = std::result::Result<T, String>;

/// The quantisation a Fill tensor gets when int8 ops read it (any scale represents zero).
const ZERO_QUANT: Quant = Quant {
    scale: 1.0,
    zero: 0,
};

fn dtype(q: Option<Quant>) -> DType {
    if q.is_some() { DType::Int8 } else { DType::F32 }
}

/// The device graph that the planner sees: `g` without its constants, in the same form as
/// the IR's lowering (`edgenas_model::cost::lowering`), so both are planned by one rule.
pub fn device_graph(g: &Graph) -> DeviceGraph {
    DeviceGraph {
        tensors: g
            .tensors
            .iter()
            .map(|t| DeviceTensor {
                shape: t.shape.clone(),
                dtype: dtype(t.quant),
            })
            .collect(),
        steps: g
            .steps
            .iter()
            .map(|s| match s {
                Step::Op(op) => DeviceStep::Op(DeviceOp {
                    kind: op.kind,
                    inputs: op.inputs.clone(),
                    output: op.output,
                    groups: usize::from(op.geometry.groups),
                    kernel: op.geometry.kernel.map(usize::from),
                    stride: op.geometry.stride.map(usize::from),
                }),
                Step::View { input, output } => DeviceStep::View {
                    input: *input,
                    output: *output,
                },
            })
            .collect(),
        output: g.output,
    }
}

/// Gives Fill tensors read by int8 ops an int8 quantisation, and views their source's.
pub fn settle_types(g: &mut Graph) {
    let ops: Vec<Op> = g
        .steps
        .iter()
        .filter_map(|s| match s {
            Step::Op(op) => Some(op.clone()),
            _ => None,
        })
        .collect();
    for op in &ops {
        if op.kind != OpKind::Softmax && g.tensors[op.output].quant.is_some() {
            for &i in &op.inputs {
                let filled = ops.iter().any(|p| p.kind == OpKind::Fill && p.output == i);
                if filled && g.tensors[i].quant.is_none() {
                    g.tensors[i].quant = Some(ZERO_QUANT);
                }
            }
        }
    }
    for s in &g.steps {
        if let Step::View { input, output } = *s {
            g.tensors[output].quant = g.tensors[input].quant;
        }
    }
}

fn multiplier(real: f64, what: &str) -> Result<(i32, i32)> {
    quantize_multiplier(real)
        .ok_or_else(|| format!("the {what} scale ratio {real} is out of range"))
}

/// The int8 clamp of an activation for an output quantised with `q`.
fn clamp(activation: Activation, q: Quant) -> (i8, i8) {
    let at = |v: f32| ((v / q.scale).round_ties_even() as i32 + q.zero).clamp(-128, 127) as i8;
    match activation {
        Activation::None => (-128, 127),
        Activation::Relu => (at(0.0), 127),
        Activation::Relu6 => (at(0.0), at(6.0)),
        Activation::HardSwish => (-128, 127),
    }
}

fn push_i32s(c: &mut Vec<u8>, v: impl IntoIterator<Item = i32>) {
    for x in v {
        c.extend_from_slice(&x.to_le_bytes());
    }
}

fn push_f32s(c: &mut Vec<u8>, v: &[f32]) {
    for x in v {
        c.extend_from_slice(&x.to_le_bytes());
    }
}

/// The record and constants of one op.
fn op_record(g: &Graph, op: &Op, constants: &mut Vec<u8>) -> Result<OpRecord> {
    let out = &g.tensors[op.output];
    let ins: Vec<_> = op.inputs.iter().map(|&i| &g.tensors[i]).collect();
    let mixed =
        op.kind != OpKind::Softmax && ins.iter().any(|t| t.quant.is_some() != out.quant.is_some());
    if mixed {
        return Err(format!(
            "node {}: mixes int8 and f32 tensors (every input and the output of an int8 op \
             must be quantised)",
            op.node
        ));
    }
    let mut record = OpRecord {
        kind: op.kind,
        activation: op.activation,
        act_min: -128,
        act_max: 127,
        inputs: [NO_TENSOR; 2],
        output: op.output as u16,
        geometry: op.geometry,
        words: [0; 3],
    };
    for (k, &i) in op.inputs.iter().enumerate() {
        record.inputs[k] = i as u16;
    }
    let start = constants.len();
    let fail = |e: String| format!("node {}: {e}", op.node);
    match (out.quant, ins.first().and_then(|t| t.quant)) {
        (Some(qy), qx) => {
            (record.act_min, record.act_max) = clamp(op.activation, qy);
            let qx = qx.unwrap_or(ZERO_QUANT);
            let ratio = qx.scale as f64 / qy.scale as f64;
            match op.kind {
                OpKind::Conv | OpKind::Dense => {
                    let Some(OpWeights::Int8 {
                        weights,
                        scales,
                        bias,
                        bias_scales,
                    }) = &op.weights
                    else {
                        return Err(fail("an int8 op needs int8 weights".into()));
                    };
                    for (s, bs) in scales.iter().zip(bias_scales) {
                        let expected = s * qx.scale;
                        if (bs - expected).abs() > expected * 1e-4 {
                            return Err(fail(format!(
                                "the bias scale {bs} is not input scale × weight scale ({expected})"
                            )));
                        }
                    }
                    constants.extend(weights.iter().map(|&w| w as u8));
                    constants.resize(start + align_up(weights.len()), 0);
                    let mut mult = Vec::with_capacity(scales.len());
                    for &s in scales {
                        mult.push(multiplier(s as f64 * ratio, "requantisation").map_err(fail)?);
                    }
                    push_i32s(constants, bias.iter().copied());
                    push_i32s(constants, mult.iter().map(|m| m.0));
                    push_i32s(constants, mult.iter().map(|m| m.1));
                }
                OpKind::Affine => {
                    let (a, b) = op.affine.as_ref().expect("an Affine op has its parameters");
                    let mut words = Vec::with_capacity(a.len());
                    for (&a, &b) in a.iter().zip(b) {
                        let r = [a as f64 * ratio, b as f64 / qy.scale as f64];
                        words.push(quantize_multipliers(r).ok_or_else(|| {
                            fail(format!("the batch norm factors {r:?} are out of range"))
                        })?);
                    }
                    push_i32s(constants, words.iter().map(|w| w.0[0]));
                    push_i32s(constants, words.iter().map(|w| w.1));
                    push_i32s(constants, words.iter().map(|w| w.0[1]));
                }
                // The int8 hard-swish computes through floats with its tensors' scales.
                OpKind::Activation if op.activation == Activation::HardSwish => {}
                OpKind::MaxPool | OpKind::AvgPool | OpKind::GlobalAvgPool | OpKind::Activation => {
                    let (m, s) = multiplier(ratio, "requantisation").map_err(fail)?;
                    record.words = [m, s, 0];
                }
                OpKind::Add => {
                    let qb = ins[1].quant.unwrap_or(ZERO_QUANT);
                    let r = [ratio, qb.scale as f64 / qy.scale as f64];
                    let ([ma, mb], s) = quantize_multipliers(r).ok_or_else(|| {
                        fail(format!("the Add scale ratios {r:?} are out of range"))
                    })?;
                    record.words = [ma, mb, s];
                }
                OpKind::Softmax | OpKind::Fill => {}
            }
        }
        (None, _) => match op.kind {
            OpKind::Conv | OpKind::Dense => {
                let Some(OpWeights::F32 { weights, bias }) = &op.weights else {
                    return Err(fail("an f32 op needs f32 weights".into()));
                };
                push_f32s(constants, weights);
                push_f32s(constants, bias);
            }
            OpKind::Affine => {
                let (a, b) = op.affine.as_ref().expect("an Affine op has its parameters");
                push_f32s(constants, a);
                push_f32s(constants, b);
            }
            _ => {}
        },
    }
    if op.kind.has_constants() {
        record.words[0] = start as i32;
        record.words[1] = (constants.len() - start) as i32;
    }
    Ok(record)
}

/// The blob model of `g` (types settled) and its arena plan.
pub fn lower(g: &Graph) -> Result<Model> {
    if g.tensors.len() >= NO_TENSOR as usize {
        return Err(format!(
            "{} tensors are more than the device format holds",
            g.tensors.len()
        ));
    }
    let plan = planner::plan(&device_graph(g).planner_graph())
        .map_err(|e| format!("arena planner: {e}"))?;
    let mut tensors = Vec::with_capacity(g.tensors.len());
    for (i, t) in g.tensors.iter().enumerate() {
        if t.shape.is_empty() || t.shape.len() > blob::MAX_RANK {
            return Err(format!(
                "tensor {} has rank {}; the device supports 1 to 4",
                t.name,
                t.shape.len()
            ));
        }
        let mut dims = [0u16; blob::MAX_RANK];
        for (d, &s) in dims.iter_mut().zip(&t.shape) {
            *d = u16::try_from(s)
                .map_err(|_| format!("tensor {} has a dimension of {s}", t.name))?;
        }
        let q = t.quant.unwrap_or(Quant {
            scale: 1.0,
            zero: 0,
        });
        let dt = dtype(t.quant);
        tensors.push(TensorRecord {
            dtype: dt,
            rank: t.shape.len() as u8,
            dims,
            scale: q.scale,
            zero_point: q.zero,
            offset: plan.tensor_offsets[i] as u32,
            bytes: (t.shape.iter().product::<usize>() * dt.size()) as u32,
        });
    }
    let mut constants = Vec::new();
    let mut ops = Vec::new();
    for (s, scratch) in g.steps.iter().zip(&plan.scratch_offsets) {
        if let Step::Op(op) = s {
            let mut record = op_record(g, op, &mut constants)?;
            if let Some(offset) = scratch {
                record.words[2] = *offset as i32;
            }
            ops.push(record);
        }
    }
    Ok(Model {
        tensors,
        ops,
        constants,
        input: 0,
        output: g.output as u16,
        arena_bytes: plan.arena_bytes as u32,
    })
}
