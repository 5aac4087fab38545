//! The device model format ("blob"): reading it without copying, and (with `alloc`) writing it.
//!
//! A blob is a 64-byte header, one 32-byte record per tensor, one 32-byte record per op, and
//! the constant data. Everything is little-endian; `docs/blob.md` gives the layout byte by
//! byte. [`Blob::parse`] checks the header, the sizes and the checksum, and decodes records on
//! demand from the borrowed bytes; whether the ops make sense together is checked by
//! [`crate::check`] when an [`crate::Engine`] is built.

use core::fmt;
use core::ops::Range;

use crate::DType;
use crate::crc::crc32;
use crate::format::{HEADER_BYTES, OP_RECORD_BYTES, TENSOR_RECORD_BYTES};

/// The first four bytes of every blob.
pub const MAGIC: [u8; 4] = *b"EDGN";
/// The format version this crate reads and writes.
pub const VERSION: u16 = 6;
/// The tensor index that stands for "no tensor" in an op record.
pub const NO_TENSOR: u16 = u16::MAX;
/// The most dimensions a tensor has.
pub const MAX_RANK: usize = 4;

/// Why bytes are not a blob this crate can read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlobError {
    /// Fewer bytes than the header, or than the header says.
    Truncated,
    /// The magic bytes are not `EDGN`.
    BadMagic,
    /// A format version this crate does not read.
    UnsupportedVersion(u16),
    /// Header flags or reserved bytes that this version does not know.
    UnknownFlags,
    /// The header's sizes do not add up.
    BadLayout,
    /// The checksum of the body does not match the header.
    BadChecksum,
}

impl fmt::Display for BlobError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BlobError::Truncated => write!(f, "the blob is truncated"),
            BlobError::BadMagic => write!(f, "not an edgenas device model (bad magic)"),
            BlobError::UnsupportedVersion(v) => {
                write!(
                    f,
                    "blob format version {v} is not supported (this engine reads {VERSION})"
                )
            }
            BlobError::UnknownFlags => write!(f, "the blob uses flags this engine does not know"),
            BlobError::BadLayout => write!(f, "the blob's header sizes do not add up"),
            BlobError::BadChecksum => write!(f, "the blob's checksum does not match its content"),
        }
    }
}

impl core::error::Error for BlobError {}

/// What an op computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum OpKind {
    /// 2-D convolution with groups (depthwise when groups = channels), bias, fused activation.
    Conv = 0,
    /// Fully connected layer with bias and fused activation.
    Dense = 1,
    /// Max pooling (padding never wins).
    MaxPool = 2,
    /// Average pooling, with or without the padding in the count.
    AvgPool = 3,
    /// Mean over each channel's spatial positions.
    GlobalAvgPool = 4,
    /// Element-wise sum of two tensors.
    Add = 5,
    /// Per-channel `a·x + b` (a batch norm that follows no weighted op).
    Affine = 6,
    /// A ReLU or ReLU6 of its own.
    Activation = 7,
    /// Softmax over the last axis; its output is always f32.
    Softmax = 8,
    /// Fills its output with zeros (a constant zero tensor).
    Fill = 9,
}

impl OpKind {
    /// Every kind, in code order.
    pub const ALL: [OpKind; 10] = [
        OpKind::Conv,
        OpKind::Dense,
        OpKind::MaxPool,
        OpKind::AvgPool,
        OpKind::GlobalAvgPool,
        OpKind::Add,
        OpKind::Affine,
        OpKind::Activation,
        OpKind::Softmax,
        OpKind::Fill,
    ];

    fn from_code(code: u8) -> Option<OpKind> {
        OpKind::ALL.get(code as usize).copied()
    }

    /// Whether the op carries constant data (weights, biases, requantisation).
    pub const fn has_constants(self) -> bool {
        matches!(self, OpKind::Conv | OpKind::Dense | OpKind::Affine)
    }

    /// Whether the op may write its output over an input (the planner's `Reuse::InPlace`).
    pub const fn in_place(self) -> bool {
        matches!(
            self,
            OpKind::Add | OpKind::Affine | OpKind::Activation | OpKind::Softmax
        )
    }
}

/// The activation fused into an op (or computed by an `Activation` op).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Activation {
    /// None.
    None = 0,
    /// `max(x, 0)`.
    Relu = 1,
    /// `min(max(x, 0), 6)`.
    Relu6 = 2,
    /// Hard-swish, `x · min(max(x + 3, 0), 6) / 6` (MobileNetV3): only as an `Activation` op of
    /// its own, never fused (an int8 clamp cannot express it).
    HardSwish = 3,
}

impl Activation {
    fn from_code(code: u8) -> Option<Activation> {
        [
            Activation::None,
            Activation::Relu,
            Activation::Relu6,
            Activation::HardSwish,
        ]
        .get(code as usize)
        .copied()
    }
}

/// Window and grouping of a convolution or pooling op.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Geometry {
    /// Kernel height and width.
    pub kernel: [u8; 2],
    /// Stride along height and width.
    pub stride: [u8; 2],
    /// Padding on each side along height and width (the same before and after).
    pub padding: [u8; 2],
    /// Groups of a convolution (1 for the others).
    pub groups: u16,
    /// Average pooling counts the padding in its divisor.
    pub count_include_pad: bool,
}

/// One tensor: its shape, datum type, quantisation and place in the arena.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TensorRecord {
    /// Element type.
    pub dtype: DType,
    /// Number of dimensions (1 to [`MAX_RANK`]).
    pub rank: u8,
    /// The dimensions; those past `rank` are 0.
    pub dims: [u16; MAX_RANK],
    /// `real = scale × (q − zero_point)` for int8 (1 and 0 for f32).
    pub scale: f32,
    /// The int8 value that stands for 0.
    pub zero_point: i32,
    /// Offset in the arena.
    pub offset: u32,
    /// Size in bytes (elements × element size).
    pub bytes: u32,
}

impl TensorRecord {
    /// The dimensions in use.
    pub fn shape(&self) -> &[u16] {
        &self.dims[..(self.rank as usize).min(MAX_RANK)]
    }

    /// The number of elements.
    pub fn elements(&self) -> usize {
        self.shape().iter().map(|&d| d as usize).product()
    }

    /// The bytes of the arena it occupies.
    pub fn range(&self) -> Range<usize> {
        self.offset as usize..self.offset as usize + self.bytes as usize
    }
}

/// One op: what it computes, on which tensors, with which parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpRecord {
    /// What it computes.
    pub kind: OpKind,
    /// Fused activation.
    pub activation: Activation,
    /// int8 ops: the output is clamped to `act_min..=act_max` (the fused activation in the
    /// output's quantisation; −128 and 127 without one).
    pub act_min: i8,
    /// See `act_min`.
    pub act_max: i8,
    /// Input tensors ([`NO_TENSOR`] where unused).
    pub inputs: [u16; 2],
    /// Output tensor.
    pub output: u16,
    /// Window and groups.
    pub geometry: Geometry,
    /// Kind-specific words: for Conv, Dense and Affine the constants' offset (from the start of
    /// the constant section) and size in bytes; for int8 pools and activations a requantisation
    /// multiplier and shift; for an int8 Add the two inputs' multipliers and the shared shift.
    pub words: [i32; 3],
}

impl OpRecord {
    /// The inputs that are in use.
    pub fn input_tensors(&self) -> impl Iterator<Item = usize> + '_ {
        self.inputs
            .iter()
            .filter(|&&t| t != NO_TENSOR)
            .map(|&t| t as usize)
    }

    /// The constants' byte range in the constant section (Conv, Dense, Affine).
    pub fn constants(&self) -> Range<usize> {
        let start = self.words[0] as u32 as usize;
        start..start.saturating_add(self.words[1] as u32 as usize)
    }
}

/// The header fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// Total size of the blob in bytes.
    pub total_bytes: u32,
    /// Number of tensor records.
    pub tensors: u16,
    /// Number of op records.
    pub ops: u16,
    /// The model input's tensor.
    pub input: u16,
    /// The model output's tensor.
    pub output: u16,
    /// Bytes of arena the model needs.
    pub arena_bytes: u32,
    /// Offset of the constant section from the start of the blob.
    pub constants_offset: u32,
    /// Size of the constant section.
    pub constants_bytes: u32,
}

/// A parsed blob: the header, and records decoded on demand from the borrowed bytes.
#[derive(Clone, Copy, Debug)]
pub struct Blob<'a> {
    bytes: &'a [u8],
    header: Header,
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

impl<'a> Blob<'a> {
    /// Checks the header, the layout and the checksum of `bytes`.
    pub fn parse(bytes: &'a [u8]) -> Result<Blob<'a>, BlobError> {
        if bytes.len() < HEADER_BYTES {
            return Err(BlobError::Truncated);
        }
        if bytes[..4] != MAGIC {
            return Err(BlobError::BadMagic);
        }
        let version = u16_at(bytes, 4);
        if version != VERSION {
            return Err(BlobError::UnsupportedVersion(version));
        }
        if u16_at(bytes, 6) != 0 || bytes[36..HEADER_BYTES].iter().any(|&b| b != 0) {
            return Err(BlobError::UnknownFlags);
        }
        let header = Header {
            total_bytes: u32_at(bytes, 8),
            tensors: u16_at(bytes, 12),
            ops: u16_at(bytes, 14),
            input: u16_at(bytes, 16),
            output: u16_at(bytes, 18),
            arena_bytes: u32_at(bytes, 20),
            constants_offset: u32_at(bytes, 24),
            constants_bytes: u32_at(bytes, 28),
        };
        let total = header.total_bytes as usize;
        if bytes.len() < total {
            return Err(BlobError::Truncated);
        }
        let records = HEADER_BYTES
            + header.tensors as usize * TENSOR_RECORD_BYTES
            + header.ops as usize * OP_RECORD_BYTES;
        if header.constants_offset as usize != records
            || records + header.constants_bytes as usize != total
        {
            return Err(BlobError::BadLayout);
        }
        let bytes = &bytes[..total];
        if crc32(&bytes[HEADER_BYTES..]) != u32_at(bytes, 32) {
            return Err(BlobError::BadChecksum);
        }
        Ok(Blob { bytes, header })
    }

    /// The header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The blob's bytes.
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The constant section.
    pub fn constant_section(&self) -> &'a [u8] {
        &self.bytes[self.header.constants_offset as usize..]
    }

    /// Tensor `i`, or `None` when it is not a valid tensor record.
    pub fn tensor(&self, i: usize) -> Option<TensorRecord> {
        if i >= self.header.tensors as usize {
            return None;
        }
        let b = &self.bytes[HEADER_BYTES + i * TENSOR_RECORD_BYTES..][..TENSOR_RECORD_BYTES];
        let dtype = match b[0] {
            0 => DType::Int8,
            1 => DType::F32,
            _ => return None,
        };
        if b[2] != 0 || b[3] != 0 || u32_at(b, 28) != 0 {
            return None;
        }
        let dims = [u16_at(b, 4), u16_at(b, 6), u16_at(b, 8), u16_at(b, 10)];
        Some(TensorRecord {
            dtype,
            rank: b[1],
            dims,
            scale: f32::from_le_bytes([b[12], b[13], b[14], b[15]]),
            zero_point: u32_at(b, 16) as i32,
            offset: u32_at(b, 20),
            bytes: u32_at(b, 24),
        })
    }

    /// Op `i`, or `None` when it is not a valid op record.
    pub fn op(&self, i: usize) -> Option<OpRecord> {
        if i >= self.header.ops as usize {
            return None;
        }
        let at = HEADER_BYTES + self.header.tensors as usize * TENSOR_RECORD_BYTES;
        let b = &self.bytes[at + i * OP_RECORD_BYTES..][..OP_RECORD_BYTES];
        if b[18] > 1 || b[19] != 0 {
            return None;
        }
        Some(OpRecord {
            kind: OpKind::from_code(b[0])?,
            activation: Activation::from_code(b[1])?,
            act_min: b[2] as i8,
            act_max: b[3] as i8,
            inputs: [u16_at(b, 4), u16_at(b, 6)],
            output: u16_at(b, 8),
            geometry: Geometry {
                groups: u16_at(b, 10),
                kernel: [b[12], b[13]],
                stride: [b[14], b[15]],
                padding: [b[16], b[17]],
                count_include_pad: b[18] == 1,
            },
            words: [
                u32_at(b, 20) as i32,
                u32_at(b, 24) as i32,
                u32_at(b, 28) as i32,
            ],
        })
    }
}

#[cfg(feature = "alloc")]
pub use writer::{Model, write};

#[cfg(feature = "alloc")]
mod writer {
    use alloc::vec::Vec;

    use super::*;

    /// A device model to serialise: records, constants, and the header's figures.
    #[derive(Clone, Debug, Default, PartialEq)]
    pub struct Model {
        /// Tensor records, indexed by tensor id.
        pub tensors: Vec<TensorRecord>,
        /// Op records in execution order.
        pub ops: Vec<OpRecord>,
        /// The constant section (each op's constants 4-byte aligned).
        pub constants: Vec<u8>,
        /// The input tensor.
        pub input: u16,
        /// The output tensor.
        pub output: u16,
        /// Bytes of arena the model needs.
        pub arena_bytes: u32,
    }

    /// The bytes of `model` as a blob (header with its checksum, records, constants).
    pub fn write(model: &Model) -> Vec<u8> {
        let mut b = Vec::with_capacity(crate::format::model_bytes(
            model.tensors.len(),
            model.ops.len(),
            model.constants.len(),
        ));
        let records = HEADER_BYTES
            + model.tensors.len() * TENSOR_RECORD_BYTES
            + model.ops.len() * OP_RECORD_BYTES;
        let total = records + model.constants.len();
        b.extend_from_slice(&MAGIC);
        b.extend_from_slice(&VERSION.to_le_bytes());
        b.extend_from_slice(&0u16.to_le_bytes());
        b.extend_from_slice(&(total as u32).to_le_bytes());
        b.extend_from_slice(&(model.tensors.len() as u16).to_le_bytes());
        b.extend_from_slice(&(model.ops.len() as u16).to_le_bytes());
        b.extend_from_slice(&model.input.to_le_bytes());
        b.extend_from_slice(&model.output.to_le_bytes());
        b.extend_from_slice(&model.arena_bytes.to_le_bytes());
        b.extend_from_slice(&(records as u32).to_le_bytes());
        b.extend_from_slice(&(model.constants.len() as u32).to_le_bytes());
        b.resize(HEADER_BYTES, 0); // the checksum (at 32) is filled in below
        for t in &model.tensors {
            b.push(match t.dtype {
                DType::Int8 => 0,
                DType::F32 => 1,
            });
            b.extend_from_slice(&[t.rank, 0, 0]);
            for d in t.dims {
                b.extend_from_slice(&d.to_le_bytes());
            }
            b.extend_from_slice(&t.scale.to_le_bytes());
            b.extend_from_slice(&t.zero_point.to_le_bytes());
            b.extend_from_slice(&t.offset.to_le_bytes());
            b.extend_from_slice(&t.bytes.to_le_bytes());
            b.extend_from_slice(&[0; 4]);
        }
        for op in &model.ops {
            let g = op.geometry;
            b.extend_from_slice(&[
                op.kind as u8,
                op.activation as u8,
                op.act_min as u8,
                op.act_max as u8,
            ]);
            for t in [op.inputs[0], op.inputs[1], op.output, g.groups] {
                b.extend_from_slice(&t.to_le_bytes());
            }
            b.extend_from_slice(&[
                g.kernel[0],
                g.kernel[1],
                g.stride[0],
                g.stride[1],
                g.padding[0],
                g.padding[1],
                g.count_include_pad as u8,
                0,
            ]);
            for w in op.words {
                b.extend_from_slice(&w.to_le_bytes());
            }
        }
        b.extend_from_slice(&model.constants);
        let crc = crc32(&b[HEADER_BYTES..]);
        b[32..36].copy_from_slice(&crc.to_le_bytes());
        b
    }
}
