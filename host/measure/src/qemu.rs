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

use std::io::{BufRead, BufReader};
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::mcu::{
    BoardRun, DataRegion, FirmwareSymbols, Gdb, LinkError, artefact, compile_with_input,
    firmware_path, mailbox, op_profile,
};
use super::{FrontEndShare, Kind, Latency, MeasureError, Measurement, Meter};
use edgenas_model::board::{Board, CycleTable};
use edgenas_onnx::compile::Compiled;

/// Where the host puts blobs, arenas, inputs and outputs on a machine: mps2-an386's 16 MiB at
/// 0x21000000, which reset code never touches, or the RAM above the firmware's first MiB
/// (memory.x) up to the end of the MPS2 boards' 4 MiB.
fn data_region(machine: &str) -> DataRegion {
    let (start, end) = match machine {
        "mps2-an386" => (0x2100_0000, 0x2200_0000),
        _ => (0x2010_0000, 0x2040_0000),
    };
    DataRegion { start, end }
}

/// The QEMU meter of one emulated board.
#[derive(Clone, Debug)]
pub struct QemuMeter {
    board: Board,
    machine: String,
    cycles: CycleModel,
    firmware: PathBuf,
    plugin: PathBuf,
    /// The longest one command may take.
    pub timeout: Duration,
}

/// How the meter turns counted instructions into cycles.
#[derive(Clone, Copy, Debug)]
enum CycleModel {
    /// The core's cycle table: the plugin weighs each instruction by its class.
    Table(&'static CycleTable),
    /// A core without one: every instruction at the board file's cycles per instruction.
    PerInstruction(f64),
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
            cycles: match CycleTable::of(&board.core) {
                Some(table) => CycleModel::Table(table),
                None => CycleModel::PerInstruction(
                    board.connection.cycles_per_instruction.unwrap_or(1.0),
                ),
            },
            firmware: firmware_path(board),
            plugin: artefact(
                "EDGENAS_QEMU_PLUGIN",
                "qemu-plugin/libicount.so",
                "device/qemu-plugin/libicount.so",
            ),
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

    fn start(&self, symbols: FirmwareSymbols) -> Result<(Qemu, TcpStream), MeasureError> {
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
                "{},begin={:#x},end={:#x},op={:#x}{}",
                self.plugin.display(),
                symbols.begin & !1,
                symbols.end & !1,
                symbols.op_end & !1,
                match self.cycles {
                    CycleModel::Table(t) => format!(",{}", t.plugin_argument()),
                    CycleModel::PerInstruction(_) => String::new(),
                }
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

    /// Runs `blob` on the board `runs` times with `input` (the input tensor's bytes, or with
    /// `front_end` a clip for the front end to turn into it).
    pub fn run_blob(
        &self,
        blob: &[u8],
        input: &[u8],
        front_end: Option<&[u8]>,
        runs: u32,
    ) -> Result<BoardRun, MeasureError> {
        let fail = |source: LinkError| MeasureError::Board {
            board: self.board.name.clone(),
            via: "QEMU",
            source,
        };
        let symbols = FirmwareSymbols::read(&self.firmware).map_err(fail)?;
        let (qemu, stream) = self.start(symbols)?;
        let mut gdb = Gdb::new(stream).map_err(fail)?;
        let region = data_region(&self.machine);
        let result = gdb.request("?", Duration::from_secs(5)).and_then(|_| {
            let timeout = self.timeout;
            mailbox::run(
                &mut gdb, symbols, region, blob, input, front_end, runs, timeout,
            )
        });
        drop(gdb);
        let mut qemu = qemu;
        let result = result.map_err(|e| match qemu.exited() {
            Some(status) => LinkError::Exited {
                status: status.to_string(),
                during: Box::new(e),
            },
            None => e,
        });
        let log = qemu.stop();
        let mut run = result.map_err(fail)?;
        let ops = edgenas_engine::blob::Blob::parse(blob).map_or(0, |b| b.header().ops as usize);
        // The front end's end is counted like an op's, before the network's first.
        let marks = ops + front_end.is_some() as usize;
        let (totals, per_op) = counts(&log, runs as usize, marks).map_err(|e| {
            fail(LinkError::BadReply(format!(
                "{e} (QEMU said: {})",
                log.join(" | ")
            )))
        })?;
        (run.instructions, run.modelled_cycles) = totals.iter().map(|c| self.split(c)).unzip();
        (run.op_instructions, run.op_cycles) = per_op.iter().map(|c| self.split(c)).unzip();
        if front_end.is_some() {
            run.front_end_instructions = Some(run.op_instructions.remove(0));
            run.front_end_cycles = Some(run.op_cycles.remove(0));
        }
        Ok(run)
    }

    /// Measures the ONNX model `bytes` with the front-end blob `front_end` before it, on a
    /// random clip (uniform 16-bit noise, seed 1): the latency of both, the front end's share
    /// beside it, and the network's ops.
    pub fn measure_with_front_end(
        &self,
        bytes: &[u8],
        what: &str,
        front_end: &[u8],
    ) -> Result<Measurement, MeasureError> {
        let (compiled, _) = compile_with_input(bytes, what)?;
        let host = edgenas_onnx::compile::HostFrontEnd::new(front_end).map_err(|source| {
            MeasureError::FrontEnd {
                what: what.into(),
                source,
            }
        })?;
        let samples = host.clip_samples();
        let mut rng = edgenas_model::rng::Rng::new(1);
        let clip: Vec<u8> = (0..samples)
            .flat_map(|_| (((rng.unit() * 2.0 - 1.0) * 16000.0) as i16).to_le_bytes())
            .collect();
        let run = self.run_blob(&compiled.blob, &clip, Some(front_end), 1)?;
        let mut m = self.measurement(&compiled, &run);
        let fe = run.front_end_instructions.unwrap_or(0);
        let fe_cycles = run.front_end_cycles.unwrap_or(0.0);
        m.front_end = Some(FrontEndShare {
            latency_ms: self.ms(fe_cycles),
            instructions: Some(fe),
            cycles: Some(fe_cycles),
        });
        m.flash_bytes = Some((compiled.blob.len() + front_end.len()) as u64);
        Ok(m)
    }

    /// The instructions of a count, and their cycles: the plugin's under the cycle table, or
    /// the instructions × the board file's cycles per instruction.
    fn split(&self, count: &Count) -> (u64, f64) {
        let cycles = match (self.cycles, count.quarter_cycles) {
            (CycleModel::Table(_), Some(q)) => q as f64 / 4.0,
            (CycleModel::PerInstruction(cpi), _) => count.instructions as f64 * cpi,
            (CycleModel::Table(_), None) => count.instructions as f64,
        };
        (count.instructions, cycles)
    }

    fn ms(&self, cycles: f64) -> f64 {
        cycles / self.board.clock_hz as f64 * 1e3
    }

    /// The figures of one run of `compiled`.
    fn measurement(&self, compiled: &Compiled, run: &BoardRun) -> Measurement {
        let instructions = run.instructions[0];
        let cycles = run.modelled_cycles[0];
        let ms = self.ms(cycles);
        let model = match self.cycles {
            CycleModel::Table(t) => format!("its cycles by the core's cycle table ({})", t.source),
            CycleModel::PerInstruction(cpi) => {
                format!("× {cpi} cycles per instruction (board file)")
            }
        };
        Measurement {
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
                "emulated: {instructions} instructions counted exactly in QEMU, {model}: \
                 {cycles:.0} cycles ÷ {} Hz",
                self.board.clock_hz
            )],
            board_facts: None,
            ops: Some(op_profile(
                compiled,
                Some(&run.op_instructions),
                &run.op_cycles,
            )),
            front_end: None,
        }
    }
}

/// What the plugin counted over a stretch: instructions, and with a cycle table their cycles
/// in quarters.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Count {
    instructions: u64,
    quarter_cycles: Option<u64>,
}

/// The plugin's counts in QEMU's `log`: those of each of `runs` inferences, and those of each
/// of the first inference's `ops` ops.
fn counts(log: &[String], runs: usize, ops: usize) -> Result<(Vec<Count>, Vec<Count>), String> {
    let count = |text: &str| {
        let mut numbers = text.split_whitespace().map(|n| n.parse::<u64>().ok());
        Some(Count {
            instructions: numbers.next()??,
            quarter_cycles: numbers.next().flatten(),
        })
    };
    let (mut totals, mut per_op, mut first_ops) = (Vec::new(), Vec::new(), None);
    for line in log {
        if let Some(c) = line.strip_prefix("edgenas-icount-op ").and_then(count) {
            per_op.push(c);
        } else if let Some(c) = line.strip_prefix("edgenas-icount ").and_then(count) {
            totals.push(c);
            first_ops.get_or_insert(std::mem::take(&mut per_op));
        }
    }
    if totals.len() != runs {
        return Err(format!(
            "the instruction counter reported {} of {runs} runs",
            totals.len()
        ));
    }
    let first_ops = first_ops.unwrap_or_default();
    if first_ops.len() != ops {
        return Err(format!(
            "the instruction counter reported {} of the model's {ops} ops",
            first_ops.len()
        ));
    }
    Ok((totals, first_ops))
}

impl Meter for QemuMeter {
    fn backend(&self) -> &'static str {
        "qemu"
    }

    fn measure(&self, bytes: &[u8], what: &str) -> Result<Measurement, MeasureError> {
        let (compiled, input) = compile_with_input(bytes, what)?;
        let run = self.run_blob(&compiled.blob, &input, None, 1)?;
        Ok(self.measurement(&compiled, &run))
    }
}

#[cfg(test)]
mod tests {
    use super::{Count, counts};

    fn log(lines: &[&str]) -> Vec<String> {
        lines.iter().map(|l| l.to_string()).collect()
    }

    #[test]
    fn counts_give_each_run_and_the_first_runs_ops() {
        let log = log(&[
            "edgenas-icount-op 10",
            "edgenas-icount-op 20",
            "edgenas-icount 35",
            "some other line",
            "edgenas-icount-op 11",
            "edgenas-icount-op 21",
            "edgenas-icount 36",
        ]);
        let instructions = |c: &[Count]| c.iter().map(|c| c.instructions).collect::<Vec<_>>();
        let (totals, ops) = counts(&log, 2, 2).unwrap();
        assert_eq!(
            (instructions(&totals), instructions(&ops)),
            (vec![35, 36], vec![10, 20])
        );
        assert!(totals.iter().all(|c| c.quarter_cycles.is_none()));
        let missing = counts(&log, 3, 2).unwrap_err();
        assert!(missing.contains("2 of 3 runs"), "{missing}");
        let ops = counts(&log, 2, 3).unwrap_err();
        assert!(ops.contains("2 of the model's 3 ops"), "{ops}");
    }

    #[test]
    fn with_a_cycle_table_each_count_carries_its_quarter_cycles() {
        let log = log(&["edgenas-icount-op 10 57", "edgenas-icount 12 66"]);
        let (totals, ops) = counts(&log, 1, 1).unwrap();
        assert_eq!(
            (totals[0], ops[0]),
            (
                Count {
                    instructions: 12,
                    quarter_cycles: Some(66)
                },
                Count {
                    instructions: 10,
                    quarter_cycles: Some(57)
                }
            )
        );
    }
}
