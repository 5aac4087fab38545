//! Running a blob: [`Engine::new`] checks it against the caller's arena, [`Engine::run`] runs
//! every op in order without allocating.

use core::ops::Range;

use crate::DType;
use crate::blob::{Activation, Blob, OpKind, OpRecord, TensorRecord};
use crate::check::{channels_of, check, map_of, scratch_range};
use crate::error::Error;
use crate::format::align_up;
use crate::kernels::int8::{Affine, Weighted, Zeros};
use crate::kernels::{Map, f32 as kf, int8 as ki};

/// A model loaded for running: the blob (borrowed, never copied) and the caller's arena.
#[derive(Debug)]
pub struct Engine<'b, 'a> {
    blob: Blob<'b>,
    arena: &'a mut [u8],
    high_water: usize,
}

/// Where an op reads one of its inputs.
enum Src<'x> {
    /// The op has no such input.
    Absent,
    /// The input is the output's own bytes (the op runs in place).
    Output,
    /// The input lies apart from the output.
    Apart(&'x [u8]),
}

impl<'x> Src<'x> {
    /// The input's bytes, which must lie apart from the output.
    fn apart(&self) -> Result<&'x [u8], Error> {
        match self {
            Src::Apart(b) => Ok(b),
            _ => Err(Error::BadOp {
                op: usize::MAX,
                what: "reads its own output",
            }),
        }
    }
}

/// Splits `arena` into the output's bytes and the scratch's (both mutable, apart), and each
/// input (shared). [`check`] has put the scratch apart from every tensor of the op.
fn operands<'x>(
    arena: &'x mut [u8],
    out: Range<usize>,
    scratch: Range<usize>,
    inputs: [Option<Range<usize>>; 2],
) -> Result<Operands<'x>, Error> {
    let (lower, upper) = if scratch.end <= out.start {
        (scratch.clone(), out.clone())
    } else {
        (out.clone(), scratch.clone())
    };
    let (head, rest) = arena.split_at_mut(lower.start);
    let (first, rest) = rest.split_at_mut(lower.len());
    let (middle, rest) =
        rest.split_at_mut(upper.start.checked_sub(lower.end).ok_or(Error::BadOp {
            op: usize::MAX,
            what: "its scratch overlaps its output",
        })?);
    let (second, tail) = rest.split_at_mut(upper.len());
    let (output, scratch_bytes) = if lower == out {
        (first, second)
    } else {
        (second, first)
    };
    let shared: [(usize, &'x [u8]); 3] = [(0, head), (lower.end, middle), (upper.end, tail)];
    let src = |r: Option<Range<usize>>| match r {
        None => Ok(Src::Absent),
        Some(r) if r == out => Ok(Src::Output),
        Some(r) => shared
            .iter()
            .find(|(at, b)| *at <= r.start && r.end <= at + b.len())
            .map(|(at, b)| Src::Apart(&b[r.start - at..r.end - at]))
            .ok_or(Error::BadOp {
                op: usize::MAX,
                what: "an input overlaps its output or scratch",
            }),
    };
    let [a, b] = inputs;
    Ok(Operands {
        output,
        scratch: bytemuck::try_cast_slice_mut(scratch_bytes).map_err(|_| Error::Misaligned)?,
        src: [src(a)?, src(b)?],
    })
}

/// An op's view of the arena.
struct Operands<'x> {
    output: &'x mut [u8],
    scratch: &'x mut [u32],
    src: [Src<'x>; 2],
}

fn f32s(b: &[u8]) -> Result<&[f32], Error> {
    bytemuck::try_cast_slice(b).map_err(|_| Error::Misaligned)
}

fn f32s_mut(b: &mut [u8]) -> Result<&mut [f32], Error> {
    bytemuck::try_cast_slice_mut(b).map_err(|_| Error::Misaligned)
}

fn i32s(b: &[u8]) -> Result<&[i32], Error> {
    bytemuck::try_cast_slice(b).map_err(|_| Error::Misaligned)
}

fn i8s(b: &[u8]) -> &[i8] {
    bytemuck::cast_slice(b)
}

/// [`i8s`] where a fallible cast is expected.
fn i8s_ok(b: &[u8]) -> Result<&[i8], Error> {
    Ok(i8s(b))
}

fn i8s_mut(b: &mut [u8]) -> &mut [i8] {
    bytemuck::cast_slice_mut(b)
}

impl<'b, 'a> Engine<'b, 'a> {
    /// Parses and checks `blob` for `arena`; both must start on a 4-byte boundary, and the
    /// arena must hold at least the blob's planned arena size.
    pub fn new(blob: &'b [u8], arena: &'a mut [u8]) -> Result<Engine<'b, 'a>, Error> {
        if !(blob.as_ptr() as usize).is_multiple_of(4)
            || !(arena.as_ptr() as usize).is_multiple_of(4)
        {
            return Err(Error::Misaligned);
        }
        let blob = Blob::parse(blob)?;
        check(&blob, arena.len())?;
        Ok(Engine {
            blob,
            arena,
            high_water: 0,
        })
    }

    /// The parsed blob.
    pub fn blob(&self) -> &Blob<'b> {
        &self.blob
    }

    /// The model's input tensor.
    pub fn input(&self) -> TensorRecord {
        self.record(self.blob.header().input as usize)
    }

    /// The model's output tensor.
    pub fn output(&self) -> TensorRecord {
        self.record(self.blob.header().output as usize)
    }

    /// Tensor `t` (checked when the engine was built).
    pub fn record(&self, t: usize) -> TensorRecord {
        self.blob.tensor(t).unwrap_or(TensorRecord {
            dtype: DType::Int8,
            rank: 1,
            dims: [0; 4],
            scale: 1.0,
            zero_point: 0,
            offset: 0,
            bytes: 0,
        })
    }

    /// The number of ops.
    pub fn ops(&self) -> usize {
        self.blob.header().ops as usize
    }

    /// The bytes of tensor `t` in the arena (its current content).
    pub fn tensor(&self, t: usize) -> &[u8] {
        &self.arena[self.record(t).range()]
    }

    /// The bytes of tensor `t` in the arena, to write (an input, or any tensor in a test).
    pub fn tensor_mut(&mut self, t: usize) -> &mut [u8] {
        let r = self.record(t).range();
        &mut self.arena[r]
    }

    /// The end of the highest tensor any op has read or written since the engine was built,
    /// rounded up to whole 4-byte words as the planner lays tensors out: after a run, the
    /// arena the model really used.
    pub fn high_water_mark(&self) -> usize {
        self.high_water
    }

    /// Runs the model: `input` holds the input tensor's bytes (int8, or f32 little-endian),
    /// `output` receives the output tensor's.
    pub fn run(&mut self, input: &[u8], output: &mut [u8]) -> Result<(), Error> {
        self.run_observed(input, output, |_| {})
    }

    /// [`Engine::run`], calling `after_op(i)` as each op `i` finishes: the firmware marks op
    /// boundaries there, so that an emulated board can count each op's instructions.
    pub fn run_observed(
        &mut self,
        input: &[u8],
        output: &mut [u8],
        mut after_op: impl FnMut(usize),
    ) -> Result<(), Error> {
        let (i, o) = (self.input(), self.output());
        if input.len() != i.bytes as usize {
            return Err(Error::InputSize {
                expected: i.bytes as usize,
                given: input.len(),
            });
        }
        if output.len() != o.bytes as usize {
            return Err(Error::OutputSize {
                expected: o.bytes as usize,
                given: output.len(),
            });
        }
        self.arena[i.range()].copy_from_slice(input);
        self.high_water = self.high_water.max(align_up(i.range().end));
        for op in 0..self.ops() {
            self.run_op(op)?;
            after_op(op);
        }
        output.copy_from_slice(&self.arena[o.range()]);
        self.high_water = self.high_water.max(align_up(o.range().end));
        Ok(())
    }

    /// Runs op `i` alone on the arena's current content.
    pub fn run_op(&mut self, i: usize) -> Result<(), Error> {
        self.dispatch(i).map_err(|e| match e {
            Error::BadOp { what, .. } => Error::BadOp { op: i, what },
            e => e,
        })
    }

    fn dispatch(&mut self, i: usize) -> Result<(), Error> {
        let bad = |what| Error::BadOp { op: i, what };
        let op = self.blob.op(i).ok_or(bad("no such op"))?;
        let out = self.record(op.output as usize);
        let mut ins = [None; 2];
        for (k, t) in op.input_tensors().enumerate() {
            ins[k] = Some(self.record(t));
        }
        let ranges = ins.map(|t| t.map(|t| t.range()));
        let scratch = scratch_range(&op, ins[0].as_ref(), &out);
        for r in ranges.iter().flatten().chain([&out.range(), &scratch]) {
            self.high_water = self.high_water.max(align_up(r.end));
        }
        let constants = if op.kind.has_constants() {
            let section = self.blob.constant_section();
            section
                .get(op.constants())
                .ok_or(bad("constants out of range"))?
        } else {
            &[]
        };
        let Operands {
            output: dst,
            scratch,
            src,
        } = operands(self.arena, out.range(), scratch, ranges)?;
        let mut call = Call {
            op,
            constants,
            src,
            scratch,
            input: ins[0],
            out,
        };
        match (op.kind, out.dtype) {
            (OpKind::Fill, DType::Int8) => dst.fill(out.zero_point as u8),
            (OpKind::Fill, DType::F32) => dst.fill(0),
            (OpKind::Softmax, _) => {
                let y = f32s_mut(dst)?;
                match (&call.src[0], call.input) {
                    (Src::Apart(b), Some(t)) if t.dtype == DType::Int8 => {
                        ki::softmax(i8s(b), t.scale, t.zero_point, y)
                    }
                    (Src::Apart(b), _) => kf::softmax(y, Some(f32s(b)?)),
                    _ => kf::softmax(y, None),
                }
            }
            (_, DType::F32) => run_f32(&call, f32s_mut(dst)?)?,
            (_, DType::Int8) => {
                let zeros = Zeros {
                    a: call.input.map_or(0, |t| t.zero_point),
                    b: ins[1].map_or(0, |t| t.zero_point),
                    y: out.zero_point,
                };
                run_int8(&mut call, zeros, i8s_mut(dst))?
            }
        }
        Ok(())
    }
}

/// What one op reads: its record, constants, inputs and tensors.
struct Call<'x> {
    op: OpRecord,
    constants: &'x [u8],
    src: [Src<'x>; 2],
    /// The op's working memory (empty for most ops).
    scratch: &'x mut [u32],
    input: Option<TensorRecord>,
    out: TensorRecord,
}

impl<'x> Call<'x> {
    /// The input and output feature maps.
    fn maps(&self) -> Result<(Map, Map), Error> {
        let i = self.input.as_ref().and_then(map_of);
        i.zip(map_of(&self.out)).ok_or(Error::BadOp {
            op: usize::MAX,
            what: "not a feature map",
        })
    }

    /// The first input's bytes, apart from the output.
    fn x(&self) -> Result<&'x [u8], Error> {
        self.src[0].apart()
    }

    /// The channels of the output, for a per-channel op.
    fn channels(&self) -> usize {
        channels_of(&self.out).unwrap_or(1)
    }
}

/// An input that may be the output itself (in place): `None` then.
fn maybe<'x, T>(
    s: &Src<'x>,
    cast: impl Fn(&'x [u8]) -> Result<&'x [T], Error>,
) -> Result<Option<&'x [T]>, Error> {
    match s {
        Src::Apart(b) => cast(b).map(Some),
        _ => Ok(None),
    }
}

fn run_f32(c: &Call<'_>, y: &mut [f32]) -> Result<(), Error> {
    let op = &c.op;
    match op.kind {
        OpKind::Conv => {
            let (i, o) = c.maps()?;
            kf::conv(op, i, o, f32s(c.x()?)?, f32s(c.constants)?, y)
        }
        OpKind::Dense => kf::dense(op, f32s(c.x()?)?, f32s(c.constants)?, y),
        OpKind::MaxPool => {
            let (i, o) = c.maps()?;
            kf::max_pool(op, i, o, f32s(c.x()?)?, y)
        }
        OpKind::AvgPool => {
            let (i, o) = c.maps()?;
            kf::avg_pool(op, i, o, f32s(c.x()?)?, y)
        }
        OpKind::GlobalAvgPool => kf::global_avg_pool(c.maps()?.0, f32s(c.x()?)?, y),
        OpKind::Add => kf::add(op, y, maybe(&c.src[0], f32s)?, maybe(&c.src[1], f32s)?),
        OpKind::Affine => kf::affine(c.channels(), f32s(c.constants)?, y, maybe(&c.src[0], f32s)?),
        OpKind::Activation => kf::activation(op, y, maybe(&c.src[0], f32s)?),
        OpKind::Softmax | OpKind::Fill => {}
    }
    Ok(())
}

/// The int8 constants of a Conv or Dense op with `channels` output channels.
fn weighted(constants: &[u8], channels: usize) -> Result<Weighted<'_>, Error> {
    let at = constants
        .len()
        .checked_sub(12 * channels)
        .ok_or(Error::BadOp {
            op: usize::MAX,
            what: "constants too short",
        })?;
    let (w, rest) = constants.split_at(at);
    let q = i32s(rest)?;
    let (bias, rest) = q.split_at(channels);
    let (multiplier, shift) = rest.split_at(channels);
    Ok(Weighted {
        weights: i8s(w),
        weights_and_after: i8s(constants),
        bias,
        multiplier,
        shift,
    })
}

fn run_int8(c: &mut Call<'_>, z: Zeros, y: &mut [i8]) -> Result<(), Error> {
    let op = &c.op;
    match op.kind {
        OpKind::Conv => {
            let (i, o) = c.maps()?;
            let w = weighted(c.constants, o.channels)?;
            ki::conv(op, i, o, i8s(c.x()?), &w, z, c.scratch, y)
        }
        OpKind::Dense => {
            let w = weighted(c.constants, y.len())?;
            ki::dense(op, i8s(c.x()?), &w, z, c.scratch, y)
        }
        OpKind::MaxPool => {
            let (i, o) = c.maps()?;
            ki::max_pool(op, i, o, i8s(c.x()?), z, y)
        }
        OpKind::AvgPool => {
            let (i, o) = c.maps()?;
            ki::avg_pool(op, i, o, i8s(c.x()?), z, y)
        }
        OpKind::GlobalAvgPool => ki::global_avg_pool(op, c.maps()?.0, i8s(c.x()?), z, y),
        OpKind::Add => ki::add(
            op,
            z,
            y,
            maybe(&c.src[0], i8s_ok)?,
            maybe(&c.src[1], i8s_ok)?,
        ),
        OpKind::Affine => {
            let channels = c.channels();
            let q = i32s(c.constants)?;
            let (multiplier, rest) = q.split_at(channels);
            let (shift, offset) = rest.split_at(channels);
            let a = Affine {
                multiplier,
                shift,
                offset,
            };
            ki::affine(op, channels, &a, z, y, maybe(&c.src[0], i8s_ok)?)
        }
        OpKind::Activation if op.activation == Activation::HardSwish => {
            let scale = c.input.map_or(1.0, |t| t.scale);
            ki::hard_swish(scale, c.out.scale, z, y, maybe(&c.src[0], i8s_ok)?)
        }
        OpKind::Activation => ki::activation(op, z, y, maybe(&c.src[0], i8s_ok)?),
        OpKind::Softmax | OpKind::Fill => {}
    }
    Ok(())
}

#[cfg(all(test, feature = "alloc"))]
mod tests {
    use alloc::vec;
    use alloc::vec::Vec;

    use super::*;
    use crate::blob::{Activation, BlobError, Geometry, Model, NO_TENSOR, write};

    fn tensor(dtype: DType, dims: [u16; 4], rank: u8, offset: u32) -> TensorRecord {
        let elements: usize = dims[..rank as usize].iter().map(|&d| d as usize).product();
        TensorRecord {
            dtype,
            rank,
            dims,
            scale: if dtype == DType::Int8 { 0.5 } else { 1.0 },
            zero_point: 0,
            offset,
            bytes: (elements * dtype.size()) as u32,
        }
    }

    /// `y = relu(2·x − 1)` on a [1, 1, 2, 2] map: a 1×1 f32 convolution.
    fn tiny() -> Vec<u8> {
        let mut constants = Vec::new();
        for v in [2.0f32, -1.0] {
            constants.extend_from_slice(&v.to_le_bytes());
        }
        write(&Model {
            tensors: vec![
                tensor(DType::F32, [1, 1, 2, 2], 4, 0),
                tensor(DType::F32, [1, 1, 2, 2], 4, 16),
            ],
            ops: vec![OpRecord {
                kind: OpKind::Conv,
                activation: Activation::Relu,
                act_min: -128,
                act_max: 127,
                inputs: [0, NO_TENSOR],
                output: 1,
                geometry: Geometry {
                    kernel: [1, 1],
                    stride: [1, 1],
                    padding: [0, 0],
                    groups: 1,
                    count_include_pad: false,
                },
                words: [0, 8, 0],
            }],
            constants,
            input: 0,
            output: 1,
            arena_bytes: 32,
        })
    }

    fn floats(v: &[f32]) -> Vec<u8> {
        v.iter().flat_map(|x| x.to_le_bytes()).collect()
    }

    /// 4-byte aligned copies of `blob` and an arena of `arena` bytes.
    fn aligned(blob: &[u8], arena: usize) -> (Vec<u32>, Vec<u32>) {
        let mut b = vec![0u32; blob.len().div_ceil(4)];
        bytemuck::cast_slice_mut::<u32, u8>(&mut b)[..blob.len()].copy_from_slice(blob);
        (b, vec![0u32; arena.div_ceil(4)])
    }

    #[test]
    fn a_tiny_model_runs_and_reports_its_arena() {
        let blob = tiny();
        let (b, mut a) = aligned(&blob, 64);
        let b = &bytemuck::cast_slice::<u32, u8>(&b)[..blob.len()];
        let mut e = Engine::new(b, bytemuck::cast_slice_mut(&mut a)).unwrap();
        let mut out = [0u8; 16];
        e.run(&floats(&[0.0, 1.0, 2.0, -3.0]), &mut out).unwrap();
        assert_eq!(out.to_vec(), floats(&[0.0, 1.0, 3.0, 0.0]));
        assert_eq!(e.high_water_mark(), 32);
        assert_eq!(
            e.run(&[0; 3], &mut out),
            Err(Error::InputSize {
                expected: 16,
                given: 3
            })
        );
    }

    #[test]
    fn bad_blobs_and_buffers_are_errors() {
        let blob = tiny();
        let load = |bytes: &[u8], arena: usize| {
            let (b, mut a) = aligned(bytes, arena);
            let b = &bytemuck::cast_slice::<u32, u8>(&b)[..bytes.len()];
            Engine::new(b, bytemuck::cast_slice_mut(&mut a)).map(|_| ())
        };
        assert_eq!(
            load(&blob[..40], 64),
            Err(Error::Blob(BlobError::Truncated))
        );
        assert_eq!(
            load(&blob[..blob.len() - 1], 64),
            Err(Error::Blob(BlobError::Truncated))
        );
        let mut bad = blob.clone();
        bad[0] = b'X';
        assert_eq!(load(&bad, 64), Err(Error::Blob(BlobError::BadMagic)));
        let mut bad = blob.clone();
        bad[4] = 9;
        assert_eq!(
            load(&bad, 64),
            Err(Error::Blob(BlobError::UnsupportedVersion(9)))
        );
        let mut bad = blob.clone();
        *bad.last_mut().unwrap() ^= 1;
        assert_eq!(load(&bad, 64), Err(Error::Blob(BlobError::BadChecksum)));
        assert_eq!(
            load(&blob, 27),
            Err(Error::ArenaTooSmall {
                needed: 32,
                given: 28
            })
        );
        // A misaligned arena.
        let (b, mut a) = aligned(&blob, 64);
        let b = &bytemuck::cast_slice::<u32, u8>(&b)[..blob.len()];
        let arena = &mut bytemuck::cast_slice_mut::<u32, u8>(&mut a)[1..];
        assert_eq!(Engine::new(b, arena).err(), Some(Error::Misaligned));
    }

    #[test]
    fn an_output_overlapping_its_input_is_refused() {
        let mut blob = tiny();
        // Move the output tensor's offset (bytes 20..24 of its record) onto the input's bytes.
        let at = crate::format::HEADER_BYTES + crate::format::TENSOR_RECORD_BYTES + 20;
        blob[at..at + 4].copy_from_slice(&8u32.to_le_bytes());
        let crc = crate::crc32(&blob[crate::format::HEADER_BYTES..]);
        blob[32..36].copy_from_slice(&crc.to_le_bytes());
        let (b, mut a) = aligned(&blob, 64);
        let b = &bytemuck::cast_slice::<u32, u8>(&b)[..blob.len()];
        assert_eq!(
            Engine::new(b, bytemuck::cast_slice_mut(&mut a)).err(),
            Some(Error::BadOp {
                op: 0,
                what: "its output overlaps an input"
            })
        );
    }
}
