//! The device engine behind a C API (`include/edgenas.h`), for firmware and applications
//! written in C or C++. No allocator and no global state: the caller owns the blob, the arena,
//! the input and the output; every function checks what it is given and returns a status,
//! never undefined behaviour on a bad blob (the engine checks every record before it runs).
//!
//! ```c
//! size_t arena_bytes;
//! edgenas_tensor_info in, out;
//! edgenas_model_info(blob, blob_len, &arena_bytes, &in, &out);
//! /* … an arena of arena_bytes, 4-byte aligned … */
//! edgenas_run(blob, blob_len, arena, arena_bytes, input, in.bytes, output, out.bytes);
//! ```

#![no_std]

// On a host the standard library gives the panic handler; on a bare-metal target the engine
// never panics on any input (its checks return errors), and a panic would stop the core.
#[cfg(not(target_os = "none"))]
extern crate std;

#[cfg(target_os = "none")]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    loop {}
}

use edgenas_engine::blob::{Blob, TensorRecord};
use edgenas_engine::{DType, Engine, Error};

/// What a call returns: `EDGENAS_OK`, or why it did nothing.
pub type EdgenasStatus = i32;

/// The call succeeded.
pub const EDGENAS_OK: EdgenasStatus = 0;
/// A pointer that must not be null was null.
pub const EDGENAS_NULL_POINTER: EdgenasStatus = 1;
/// The bytes are not a blob of this engine's format.
pub const EDGENAS_BAD_BLOB: EdgenasStatus = 2;
/// A tensor record of the blob is not valid.
pub const EDGENAS_BAD_TENSOR: EdgenasStatus = 3;
/// An op record of the blob is not valid.
pub const EDGENAS_BAD_OP: EdgenasStatus = 4;
/// The blob or the arena does not start on a 4-byte boundary.
pub const EDGENAS_MISALIGNED: EdgenasStatus = 5;
/// The arena is smaller than the blob's plan needs.
pub const EDGENAS_ARENA_TOO_SMALL: EdgenasStatus = 6;
/// The input does not have the input tensor's size.
pub const EDGENAS_INPUT_SIZE: EdgenasStatus = 7;
/// The output buffer does not have the output tensor's size.
pub const EDGENAS_OUTPUT_SIZE: EdgenasStatus = 8;

/// `EdgenasTensorInfo::dtype` of a tensor of `float`.
pub const EDGENAS_F32: u32 = 0;
/// `EdgenasTensorInfo::dtype` of a tensor of `int8_t`.
pub const EDGENAS_INT8: u32 = 1;

/// A model's input or output tensor, as C sees it (`edgenas_tensor_info`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct EdgenasTensorInfo {
    /// `EDGENAS_F32` or `EDGENAS_INT8`.
    pub dtype: u32,
    /// For int8: `real = scale × (q − zero_point)` (1 for f32).
    pub scale: f32,
    /// For int8: the value that stands for 0 (0 for f32).
    pub zero_point: i32,
    /// Elements.
    pub elements: u32,
    /// Bytes (elements × 1 for int8, × 4 for f32).
    pub bytes: u32,
}

impl From<TensorRecord> for EdgenasTensorInfo {
    fn from(t: TensorRecord) -> EdgenasTensorInfo {
        EdgenasTensorInfo {
            dtype: match t.dtype {
                DType::F32 => EDGENAS_F32,
                DType::Int8 => EDGENAS_INT8,
            },
            scale: t.scale,
            zero_point: t.zero_point,
            elements: t.elements() as u32,
            bytes: t.bytes,
        }
    }
}

/// The status of an engine error.
fn status(e: Error) -> EdgenasStatus {
    match e {
        Error::Blob(_) => EDGENAS_BAD_BLOB,
        Error::BadTensor { .. } => EDGENAS_BAD_TENSOR,
        Error::BadOp { .. } => EDGENAS_BAD_OP,
        Error::Misaligned => EDGENAS_MISALIGNED,
        Error::ArenaTooSmall { .. } => EDGENAS_ARENA_TOO_SMALL,
        Error::InputSize { .. } => EDGENAS_INPUT_SIZE,
        Error::OutputSize { .. } => EDGENAS_OUTPUT_SIZE,
    }
}

/// The slice of `len` bytes at `ptr`; `None` for a null pointer.
///
/// # Safety
/// `ptr` must point to `len` readable bytes, or be null.
unsafe fn bytes<'a>(ptr: *const u8, len: usize) -> Option<&'a [u8]> {
    match ptr.is_null() {
        true => None,
        // SAFETY: the caller gives `len` readable bytes at `ptr`.
        false => Some(unsafe { core::slice::from_raw_parts(ptr, len) }),
    }
}

/// The slice of `len` writable bytes at `ptr`; `None` for a null pointer.
///
/// # Safety
/// `ptr` must point to `len` writable bytes that nothing else reads meanwhile, or be null.
unsafe fn bytes_mut<'a>(ptr: *mut u8, len: usize) -> Option<&'a mut [u8]> {
    match ptr.is_null() {
        true => None,
        // SAFETY: the caller gives `len` writable, unaliased bytes at `ptr`.
        false => Some(unsafe { core::slice::from_raw_parts_mut(ptr, len) }),
    }
}

/// The arena size `blob` needs and its input and output tensors. Any of `arena_bytes`,
/// `input` and `output` may be null (not written).
///
/// # Safety
/// `blob` must point to `blob_len` readable bytes; the others to writable values or be null.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn edgenas_model_info(
    blob: *const u8,
    blob_len: usize,
    arena_bytes: *mut usize,
    input: *mut EdgenasTensorInfo,
    output: *mut EdgenasTensorInfo,
) -> EdgenasStatus {
    // SAFETY: as the caller promises.
    let Some(blob) = (unsafe { bytes(blob, blob_len) }) else {
        return EDGENAS_NULL_POINTER;
    };
    let parsed = match Blob::parse(blob) {
        Ok(b) => b,
        Err(e) => return status(e.into()),
    };
    let header = parsed.header();
    let (Some(i), Some(o)) = (
        parsed.tensor(header.input as usize),
        parsed.tensor(header.output as usize),
    ) else {
        return EDGENAS_BAD_TENSOR;
    };
    // SAFETY: each pointer is writable or null, as the caller promises.
    unsafe {
        if !arena_bytes.is_null() {
            *arena_bytes = header.arena_bytes as usize;
        }
        if !input.is_null() {
            *input = i.into();
        }
        if !output.is_null() {
            *output = o.into();
        }
    }
    EDGENAS_OK
}

/// Runs `blob` once: `input` (the input tensor's bytes) in, the output tensor's bytes out,
/// in `arena` (at least the size `edgenas_model_info` gives; blob and arena 4-byte aligned).
/// With `high_water` not null, the arena bytes the run used are written there.
///
/// # Safety
/// Each pointer must point to its length of readable (`blob`, `input`) or writable (`arena`,
/// `output`, `high_water`) memory, the writable ones not overlapping the others.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn edgenas_run(
    blob: *const u8,
    blob_len: usize,
    arena: *mut u8,
    arena_len: usize,
    input: *const u8,
    input_len: usize,
    output: *mut u8,
    output_len: usize,
    high_water: *mut usize,
) -> EdgenasStatus {
    // SAFETY: as the caller promises.
    let (blob, arena, input, output) = unsafe {
        (
            bytes(blob, blob_len),
            bytes_mut(arena, arena_len),
            bytes(input, input_len),
            bytes_mut(output, output_len),
        )
    };
    let (Some(blob), Some(arena), Some(input), Some(output)) = (blob, arena, input, output) else {
        return EDGENAS_NULL_POINTER;
    };
    let mut engine = match Engine::new(blob, arena) {
        Ok(e) => e,
        Err(e) => return status(e),
    };
    if let Err(e) = engine.run(input, output) {
        return status(e);
    }
    if !high_water.is_null() {
        // SAFETY: writable, as the caller promises.
        unsafe { *high_water = engine.high_water_mark() };
    }
    EDGENAS_OK
}

/// The status's name, a static NUL-terminated string (`"EDGENAS_ARENA_TOO_SMALL"`).
#[unsafe(no_mangle)]
pub extern "C" fn edgenas_status_name(status: EdgenasStatus) -> *const core::ffi::c_char {
    let name: &'static core::ffi::CStr = match status {
        EDGENAS_OK => c"EDGENAS_OK",
        EDGENAS_NULL_POINTER => c"EDGENAS_NULL_POINTER",
        EDGENAS_BAD_BLOB => c"EDGENAS_BAD_BLOB",
        EDGENAS_BAD_TENSOR => c"EDGENAS_BAD_TENSOR",
        EDGENAS_BAD_OP => c"EDGENAS_BAD_OP",
        EDGENAS_MISALIGNED => c"EDGENAS_MISALIGNED",
        EDGENAS_ARENA_TOO_SMALL => c"EDGENAS_ARENA_TOO_SMALL",
        EDGENAS_INPUT_SIZE => c"EDGENAS_INPUT_SIZE",
        EDGENAS_OUTPUT_SIZE => c"EDGENAS_OUTPUT_SIZE",
        _ => c"EDGENAS_UNKNOWN_STATUS",
    };
    name.as_ptr()
}

/// The files a C project needs besides the library, as `edgenas deploy` writes them.
pub mod files {
    /// `edgenas.h`: the API.
    pub const HEADER: &str = include_str!("../include/edgenas.h");
    /// `main.c`: the example that runs the model in `model-int8-blob.h`.
    pub const EXAMPLE: &str = include_str!("../examples/main.c");
    /// `cortex-m/startup.c`: the example's vector table and start-up on a Cortex-M4F.
    pub const CORTEX_M_STARTUP: &str = include_str!("../examples/cortex-m/startup.c");
    /// `cortex-m/mps2-an386.ld`: the example's memory map on QEMU's mps2-an386.
    pub const CORTEX_M_LINKER_SCRIPT: &str = include_str!("../examples/cortex-m/mps2-an386.ld");
}
