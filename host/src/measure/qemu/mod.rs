//! The QEMU board meter: our firmware on an emulated Cortex-M board, driven through QEMU's
//! gdbstub, with the instructions of each inference counted exactly by our TCG plugin.
//!
//! Each measurement starts `qemu-system-arm` halted, with the firmware, the plugin (counting
//! between `edgenas_inference_begin` and `edgenas_inference_end`) and a gdbstub on a free
//! loopback port; sets a breakpoint on `edgenas_done`; lets the firmware boot; writes the blob,
//! the input and the mailbox; runs; reads the mailbox, the output and the plugin's counts; and
//! stops QEMU. QEMU runs in its own process group under a timeout and is killed with it on
//! every exit path, so a hung or crashed QEMU fails one measurement, not the search.
//! Latency = instructions × the board's cycles per instruction ÷ its clock, labelled
//! *emulated*.

mod elf;
mod gdb;

pub use gdb::Gdb;

use std::io::{BufRead, BufReader};
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::{Kind, Latency, MeasureError, Measurement, Meter};
use crate::board::Board;
use crate::compile::{self, to_bytes};
use crate::rng::Rng;

/// Words of the mailbox, and the indices the host uses (device/firmware/src/main.rs).
mod word {
    pub const COUNT: usize = 32;
    pub const MAGIC: usize = 0;
    pub const STATUS: usize = 1;
    pub const COMMAND: usize = 2;
    pub const ERROR: usize = 3;
    pub const ERROR_DETAIL: usize = 4;
    pub const BLOB_ADDR: usize = 5;
    pub const RUNS_DONE: usize = 14;
    pub const CYCLES: usize = 15;
    pub const HIGH_WATER: usize = 16;
    pub const CHECKSUM: usize = 17;
}

const MAGIC: u32 = 0x4D47_4445;
const READY: u32 = 1;
const DONE: u32 = 3;
const RUN: u32 = 1;
/// Where the host puts blobs, arenas, inputs and outputs on a machine: mps2-an386's 16 MiB at
/// 0x21000000, which reset code never touches, or the RAM above the firmware's first MiB
/// (memory.x) up to the end of the MPS2 boards' 4 MiB.
fn data_region(machine: &str) -> (u32, u32) {
    match machine {
        "mps2-an386" => (0x2100_0000, 0x2200_0000),
        _ => (0x2010_0000, 0x2040_0000),
    }
}

/// What one command on the board gave.
#[derive(Clone, Debug, PartialEq)]
pub struct BoardRun {
    /// Instructions of each inference, counted by the plugin.
    pub instructions: Vec<u64>,
    /// The output tensor's bytes.
    pub output: Vec<u8>,
    /// The engine's arena high-water mark on the board.
    pub high_water: u32,
    /// DWT cycles of the last inference (0 under QEMU, which does not emulate the counter).
    pub cycles: u32,
    /// CRC-32 of the output, computed on the board.
    pub checksum: u32,
}

/// The QEMU meter of one emulated board.
#[derive(Clone, Debug)]
pub struct QemuMeter {
    board: Board,
    machine: String,
    cycles_per_instruction: f64,
    firmware: PathBuf,
    plugin: PathBuf,
    /// The longest one command may take.
    pub timeout: Duration,
}

/// `EDGENAS_FIRMWARE` / `EDGENAS_QEMU_PLUGIN`, or the files `device/firmware` and
/// `device/qemu-plugin` build in this repository.
fn artefact(var: &str, default: &str) -> PathBuf {
    std::env::var_os(var).map(PathBuf::from).unwrap_or_else(|| {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join(default)
    })
}

/// A QEMU process, stopped with its process group when dropped.
struct Qemu {
    child: Child,
    log: Arc<Mutex<Vec<String>>>,
    reader: Option<JoinHandle<()>>,
}

impl Qemu {
    fn signal(&self, signal: i32) {
        // SAFETY: kill(2) with the negated process group id of a child we started in its own
        // group; it touches no memory of ours.
        unsafe {
            libc::kill(-(self.child.id() as i32), signal);
        }
    }

    /// How QEMU ended, if it has within a moment (its socket closes before it is reaped).
    fn exited(&mut self) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + Duration::from_millis(300);
        loop {
            match self.child.try_wait().ok().flatten() {
                None if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
                status => return status,
            }
        }
    }

    /// Stops QEMU (SIGTERM, then SIGKILL after a second) and returns its log lines.
    fn stop(mut self) -> Vec<String> {
        self.finish();
        std::mem::take(&mut *self.log.lock().unwrap_or_else(|e| e.into_inner()))
    }

    fn finish(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            self.signal(libc::SIGTERM);
            let deadline = Instant::now() + Duration::from_secs(1);
            while Instant::now() < deadline && self.child.try_wait().ok().flatten().is_none() {
                std::thread::sleep(Duration::from_millis(10));
            }
            self.signal(libc::SIGKILL);
            let _ = self.child.wait();
        }
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
    }
}

impl Drop for Qemu {
    fn drop(&mut self) {
        self.finish();
    }
}

impl QemuMeter {
    /// The meter of `board`, whose connection names a QEMU machine.
    pub fn new(board: &Board) -> Result<QemuMeter, MeasureError> {
        let machine = board.connection.qemu_machine.clone().ok_or_else(|| {
            MeasureError::Unreachable(format!("board {} has no qemu_machine", board.name))
        })?;
        let meter = QemuMeter {
            board: board.clone(),
            machine,
            cycles_per_instruction: board.connection.cycles_per_instruction.unwrap_or(1.0),
            firmware: artefact(
                "EDGENAS_FIRMWARE",
                "device/firmware/target/thumbv7em-none-eabihf/release/edgenas-firmware",
            ),
            plugin: artefact("EDGENAS_QEMU_PLUGIN", "device/qemu-plugin/libicount.so"),
            timeout: Duration::from_secs(120),
        };
        for (what, path, how) in [
            ("firmware", &meter.firmware, "device/firmware/build.sh"),
            ("QEMU plugin", &meter.plugin, "device/qemu-plugin/build.sh"),
        ] {
            if !path.exists() {
                return Err(MeasureError::Unreachable(format!(
                    "the {what} is not built ({} does not exist): run {how} (docs/firmware.md)",
                    path.display()
                )));
            }
        }
        Ok(meter)
    }

    fn start(&self, begin: u32, end: u32) -> Result<(Qemu, TcpStream), MeasureError> {
        let fail = |e: String| MeasureError::Unreachable(format!("QEMU: {e}"));
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| fail(e.to_string()))?
            .port();
        let mut child = Command::new("qemu-system-arm")
            .args(["-M", &self.machine, "-display", "none", "-serial", "null"])
            .args([
                "-monitor",
                "none",
                "-semihosting-config",
                "enable=on,target=native",
            ])
            .arg("-kernel")
            .arg(&self.firmware)
            .arg("-plugin")
            .arg(format!(
                "{},begin={:#x},end={:#x}",
                self.plugin.display(),
                begin & !1,
                end & !1
            ))
            .args([
                "-d",
                "plugin",
                "-S",
                "-gdb",
                &format!("tcp:127.0.0.1:{port}"),
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()
            .map_err(|e| {
                fail(format!(
                    "cannot start qemu-system-arm: {e} (apt-get install qemu-system-arm)"
                ))
            })?;
        let log = Arc::new(Mutex::new(Vec::new()));
        let stderr = child.stderr.take();
        let lines = Arc::clone(&log);
        let reader = std::thread::spawn(move || {
            if let Some(s) = stderr {
                for line in BufReader::new(s).lines().map_while(Result::ok) {
                    lines.lock().unwrap_or_else(|e| e.into_inner()).push(line);
                }
            }
        });
        let qemu = Qemu {
            child,
            log,
            reader: Some(reader),
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match TcpStream::connect(("127.0.0.1", port)) {
                Ok(s) => return Ok((qemu, s)),
                Err(e) if Instant::now() > deadline => return Err(fail(e.to_string())),
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    }

    /// Runs `blob` on the board `runs` times with `input` (the input tensor's bytes).
    pub fn run_blob(&self, blob: &[u8], input: &[u8], runs: u32) -> Result<BoardRun, MeasureError> {
        let fail =
            |e: String| MeasureError::Unreachable(format!("{} (QEMU): {e}", self.board.name));
        let elf = std::fs::read(&self.firmware)
            .map_err(|e| fail(format!("cannot read {}: {e}", self.firmware.display())))?;
        let names = [
            "EDGENAS_MAILBOX",
            "edgenas_done",
            "edgenas_inference_begin",
            "edgenas_inference_end",
        ];
        let [mailbox, done, begin, end] = elf::symbols(&elf, &names).map_err(&fail)?[..] else {
            unreachable!("one address per name")
        };
        let parsed = edgenas_engine::blob::Blob::parse(blob).map_err(|e| fail(e.to_string()))?;
        let arena_bytes = parsed.header().arena_bytes;
        let output_len = parsed
            .tensor(parsed.header().output as usize)
            .map_or(0, |t| t.bytes);
        let align = |a: u64| a.div_ceil(16) * 16;
        let (data_start, data_end) = data_region(&self.machine);
        let blob_at = data_start as u64;
        let arena_at = align(blob_at + blob.len() as u64);
        let input_at = align(arena_at + arena_bytes as u64);
        let output_at = align(input_at + input.len() as u64);
        if output_at + output_len as u64 > data_end as u64 {
            return Err(fail(format!(
                "the model needs {} bytes of RAM for its blob, arena, input and output; the \
                 emulated board has {} above its firmware",
                output_at + output_len as u64 - blob_at,
                data_end - data_start
            )));
        }
        let (qemu, stream) = self.start(begin, end)?;
        let mut gdb = Gdb::new(stream).map_err(&fail)?;
        let result = (|| -> Result<BoardRun, String> {
            gdb.request("?", Duration::from_secs(5))?;
            gdb.breakpoint(done)?;
            gdb.resume(Duration::from_secs(10))?;
            let (magic, status) = (
                gdb.read_u32(mailbox + 4 * word::MAGIC as u32)?,
                gdb.read_u32(mailbox + 4 * word::STATUS as u32)?,
            );
            if magic != MAGIC || status != READY {
                return Err(format!(
                    "the firmware did not come up (magic {magic:#x}, status {status})"
                ));
            }
            gdb.write(blob_at as u32, blob)?;
            gdb.write(input_at as u32, input)?;
            let words = [
                blob_at as u32,
                blob.len() as u32,
                arena_at as u32,
                arena_bytes,
                input_at as u32,
                input.len() as u32,
                output_at as u32,
                output_len,
                runs,
            ];
            let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
            gdb.write(mailbox + 4 * word::BLOB_ADDR as u32, &bytes)?;
            gdb.write(mailbox + 4 * word::COMMAND as u32, &RUN.to_le_bytes())?;
            gdb.resume(self.timeout)?;
            let m = gdb.read(mailbox, 4 * word::COUNT)?;
            let w =
                |i: usize| u32::from_le_bytes([m[4 * i], m[4 * i + 1], m[4 * i + 2], m[4 * i + 3]]);
            if w(word::STATUS) != DONE {
                return Err(format!(
                    "the engine on the board failed: status {}, error {} ({})",
                    w(word::STATUS),
                    w(word::ERROR),
                    w(word::ERROR_DETAIL)
                ));
            }
            if w(word::RUNS_DONE) != runs {
                return Err(format!("{} of {runs} runs finished", w(word::RUNS_DONE)));
            }
            Ok(BoardRun {
                instructions: vec![],
                output: gdb.read(output_at as u32, output_len as usize)?,
                high_water: w(word::HIGH_WATER),
                cycles: w(word::CYCLES),
                checksum: w(word::CHECKSUM),
            })
        })();
        drop(gdb);
        let mut qemu = qemu;
        let result = result.map_err(|e| match qemu.exited() {
            Some(status) => format!("QEMU stopped during the run ({status}): {e}"),
            None => e,
        });
        let log = qemu.stop();
        let mut run = result.map_err(&fail)?;
        run.instructions = log
            .iter()
            .filter_map(|l| l.strip_prefix("edgenas-icount "))
            .filter_map(|n| n.trim().parse().ok())
            .collect();
        if run.instructions.len() != runs as usize {
            return Err(fail(format!(
                "the instruction counter reported {} of {runs} runs (QEMU said: {})",
                run.instructions.len(),
                log.join(" | ")
            )));
        }
        Ok(run)
    }
}

impl Meter for QemuMeter {
    fn backend(&self) -> &'static str {
        "qemu"
    }

    fn measure(&self, bytes: &[u8], what: &str) -> Result<Measurement, MeasureError> {
        let compiled = compile::compile(bytes, what).map_err(MeasureError::Model)?;
        let blob = edgenas_engine::blob::Blob::parse(&compiled.blob)
            .map_err(|e| MeasureError::Model(e.to_string()))?;
        let input_record = blob
            .tensor(blob.header().input as usize)
            .ok_or_else(|| MeasureError::Model(format!("{what}: the blob has no input")))?;
        let mut rng = Rng::new(1);
        let x: Vec<f32> = (0..input_record.elements())
            .map(|_| (rng.unit() * 2.0 - 1.0) as f32)
            .collect();
        let run = self.run_blob(&compiled.blob, &to_bytes(&input_record, &x), 1)?;
        let instructions = run.instructions[0];
        let cycles = instructions as f64 * self.cycles_per_instruction;
        let ms = cycles / self.board.clock_hz as f64 * 1e3;
        Ok(Measurement {
            board: self.board.name.clone(),
            backend: self.backend().into(),
            kind: Kind::Emulated,
            latency_ms: Latency {
                median: ms,
                p10: ms,
                p90: ms,
                runs: 1,
            },
            cycles: Some(cycles),
            instructions: Some(instructions),
            ram_bytes: Some(run.high_water as u64),
            flash_bytes: Some(compiled.blob.len() as u64),
            warnings: vec![format!(
                "emulated: {instructions} instructions counted exactly in QEMU × {} cycles per \
                 instruction (board file) ÷ {} Hz",
                self.cycles_per_instruction, self.board.clock_hz
            )],
        })
    }
}
