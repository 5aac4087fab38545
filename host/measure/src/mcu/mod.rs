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

use crate::MeasureError;
use edgenas_engine::Error as EngineError;
use edgenas_model::board::{Board, BoardKind};
use edgenas_model::rng::Rng;
use edgenas_onnx::compile::{self, Compiled, to_bytes};

pub use gdb::Gdb;
pub use mailbox::{BoardRun, DataRegion, FirmwareSymbols};
pub use profile::{OpProfile, op_profile};

/// Where an installed edgenas looks for the firmware and the QEMU plugin it did not build:
/// `EDGENAS_DATA_DIR`, else `$XDG_DATA_HOME/edgenas`, else `~/.local/share/edgenas`.
pub fn data_dir() -> Option<PathBuf> {
    let var = |name: &str| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    var("EDGENAS_DATA_DIR")
        .or_else(|| var("XDG_DATA_HOME").map(|d| d.join("edgenas")))
        .or_else(|| var("HOME").map(|h| h.join(".local/share/edgenas")))
}

/// A file edgenas runs but does not link: the path the variable `var` names; else `installed`
/// in the [`data_dir`], when it is there; else `built`, the path in this source tree where its
/// build script puts it.
pub fn artefact(var: &str, installed: &str, built: &str) -> PathBuf {
    if let Some(path) = std::env::var_os(var) {
        return PathBuf::from(path);
    }
    let installed = data_dir().map(|d| d.join(installed));
    match installed {
        Some(path) if path.exists() => path,
        _ => Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../..")
            .join(built),
    }
}

/// The firmware ELF for `board`: `EDGENAS_FIRMWARE`; else, installed in the [`data_dir`],
/// `firmware/emulated.elf` for the emulated boards or `firmware/NAME.elf` for board NAME;
/// else what `device/firmware/build.sh` builds — the emulated boards share the default build,
/// a real board has its own (its memory map in `memory.x`):
/// `EDGENAS_BOARD=NAME device/firmware/build.sh`.
pub fn firmware_path(board: &Board) -> PathBuf {
    let elf = "thumbv7em-none-eabihf/release/edgenas-firmware";
    let (installed, built) = match board.kind {
        BoardKind::Emulator => (
            "firmware/emulated.elf".to_string(),
            format!("device/firmware/target/{elf}"),
        ),
        _ => (
            format!("firmware/{}.elf", board.name),
            format!("device/firmware/target/boards/{}/{elf}", board.name),
        ),
    };
    artefact("EDGENAS_FIRMWARE", &installed, &built)
}

/// The blob of the ONNX model in `bytes` (`what` names it in errors) and an input for it:
/// uniform in [−1, 1), seed 1 (a kernel's time does not depend on the values).
pub fn compile_with_input(bytes: &[u8], what: &str) -> Result<(Compiled, Vec<u8>), MeasureError> {
    let compiled = compile::compile(bytes, what)?;
    let blob = edgenas_engine::blob::Blob::parse(&compiled.blob).map_err(EngineError::from)?;
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

/// Why talking to a board's core, or its firmware, failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    /// The connection to the debug server or the probe failed (the transport's words).
    #[error("{0}")]
    Connection(String),
    /// The debug server did not answer within the request's time.
    #[error("the gdb server did not answer in time")]
    NoAnswer,
    /// A reply that is not the protocol's (bad hex, a bad checksum, an unexpected stop).
    #[error("{0}")]
    BadReply(String),
    /// The core refused a memory access.
    #[error("cannot {access} {bytes} bytes at {addr:#x}")]
    Memory {
        /// `read` or `write`.
        access: &'static str,
        /// Bytes asked for.
        bytes: usize,
        /// Where.
        addr: u32,
    },
    /// The core refused a breakpoint.
    #[error("cannot set or clear a breakpoint at {0:#x}")]
    Breakpoint(u32),
    /// The core did not stop within the time given.
    #[error("the core did not stop within {timeout:?}: {message}")]
    Timeout {
        /// The time given.
        timeout: Duration,
        /// The transport's words.
        message: String,
    },
    /// The firmware image is not ours, or not there.
    #[error("the firmware: {0}")]
    Firmware(String),
    /// The firmware did not boot to its mailbox.
    #[error("the firmware did not come up (magic {magic:#x}, status {status})")]
    NotUp {
        /// The mailbox's magic word.
        magic: u32,
        /// Its status word.
        status: u32,
    },
    /// The model and its buffers do not fit in the RAM above the firmware.
    #[error(
        "the model needs {needed} bytes of RAM for its blob, arena, input and output (and its front end's); the board has {available} above its firmware"
    )]
    TooBig {
        /// Bytes needed.
        needed: u64,
        /// Bytes there are.
        available: u32,
    },
    /// The blob does not load (checked on the host before it is sent).
    #[error("the blob: {0}")]
    Blob(#[from] EngineError),
    /// The front-end blob does not load (checked on the host before it is sent).
    #[error("the front end: {0}")]
    FrontEnd(#[from] edgenas_engine::front_end::FrontEndError),
    /// The engine on the board reported an error.
    #[error("the engine on the board failed: status {status}, error {error} ({detail})")]
    Engine {
        /// The mailbox's status word.
        status: u32,
        /// The engine's error code.
        error: u32,
        /// Its detail word.
        detail: u32,
    },
    /// Fewer runs finished than were asked for.
    #[error("{done} of {asked} runs finished")]
    Runs {
        /// Runs finished.
        done: u32,
        /// Runs asked for.
        asked: u32,
    },
    /// The emulator exited during the run.
    #[error("QEMU stopped during the run ({status}): {during}")]
    Exited {
        /// Its exit status.
        status: String,
        /// What the host saw.
        during: Box<LinkError>,
    },
}

/// What the host needs of a connection to a halted Cortex-M core.
pub trait Transport {
    /// Reads `len` bytes at `addr`.
    fn read(&mut self, addr: u32, len: usize) -> Result<Vec<u8>, LinkError>;
    /// Writes `bytes` at `addr`.
    fn write(&mut self, addr: u32, bytes: &[u8]) -> Result<(), LinkError>;
    /// Stops the core when it reaches `addr` (a Thumb function address).
    fn breakpoint(&mut self, addr: u32) -> Result<(), LinkError>;
    /// Runs the core from where it stands (over a breakpoint it is stopped on) until it
    /// stops again, within `timeout`.
    fn resume(&mut self, timeout: Duration) -> Result<(), LinkError>;

    /// Reads one little-endian word.
    fn read_u32(&mut self, addr: u32) -> Result<u32, LinkError> {
        let b = self.read(addr, 4)?;
        match b[..] {
            [a, b, c, d] => Ok(u32::from_le_bytes([a, b, c, d])),
            _ => Err(LinkError::BadReply(format!(
                "read {} bytes of a word at {addr:#x}",
                b.len()
            ))),
        }
    }
}

impl Transport for Gdb {
    fn read(&mut self, addr: u32, len: usize) -> Result<Vec<u8>, LinkError> {
        Gdb::read(self, addr, len)
    }

    fn write(&mut self, addr: u32, bytes: &[u8]) -> Result<(), LinkError> {
        Gdb::write(self, addr, bytes)
    }

    fn breakpoint(&mut self, addr: u32) -> Result<(), LinkError> {
        Gdb::breakpoint(self, addr)
    }

    fn resume(&mut self, timeout: Duration) -> Result<(), LinkError> {
        Gdb::resume(self, timeout)
    }
}
