//! Cortex-M boards running our firmware (`device/firmware`): the mailbox protocol, and the
//! transports that carry it — the gdb remote protocol (QEMU's gdbstub, OpenOCD, J-Link GDB
//! Server, pyOCD) and, with the `probe` feature, a debug probe through probe-rs.
//!
//! One firmware image per board serves every candidate: the host finds the mailbox and the
//! firmware's entry points by their ELF symbols, lets the firmware boot to `edgenas_done`,
//! writes the blob, the input and the mailbox into RAM, resumes the core, waits for
//! `edgenas_done` again and reads the results (device/firmware/src/main.rs, docs/firmware.md).

pub mod elf;
mod gdb;
pub mod mailbox;
#[cfg(feature = "probe")]
pub mod probe;
mod profile;

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::board::{Board, BoardKind};
use crate::compile::{self, Compiled, to_bytes};
use crate::measure::MeasureError;
use crate::rng::Rng;

pub use gdb::Gdb;
pub use mailbox::{BoardRun, DataRegion, FirmwareSymbols};
pub use profile::{OpProfile, op_profile};

/// The file `var` names, or `default` in this repository (what its build scripts make).
pub fn artefact(var: &str, default: &str) -> PathBuf {
    std::env::var_os(var).map(PathBuf::from).unwrap_or_else(|| {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join(default)
    })
}

/// The firmware ELF for `board`: `EDGENAS_FIRMWARE`, or what `device/firmware/build.sh`
/// builds — the emulated boards share the default build, a real board has its own (its
/// memory map in `memory.x`): `EDGENAS_BOARD=NAME device/firmware/build.sh`.
pub fn firmware_path(board: &Board) -> PathBuf {
    let elf = "thumbv7em-none-eabihf/release/edgenas-firmware";
    let default = match board.kind {
        BoardKind::Emulator => format!("device/firmware/target/{elf}"),
        _ => format!("device/firmware/target/boards/{}/{elf}", board.name),
    };
    artefact("EDGENAS_FIRMWARE", &default)
}

/// The blob of the ONNX model in `bytes` (`what` names it in errors) and an input for it:
/// uniform in [−1, 1), seed 1 (a kernel's time does not depend on the values).
pub fn compile_with_input(bytes: &[u8], what: &str) -> Result<(Compiled, Vec<u8>), MeasureError> {
    let compiled = compile::compile(bytes, what).map_err(MeasureError::Model)?;
    let blob = edgenas_engine::blob::Blob::parse(&compiled.blob)
        .map_err(|e| MeasureError::Model(e.to_string()))?;
    let input = blob
        .tensor(blob.header().input as usize)
        .ok_or_else(|| MeasureError::Model(format!("{what}: the blob has no input")))?;
    let mut rng = Rng::new(1);
    let x: Vec<f32> = (0..input.elements())
        .map(|_| (rng.unit() * 2.0 - 1.0) as f32)
        .collect();
    let input = to_bytes(&input, &x);
    Ok((compiled, input))
}

/// What the host needs of a connection to a halted Cortex-M core.
pub trait Transport {
    /// Reads `len` bytes at `addr`.
    fn read(&mut self, addr: u32, len: usize) -> Result<Vec<u8>, String>;
    /// Writes `bytes` at `addr`.
    fn write(&mut self, addr: u32, bytes: &[u8]) -> Result<(), String>;
    /// Stops the core when it reaches `addr` (a Thumb function address).
    fn breakpoint(&mut self, addr: u32) -> Result<(), String>;
    /// Runs the core from where it stands (over a breakpoint it is stopped on) until it
    /// stops again, within `timeout`.
    fn resume(&mut self, timeout: Duration) -> Result<(), String>;

    /// Reads one little-endian word.
    fn read_u32(&mut self, addr: u32) -> Result<u32, String> {
        let b = self.read(addr, 4)?;
        match b[..] {
            [a, b, c, d] => Ok(u32::from_le_bytes([a, b, c, d])),
            _ => Err(format!("read {} bytes of a word at {addr:#x}", b.len())),
        }
    }
}

impl Transport for Gdb {
    fn read(&mut self, addr: u32, len: usize) -> Result<Vec<u8>, String> {
        Gdb::read(self, addr, len)
    }

    fn write(&mut self, addr: u32, bytes: &[u8]) -> Result<(), String> {
        Gdb::write(self, addr, bytes)
    }

    fn breakpoint(&mut self, addr: u32) -> Result<(), String> {
        Gdb::breakpoint(self, addr)
    }

    fn resume(&mut self, timeout: Duration) -> Result<(), String> {
        Gdb::resume(self, timeout)
    }
}
