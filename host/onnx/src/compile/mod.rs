//! The device compiler: an exported ONNX file (f32, or int8 QDQ) to a device blob.
//!
//! The input is the ONNX file, not the IR, so that what runs on a board is what the user
//! deploys, and a user's own ONNX model can be compiled too (DESIGN.md). [`graph`] reads the
//! ONNX nodes into device steps; [`lower`] settles datum types, plans the arena with the
//! engine's planner, and writes records and constants; the engine's writer makes the bytes.
//! Unsupported ops and attributes are errors that name the op and the node.

pub mod graph;
pub mod lower;
mod onnx;

use edgenas_engine::front_end::FrontEnd;
use edgenas_engine::{DType, Engine, blob};
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

/// Compiles the ONNX model in `bytes`; `what` (a file name) names it in errors.
pub fn compile(bytes: &[u8], what: &str) -> Result<Compiled, String> {
    let model = ModelProto::parse_from_bytes(bytes)
        .map_err(|e| format!("{what}: not an ONNX model: {e}"))?;
    let mut g = graph::read(&model).map_err(|e| format!("{what}: {e}"))?;
    lower::settle_types(&mut g);
    let m = lower::lower(&g).map_err(|e| format!("{what}: {e}"))?;
    if m.ops.len() >= u16::MAX as usize {
        return Err(format!(
            "{what}: {} ops are more than the device format holds",
            m.ops.len()
        ));
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

/// A blob and an arena on the host, both 4-byte aligned as the engine requires.
pub struct HostEngine {
    blob: Aligned,
    arena: Vec<u32>,
}

impl HostEngine {
    /// Copies `blob` into aligned memory and allocates the arena it asks for.
    pub fn new(blob: &[u8]) -> Result<HostEngine, String> {
        let parsed = blob::Blob::parse(blob).map_err(|e| e.to_string())?;
        let arena = vec![0u32; (parsed.header().arena_bytes as usize).div_ceil(4)];
        Ok(HostEngine {
            blob: Aligned::new(blob),
            arena,
        })
    }

    /// An engine over the blob and the arena.
    pub fn engine(&mut self) -> Result<Engine<'_, '_>, String> {
        Engine::new(self.blob.bytes(), bytemuck::cast_slice_mut(&mut self.arena))
            .map_err(|e| e.to_string())
    }

    /// Runs one sample given as the input tensor's bytes and returns the output as floats
    /// (dequantised when it is int8).
    pub fn run_bytes(&mut self, input: &[u8]) -> Result<Vec<f32>, String> {
        let mut e = self.engine()?;
        let mut y = vec![0u8; e.output().bytes as usize];
        e.run(input, &mut y).map_err(|e| e.to_string())?;
        Ok(from_bytes(&e.output(), &y))
    }

    /// Runs one sample given as floats (quantised with the input's parameters, rounding half to
    /// even as ONNX's QuantizeLinear does, when the input is int8), and returns the output as
    /// floats (dequantised when it is int8) with the arena's high-water mark.
    pub fn run_f32(&mut self, input: &[f32]) -> Result<(Vec<f32>, usize), String> {
        let mut e = self.engine()?;
        let x = to_bytes(&e.input(), input);
        let mut y = vec![0u8; e.output().bytes as usize];
        e.run(&x, &mut y).map_err(|e| e.to_string())?;
        Ok((from_bytes(&e.output(), &y), e.high_water_mark()))
    }
}

/// A front-end blob on the host, in aligned memory, with its scratch buffer.
pub struct HostFrontEnd {
    blob: Aligned,
    scratch: Vec<i32>,
}

impl HostFrontEnd {
    /// Copies and checks a front-end blob (`edgenas_engine::front_end`).
    pub fn new(blob: &[u8]) -> Result<HostFrontEnd, String> {
        let mut fe = HostFrontEnd {
            blob: Aligned::new(blob),
            scratch: Vec::new(),
        };
        let needed = fe.front_end()?.scratch_words();
        fe.scratch = vec![0; needed];
        Ok(fe)
    }

    fn front_end(&self) -> Result<FrontEnd<'_>, String> {
        FrontEnd::new(self.blob.bytes()).map_err(|e| e.to_string())
    }

    /// Samples of a clip it reads.
    pub fn clip_samples(&self) -> Result<usize, String> {
        Ok(self.front_end()?.clip_samples())
    }

    /// 32-bit words of scratch a run needs on the device.
    pub fn scratch_words(&self) -> Result<usize, String> {
        Ok(self.front_end()?.scratch_words())
    }

    /// Bytes of the network input it writes.
    pub fn output_bytes(&self) -> Result<usize, String> {
        Ok(self.front_end()?.output_bytes())
    }

    /// The network input for `clip`, as the device computes it (int8 or f32 bytes).
    pub fn run(&mut self, clip: &[i16]) -> Result<Vec<u8>, String> {
        let fe = FrontEnd::new(self.blob.bytes()).map_err(|e| e.to_string())?;
        let mut out = vec![0u8; fe.output_bytes()];
        fe.run(clip, &mut self.scratch, &mut out)
            .map_err(|e| e.to_string())?;
        Ok(out)
    }
}

/// The input tensor of a device blob: its datum type and, for int8, scale and zero point.
pub fn input_record(blob: &[u8]) -> Result<blob::TensorRecord, String> {
    let parsed = blob::Blob::parse(blob).map_err(|e| e.to_string())?;
    parsed
        .tensor(parsed.header().input as usize)
        .ok_or_else(|| "the blob's input tensor is missing".into())
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
