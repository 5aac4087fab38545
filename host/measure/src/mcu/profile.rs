//! A model's cost op by op on a board: the instructions and cycles the QEMU plugin reports at
//! each op boundary on an emulated board, or the cycles of the DWT counter the firmware stamps
//! there on a real one, next to what each op computes.

use edgenas_engine::blob::{Blob, OpKind, OpRecord, TensorRecord};
use edgenas_engine::dtype::DType;
use serde::Serialize;

use edgenas_onnx::compile::Compiled;

/// What one op of a model cost in one inference on a board.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct OpProfile {
    /// The op's index in the compiled model (the blob's order, the order it runs in).
    pub op: usize,
    /// What it computes: `conv`, `depthwise`, `pointwise`, `dense`, `max_pool`, `avg_pool`,
    /// `global_avg_pool`, `add`, `affine`, `activation`, `softmax` or `fill`.
    pub kind: &'static str,
    /// `int8` or `f32` (its output's type).
    pub dtype: &'static str,
    /// The ONNX value it computes.
    pub output: String,
    /// Its multiply-accumulates (0 for ops without weights).
    pub macs: u64,
    /// Instructions counted from the end of the previous op (for the first op: from the start
    /// of the inference, so copying the input in is counted there); `None` on a real board,
    /// which has no instruction counter.
    pub instructions: Option<u64>,
    /// Cycles over the same span: those instructions' under the emulated core's cycle model,
    /// or the DWT counter's on a real board.
    pub cycles: f64,
}

/// The profile of `compiled` from the per-op `cycles` of one inference (one per op, in order)
/// and, on an emulated board, the per-op instruction counts `instructions`.
pub fn op_profile(
    compiled: &Compiled,
    instructions: Option<&[u64]>,
    cycles: &[f64],
) -> Vec<OpProfile> {
    let Ok(blob) = Blob::parse(&compiled.blob) else {
        return vec![];
    };
    cycles
        .iter()
        .enumerate()
        .filter_map(|(i, &op_cycles)| {
            let op = blob.op(i)?;
            let output = blob.tensor(op.output as usize)?;
            let input = blob.tensor(op.inputs[0] as usize);
            Some(OpProfile {
                op: i,
                kind: kind(&op, input.as_ref()),
                dtype: match output.dtype {
                    DType::Int8 => "int8",
                    DType::F32 => "f32",
                },
                output: compiled
                    .tensor_names
                    .get(op.output as usize)
                    .cloned()
                    .unwrap_or_default(),
                macs: macs(&op, input.as_ref(), &output),
                instructions: instructions.and_then(|n| n.get(i).copied()),
                cycles: op_cycles,
            })
        })
        .collect()
}

/// Channels of an NCHW (or NC) tensor.
fn channels(t: &TensorRecord) -> u64 {
    t.shape().get(1).map_or(1, |&c| c as u64)
}

fn kind(op: &OpRecord, input: Option<&TensorRecord>) -> &'static str {
    match op.kind {
        OpKind::Conv => {
            let groups = op.geometry.groups as u64;
            if groups > 1 && input.is_some_and(|x| channels(x) == groups) {
                "depthwise"
            } else if op.geometry.kernel == [1, 1] {
                "pointwise"
            } else {
                "conv"
            }
        }
        OpKind::Dense => "dense",
        OpKind::MaxPool => "max_pool",
        OpKind::AvgPool => "avg_pool",
        OpKind::GlobalAvgPool => "global_avg_pool",
        OpKind::Add => "add",
        OpKind::Affine => "affine",
        OpKind::Activation => "activation",
        OpKind::Softmax => "softmax",
        OpKind::Fill => "fill",
    }
}

fn macs(op: &OpRecord, input: Option<&TensorRecord>, output: &TensorRecord) -> u64 {
    let Some(input) = input else { return 0 };
    let out = output.elements() as u64;
    match op.kind {
        OpKind::Conv => {
            let [kh, kw] = op.geometry.kernel.map(u64::from);
            let groups = (op.geometry.groups as u64).max(1);
            out * (channels(input) / groups) * kh * kw
        }
        OpKind::Dense => {
            let batch = output.shape().first().map_or(1, |&n| u64::from(n.max(1)));
            out * input.elements() as u64 / batch
        }
        _ => 0,
    }
}
