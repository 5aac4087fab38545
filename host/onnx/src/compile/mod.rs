//! The device compiler: an exported ONNX file (f32, or int8 QDQ) to a device blob.
//!
//! The input is the ONNX file, not the IR, so that what runs on a board is what the user
//! deploys, and a user's own ONNX model can be compiled too (DESIGN.md). [`graph`] reads the
//! ONNX nodes into device steps; [`lower`] settles datum types, plans the arena with the
//! engine's planner, and writes records and constants; the engine's writer makes the bytes.
//! Unsupported ops and attributes are errors that name the op and the node.

pub(crate) mod graph;
pub(crate) mod lower;
pub(crate) mod onnx;

use edgenas_engine::front_end::{FrontEnd, FrontEndError};
use edgenas_engine::{DType, Engine, Error as EngineError, blob};
use onnx_protobuf::{Message, ModelProto};

/// A compiled model.
#[derive(Clone, Debug)]
pub struct Compiled {
    /// The blob's bytes.
    pub blob: Vec<u8>,
    /// The ONNX value each blob tensor holds (by tensor index): the DequantizeLinear output of
    /// an int8 tensor, the node output of an f32 one. Tests observe these in tract.
    pub tensor_names: Vec<String>,
    /// The arena the blob needs, in bytes.
    pub arena_bytes: usize,
}

/// Why an ONNX model cannot be compiled; each names the model (`what`, a file name).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CompileError {
    /// The bytes are not an ONNX protobuf.
    #[error("{what}: not an ONNX model: {message}")]
    NotOnnx {
        /// The model.
        what: String,
        /// The protobuf decoder's words.
        message: String,
    },
    /// An op, attribute or datum type the device engine does not run (naming the node).
    #[error("{what}: {message}")]
    Unsupported {
        /// The model.
        what: String,
        /// The node and what about it is unsupported.
        message: String,
    },
    /// More ops than the blob's 16-bit op indices hold.
    #[error("{what}: {ops} ops are more than the device format holds")]
    TooManyOps {
        /// The model.
        what: String,
        /// Its ops.
        ops: usize,
    },
}

/// Compiles the ONNX model in `bytes`; `what` (a file name) names it in errors.
pub fn compile(bytes: &[u8], what: &str) -> Result<Compiled, CompileError> {
    let unsupported = |message: String| CompileError::Unsupported {
        what: what.into(),
        message,
    };
    let model = ModelProto::parse_from_bytes(bytes).map_err(|e| CompileError::NotOnnx {
        what: what.into(),
        message: e.to_string(),
    })?;
    let mut g = graph::read(&model).map_err(unsupported)?;
    lower::settle_types(&mut g);
    let m = lower::lower(&g).map_err(unsupported)?;
    if m.ops.len() >= u16::MAX as usize {
        return Err(CompileError::TooManyOps {
            what: what.into(),
            ops: m.ops.len(),
        });
    }
    Ok(Compiled {
        blob: blob::write(&m),
        tensor_names: g.tensors.into_iter().map(|t| t.name).collect(),
        arena_bytes: m.arena_bytes as usize,
    })
}

/// Bytes copied into 4-byte aligned memory, as the engine reads blobs in place.
struct Aligned {
    words: Vec<u32>,
    len: usize,
}

impl Aligned {
    fn new(bytes: &[u8]) -> Aligned {
        let mut words = vec![0u32; bytes.len().div_ceil(4)];
        bytemuck::cast_slice_mut::<u32, u8>(&mut words)[..bytes.len()].copy_from_slice(bytes);
        Aligned {
            words,
            len: bytes.len(),
        }
    }

    fn bytes(&self) -> &[u8] {
        &bytemuck::cast_slice::<u32, u8>(&self.words)[..self.len]
    }
}

/// The largest arena a [`HostEngine`] allocates (1 GiB).
pub const MAX_HOST_ARENA_BYTES: usize = 1 << 30;

/// A blob and an arena on the host, both 4-byte aligned as the engine requires.
pub struct HostEngine {
    blob: Aligned,
    arena: Vec<u32>,
}

impl HostEngine {
    /// Copies `blob` into aligned memory and allocates the arena it asks for — at most
    /// [`MAX_HOST_ARENA_BYTES`]: a blob asking for more (a corrupt or hostile file; no
    /// microcontroller model comes near) is refused before anything is allocated.
    pub fn new(blob: &[u8]) -> Result<HostEngine, EngineError> {
        let parsed = blob::Blob::parse(blob)?;
        let needed = parsed.header().arena_bytes as usize;
        if needed > MAX_HOST_ARENA_BYTES {
            return Err(EngineError::ArenaTooSmall {
                needed,
                given: MAX_HOST_ARENA_BYTES,
            });
        }
        let arena = vec![0u32; needed.div_ceil(4)];
        Ok(HostEngine {
            blob: Aligned::new(blob),
            arena,
        })
    }

    /// An engine over the blob and the arena.
    pub fn engine(&mut self) -> Result<Engine<'_, '_>, EngineError> {
        Engine::new(self.blob.bytes(), bytemuck::cast_slice_mut(&mut self.arena))
    }

    /// Runs one sample given as the input tensor's bytes and returns the output as floats
    /// (dequantised when it is int8).
    pub fn run_bytes(&mut self, input: &[u8]) -> Result<Vec<f32>, EngineError> {
        let mut e = self.engine()?;
        let mut y = vec![0u8; e.output().bytes as usize];
        e.run(input, &mut y)?;
        Ok(from_bytes(&e.output(), &y))
    }

    /// Runs one sample given as floats (quantised with the input's parameters, rounding half to
    /// even as ONNX's QuantizeLinear does, when the input is int8), and returns the output as
    /// floats (dequantised when it is int8) with the arena's high-water mark.
    pub fn run_f32(&mut self, input: &[f32]) -> Result<(Vec<f32>, usize), EngineError> {
        let mut e = self.engine()?;
        let x = to_bytes(&e.input(), input);
        let mut y = vec![0u8; e.output().bytes as usize];
        e.run(&x, &mut y)?;
        Ok((from_bytes(&e.output(), &y), e.high_water_mark()))
    }
}

/// A front-end blob on the host, in aligned memory, with its scratch buffer.
pub struct HostFrontEnd {
    blob: Aligned,
    scratch: Vec<i32>,
    clip_samples: usize,
    output_bytes: usize,
}

impl HostFrontEnd {
    /// Copies and checks a front-end blob (`edgenas_engine::front_end`).
    pub fn new(blob: &[u8]) -> Result<HostFrontEnd, FrontEndError> {
        let aligned = Aligned::new(blob);
        let fe = FrontEnd::new(aligned.bytes())?;
        let (scratch, clip_samples, output_bytes) = (
            vec![0; fe.scratch_words()],
            fe.clip_samples(),
            fe.output_bytes(),
        );
        Ok(HostFrontEnd {
            blob: aligned,
            scratch,
            clip_samples,
            output_bytes,
        })
    }

    /// Samples of a clip it reads.
    pub fn clip_samples(&self) -> usize {
        self.clip_samples
    }

    /// 32-bit words of scratch a run needs on the device.
    pub fn scratch_words(&self) -> usize {
        self.scratch.len()
    }

    /// Bytes of the network input it writes.
    pub fn output_bytes(&self) -> usize {
        self.output_bytes
    }

    /// The network input for `clip`, as the device computes it (int8 or f32 bytes).
    pub fn run(&mut self, clip: &[i16]) -> Result<Vec<u8>, FrontEndError> {
        let fe = FrontEnd::new(self.blob.bytes())?;
        let mut out = vec![0u8; self.output_bytes];
        fe.run(clip, &mut self.scratch, &mut out)?;
        Ok(out)
    }
}

/// The input tensor of a device blob: its datum type and, for int8, scale and zero point.
pub fn input_record(blob: &[u8]) -> Result<blob::TensorRecord, EngineError> {
    let parsed = blob::Blob::parse(blob)?;
    let input = parsed.header().input as usize;
    parsed.tensor(input).ok_or(EngineError::BadTensor {
        tensor: input,
        what: "the blob's input tensor is missing",
    })
}

/// The bytes of tensor `t` holding the float values `v` (quantised if `t` is int8).
pub fn to_bytes(t: &blob::TensorRecord, v: &[f32]) -> Vec<u8> {
    match t.dtype {
        DType::F32 => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        DType::Int8 => v
            .iter()
            .map(|&x| {
                ((x / t.scale).round_ties_even() as i32 + t.zero_point).clamp(-128, 127) as i8 as u8
            })
            .collect(),
    }
}

/// The float values of tensor `t`'s bytes (dequantised if `t` is int8).
pub fn from_bytes(t: &blob::TensorRecord, b: &[u8]) -> Vec<f32> {
    match t.dtype {
        DType::F32 => b
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect(),
        DType::Int8 => b
            .iter()
            .map(|&q| (q as i8 as i32 - t.zero_point) as f32 * t.scale)
            .collect(),
    }
}
