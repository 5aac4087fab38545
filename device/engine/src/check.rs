//! Validation of a parsed blob before anything runs: every tensor inside the arena, every op's
//! shapes, types, constants and parameters consistent, and every output either apart from its
//! inputs or (for an op that may) exactly on one of them. After [`check`] passes, the kernels
//! index only within their slices, so a blob from an untrusted file can produce an error but
//! never a panic or a wrong memory access.

use core::ops::Range;

use crate::DType;
use crate::blob::{Activation, Blob, NO_TENSOR, OpKind, OpRecord, TensorRecord};
use crate::error::Error;
use crate::format::{channel_affine_bytes, weighted_op_bytes};
use crate::kernels::{Map, OpShape};
use crate::requant::MAX_SHIFT;

/// The feature map of a `[1, C, H, W]` tensor.
pub(crate) fn map_of(t: &TensorRecord) -> Option<Map> {
    match t.shape() {
        &[1, c, h, w] => Some(Map {
            channels: c as usize,
            height: h as usize,
            width: w as usize,
        }),
        _ => None,
    }
}

/// The channels of a tensor for a per-channel op (dimension 1 of `[1, C, …]`).
pub(crate) fn channels_of(t: &TensorRecord) -> Option<usize> {
    match t.shape() {
        &[1, c, ..] => Some(c as usize),
        _ => None,
    }
}

/// Weight elements of a Conv or Dense op between `input` and `output`.
pub(crate) fn weight_count(op: &OpRecord, input: &TensorRecord, output: &TensorRecord) -> usize {
    match op.kind {
        OpKind::Conv => {
            let (i, o) = (map_of(input), map_of(output));
            let groups = usize::from(op.geometry.groups.max(1));
            let [kh, kw] = op.geometry.kernel.map(usize::from);
            match (i, o) {
                (Some(i), Some(o)) => o.channels * (i.channels / groups) * kh * kw,
                _ => 0,
            }
        }
        _ => input.elements() * output.elements(),
    }
}

/// The bytes of constants an op must have.
pub(crate) fn constant_bytes(op: &OpRecord, input: &TensorRecord, output: &TensorRecord) -> usize {
    match op.kind {
        OpKind::Conv | OpKind::Dense => {
            let channels = match op.kind {
                OpKind::Conv => map_of(output).map_or(0, |m| m.channels),
                _ => output.elements(),
            };
            weighted_op_bytes(output.dtype, weight_count(op, input, output), channels)
        }
        OpKind::Affine => channel_affine_bytes(output.dtype, channels_of(output).unwrap_or(0)),
        _ => 0,
    }
}

/// The arena bytes of an op's scratch ([`OpShape::scratch_bytes`]) at the offset in
/// its third word; empty for an op that needs none.
pub(crate) fn scratch_range(
    op: &OpRecord,
    input: Option<&TensorRecord>,
    output: &TensorRecord,
) -> Range<usize> {
    let flat = |t: &TensorRecord| Map {
        channels: t.elements(),
        height: 1,
        width: 1,
    };
    let bytes = match (op.kind, input) {
        (OpKind::Conv, Some(i)) => match (map_of(i), map_of(output)) {
            (Some(i), Some(o)) => OpShape::of(op, output.dtype, i, o).scratch_bytes(),
            _ => 0,
        },
        (OpKind::Dense, Some(i)) => {
            OpShape::of(op, output.dtype, flat(i), flat(output)).scratch_bytes()
        }
        _ => 0,
    };
    if bytes == 0 {
        return 0..0;
    }
    let start = op.words[2] as u32 as usize;
    start..start.saturating_add(bytes)
}

/// Checks every record of `blob` for an arena of `arena_len` bytes.
pub fn check(blob: &Blob, arena_len: usize) -> Result<(), Error> {
    let header = blob.header();
    let needed = header.arena_bytes as usize;
    if arena_len < needed {
        return Err(Error::ArenaTooSmall {
            needed,
            given: arena_len,
        });
    }
    for i in 0..header.tensors as usize {
        check_tensor(blob, i, needed)?;
    }
    for t in [header.input, header.output] {
        if t as usize >= header.tensors as usize {
            return Err(Error::BadTensor {
                tensor: t as usize,
                what: "the model's input or output tensor does not exist",
            });
        }
    }
    for i in 0..header.ops as usize {
        check_op(blob, i, needed).map_err(|what| Error::BadOp { op: i, what })?;
    }
    Ok(())
}

fn check_tensor(blob: &Blob, i: usize, arena: usize) -> Result<TensorRecord, Error> {
    let bad = |what| Error::BadTensor { tensor: i, what };
    let t = blob
        .tensor(i)
        .ok_or(bad("unknown datum type or non-zero reserved bytes"))?;
    let rank = t.rank as usize;
    if !(1..=crate::blob::MAX_RANK).contains(&rank) {
        return Err(bad("rank must be 1 to 4"));
    }
    if t.dims[..rank].contains(&0) || t.dims[rank..].iter().any(|&d| d != 0) {
        return Err(bad("dimensions in use must be positive, the others 0"));
    }
    if t.elements() * t.dtype.size() != t.bytes as usize {
        return Err(bad("its size does not match its shape"));
    }
    if !t.offset.is_multiple_of(4) || t.offset as usize + t.bytes as usize > arena {
        return Err(bad("it does not lie aligned inside the arena"));
    }
    if t.dtype == DType::Int8
        && !((-128..=127).contains(&t.zero_point) && t.scale.is_finite() && t.scale > 0.0)
    {
        return Err(bad(
            "int8 quantisation needs a positive scale and a zero point in -128..=127",
        ));
    }
    Ok(t)
}

fn shift_ok(shift: i32) -> bool {
    (0..=MAX_SHIFT).contains(&shift)
}

/// The output size of a window along one axis, if the window fits.
fn window_out(size: usize, k: u8, stride: u8, pad: u8) -> Option<usize> {
    let (k, s, p) = (k as usize, stride as usize, pad as usize);
    (k >= 1 && s >= 1 && p < k && size + 2 * p >= k).then(|| (size + 2 * p - k) / s + 1)
}

fn check_op(blob: &Blob, i: usize, arena: usize) -> Result<(), &'static str> {
    let op = blob
        .op(i)
        .ok_or("unknown kind or activation, or non-zero reserved bytes")?;
    let tensor = |t: u16| {
        blob.tensor(t as usize)
            .ok_or("names a tensor that does not exist")
    };
    let arity = match op.kind {
        OpKind::Fill => 0,
        OpKind::Add => 2,
        _ => 1,
    };
    let used = op.inputs.iter().filter(|&&t| t != NO_TENSOR).count();
    if used != arity || (arity == 1 && op.inputs[0] == NO_TENSOR) {
        return Err("wrong number of inputs");
    }
    let out = tensor(op.output)?;
    let mut ins = [None; 2];
    for (k, t) in op.input_tensors().enumerate() {
        ins[k] = Some(tensor(t as u16)?);
    }
    let int8 = out.dtype == DType::Int8;
    // Types: all the same, except a softmax, whose output is f32.
    for t in ins.iter().flatten() {
        let ok = match op.kind {
            OpKind::Softmax => out.dtype == DType::F32,
            _ => t.dtype == out.dtype,
        };
        if !ok {
            return Err("its tensors' datum types do not fit the op");
        }
    }
    let fused = matches!(
        op.kind,
        OpKind::Conv | OpKind::Dense | OpKind::Add | OpKind::Activation
    );
    if (op.activation != Activation::None && !fused)
        || (op.kind == OpKind::Activation && op.activation == Activation::None)
        || (op.kind != OpKind::Activation && op.activation == Activation::HardSwish)
    {
        return Err("an activation where the op has none, or none where it must");
    }
    if int8 && op.act_min > op.act_max {
        return Err("the int8 clamp is empty");
    }
    // Outputs apart from inputs, or exactly on one where the op may run in place.
    for t in ins.iter().flatten() {
        let (a, b) = (t.range(), out.range());
        let same = a == b;
        let apart = a.end <= b.start || b.end <= a.start || a.is_empty() || b.is_empty();
        if !(apart || same && op.kind.in_place()) {
            return Err("its output overlaps an input");
        }
    }
    check_shapes(&op, ins, &out)?;
    // Scratch: aligned, inside the arena, apart from the op's tensors.
    let scratch = scratch_range(&op, ins[0].as_ref(), &out);
    if !scratch.is_empty() {
        let apart = |t: &TensorRecord| {
            let r = t.range();
            r.is_empty() || r.end <= scratch.start || scratch.end <= r.start
        };
        if !scratch.start.is_multiple_of(4)
            || scratch.end > arena
            || !ins.iter().flatten().chain([&out]).all(apart)
        {
            return Err("its scratch does not lie aligned in the arena apart from its tensors");
        }
    }
    if op.kind.has_constants() {
        check_constants(blob, &op, ins[0].as_ref().ok_or("no input")?, &out)?;
    }
    let requantises = matches!(
        op.kind,
        OpKind::MaxPool | OpKind::AvgPool | OpKind::GlobalAvgPool | OpKind::Activation
    );
    // An int8 hard-swish goes through floats with its tensors' scales: no requantisation.
    let requantises = requantises && op.activation != Activation::HardSwish;
    if int8 && requantises && !shift_ok(op.words[1]) {
        return Err("requantisation shift out of range");
    }
    if int8 && op.kind == OpKind::Add && !shift_ok(op.words[2]) {
        return Err("requantisation shift out of range");
    }
    Ok(())
}

fn check_shapes(
    op: &OpRecord,
    ins: [Option<TensorRecord>; 2],
    out: &TensorRecord,
) -> Result<(), &'static str> {
    let input = ins[0];
    let g = op.geometry;
    match op.kind {
        OpKind::Conv | OpKind::MaxPool | OpKind::AvgPool => {
            let i = input
                .as_ref()
                .and_then(map_of)
                .ok_or("input is not a [1, C, H, W] map")?;
            let o = map_of(out).ok_or("output is not a [1, C, H, W] map")?;
            let oh = window_out(i.height, g.kernel[0], g.stride[0], g.padding[0]);
            let ow = window_out(i.width, g.kernel[1], g.stride[1], g.padding[1]);
            if oh != Some(o.height) || ow != Some(o.width) {
                return Err("the window does not give the output's height and width");
            }
            let groups = usize::from(g.groups);
            let channels_ok = match op.kind {
                OpKind::Conv => groups >= 1 && i.channels % groups == 0 && o.channels % groups == 0,
                _ => i.channels == o.channels,
            };
            if !channels_ok {
                return Err("channels do not fit the groups");
            }
        }
        OpKind::GlobalAvgPool => {
            let i = input
                .as_ref()
                .and_then(map_of)
                .ok_or("input is not a [1, C, H, W] map")?;
            let o = map_of(out).ok_or("output is not a [1, C, 1, 1] map")?;
            if o.channels != i.channels || o.plane() != 1 {
                return Err("output is not [1, C, 1, 1]");
            }
        }
        OpKind::Dense => {
            let i = input.ok_or("no input")?;
            if i.shape().first() != Some(&1) || out.shape().len() != 2 || out.shape()[0] != 1 {
                return Err("a dense layer maps [1, …] to [1, N]");
            }
        }
        OpKind::Add | OpKind::Affine | OpKind::Activation => {
            for t in ins.iter().flatten() {
                if t.shape() != out.shape() {
                    return Err("input and output shapes differ");
                }
            }
            if op.kind == OpKind::Affine && channels_of(out).is_none() {
                return Err("a per-channel op needs a [1, C, …] tensor");
            }
        }
        OpKind::Softmax => {
            if input.ok_or("no input")?.elements() != out.elements() {
                return Err("input and output sizes differ");
            }
        }
        OpKind::Fill => {}
    }
    Ok(())
}

fn check_constants(
    blob: &Blob,
    op: &OpRecord,
    input: &TensorRecord,
    out: &TensorRecord,
) -> Result<(), &'static str> {
    let section = blob.constant_section();
    let range = op.constants();
    if !range.start.is_multiple_of(4) || range.end > section.len() {
        return Err("its constants lie outside the constant section or are misaligned");
    }
    if range.len() != constant_bytes(op, input, out) {
        return Err("its constants do not have the size its shapes need");
    }
    if out.dtype == DType::Int8 {
        let data = &section[range];
        // Shifts: the second int32 per channel of an Affine, the third of a Conv or Dense.
        let (channels, at) = match op.kind {
            OpKind::Affine => {
                let c = channels_of(out).unwrap_or(0);
                (c, 4 * c)
            }
            _ => {
                let c = (data.len() - crate::format::align_up(weight_count(op, input, out))) / 12;
                (c, data.len() - 4 * c)
            }
        };
        let shifts = &data[at..at + 4 * channels];
        if shifts
            .chunks_exact(4)
            .any(|s| !shift_ok(i32::from_le_bytes([s[0], s[1], s[2], s[3]])))
        {
            return Err("requantisation shift out of range");
        }
    }
    Ok(())
}
