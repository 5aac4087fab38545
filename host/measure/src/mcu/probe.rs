//! A real Cortex-M board through a debug probe (ST-LINK, J-Link, CMSIS-DAP), with probe-rs:
//! list probes, attach by the board file's chip name, flash our firmware once per
//! connection, then the mailbox protocol over the probe ([`ProbeLink`]). Latency = the DWT
//! cycle count of the inference ÷ the board's clock, labelled *measured*.

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use probe_rs::flashing::{ElfLoader, ElfOptions, download_file};
use probe_rs::probe::list::Lister;
use probe_rs::{MemoryInterface, Permissions, Session};

use super::{
    DataRegion, FirmwareSymbols, LinkError, Transport, compile_with_input, mailbox, op_profile,
};
use crate::{Kind, Latency, MeasureError, Measurement, Meter};
use edgenas_model::board::Board;

/// A debug probe the host sees.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ProbeInfo {
    /// The probe's name (`STLink V2-1`).
    pub identifier: String,
    /// `VID:PID` in hex.
    pub usb_id: String,
    /// Serial number, when the probe reports one.
    pub serial: Option<String>,
    /// The chip behind the probe, when asked for and recognised (probe-rs auto-detection).
    pub chip: Option<String>,
    /// Why the chip is not known, when it was asked for.
    pub chip_error: Option<String>,
}

/// The debug probes attached to this machine; with `chips`, each is opened and attached with
/// probe-rs's chip auto-detection to name the chip behind it.
pub fn list_probes(chips: bool) -> Vec<ProbeInfo> {
    Lister::new()
        .list_all()
        .into_iter()
        .map(|p| {
            let detected = chips.then(|| {
                p.open()
                    .map_err(|e| format!("cannot open the probe: {e}"))
                    .and_then(|probe| {
                        probe
                            .attach(
                                probe_rs::config::TargetSelector::Auto,
                                Permissions::default(),
                            )
                            .map(|s| s.target().name.clone())
                            .map_err(|e| format!("no chip recognised: {e}"))
                    })
            });
            ProbeInfo {
                identifier: p.identifier.clone(),
                usb_id: format!("{:04x}:{:04x}", p.vendor_id, p.product_id),
                serial: p.serial_number.clone(),
                chip: detected.clone().and_then(Result::ok),
                chip_error: detected.and_then(Result::err),
            }
        })
        .collect()
}

/// The error for a machine with no probe attached.
pub fn no_probe(board: &Board) -> MeasureError {
    MeasureError::Unreachable(format!(
        "board {}: no debug probe is attached (probe-rs looked for ST-LINK, J-Link and \
         CMSIS-DAP probes over USB). Connect the board's debug USB port (docs/boards.md), \
         check `edgenas boards`, or use --meter simulator",
        board.name
    ))
}

/// The mailbox transport over a probe-rs session (core 0).
pub struct ProbeLink<'s> {
    session: &'s mut Session,
    breakpoints: Vec<u32>,
}

/// A probe-rs failure, in its words.
fn probe_error(e: probe_rs::Error) -> LinkError {
    LinkError::Connection(e.to_string())
}

impl ProbeLink<'_> {
    fn core(&mut self) -> Result<probe_rs::Core<'_>, LinkError> {
        self.session.core(0).map_err(probe_error)
    }
}

impl Transport for ProbeLink<'_> {
    fn read(&mut self, addr: u32, len: usize) -> Result<Vec<u8>, LinkError> {
        let mut buf = vec![0u8; len];
        self.core()?
            .read_8(addr as u64, &mut buf)
            .map_err(probe_error)?;
        Ok(buf)
    }

    fn write(&mut self, addr: u32, bytes: &[u8]) -> Result<(), LinkError> {
        self.core()?
            .write_8(addr as u64, bytes)
            .map_err(probe_error)
    }

    fn breakpoint(&mut self, addr: u32) -> Result<(), LinkError> {
        let addr = addr & !1;
        self.core()?
            .set_hw_breakpoint(addr as u64)
            .map_err(probe_error)?;
        self.breakpoints.push(addr);
        Ok(())
    }

    fn resume(&mut self, timeout: Duration) -> Result<(), LinkError> {
        let breakpoints = self.breakpoints.clone();
        let mut core = self.core()?;
        let e = probe_error;
        // Over a breakpoint the core may stand on: clear them for one step, as gdb does.
        core.clear_all_hw_breakpoints().map_err(e)?;
        core.step().map_err(e)?;
        for b in breakpoints {
            core.set_hw_breakpoint(b as u64).map_err(e)?;
        }
        core.run().map_err(e)?;
        core.wait_for_core_halted(timeout).map_err(|err| {
            let _ = core.halt(Duration::from_millis(100));
            LinkError::Timeout {
                timeout,
                message: err.to_string(),
            }
        })
    }
}

/// The probe meter of one board: the first attached probe, the board's chip, our firmware.
pub struct ProbeMeter {
    board: Board,
    chip: String,
    firmware: PathBuf,
    region: DataRegion,
    /// The open session, flashed with the firmware (once per connection).
    session: Mutex<Option<Session>>,
    /// The longest one command may take.
    pub timeout: Duration,
}

impl ProbeMeter {
    /// The meter of `board`, whose file names a probe-rs chip and its memory map, with the
    /// firmware at `firmware` (built for that board: docs/boards.md). Fails when no probe is
    /// attached.
    pub fn new(board: &Board, firmware: PathBuf) -> Result<ProbeMeter, MeasureError> {
        let bad = |what: &str| {
            MeasureError::Unreachable(format!(
                "board {}: the board file has no {what}",
                board.name
            ))
        };
        let chip = board
            .connection
            .probe_rs_chip
            .clone()
            .ok_or_else(|| bad("connection.probe_rs_chip"))?;
        let region = super::DataRegion::of(board).ok_or_else(|| {
            bad("memory map (memory.ram_origin, memory.ram_bytes, memory.firmware_ram_bytes)")
        })?;
        if !firmware.is_file() {
            return Err(MeasureError::Unreachable(format!(
                "the firmware for {} is not built ({} does not exist): run \
                 EDGENAS_BOARD={} device/firmware/build.sh (docs/boards.md)",
                board.name,
                firmware.display(),
                board.name
            )));
        }
        if list_probes(false).is_empty() {
            return Err(no_probe(board));
        }
        Ok(ProbeMeter {
            board: board.clone(),
            chip,
            firmware,
            region,
            session: Mutex::new(None),
            timeout: Duration::from_secs(60),
        })
    }

    /// Attaches to the chip and flashes the firmware, then resets the core halted.
    fn connect(&self) -> Result<Session, LinkError> {
        let probe = Lister::new()
            .list_all()
            .into_iter()
            .next()
            .ok_or_else(|| LinkError::Connection("the debug probe went away".into()))?
            .open()
            .map_err(|e| LinkError::Connection(format!("cannot open the probe: {e}")))?;
        let mut session = probe
            .attach(self.chip.as_str(), Permissions::default())
            .map_err(|e| LinkError::Connection(format!("cannot attach to {}: {e}", self.chip)))?;
        download_file(
            &mut session,
            &self.firmware,
            ElfLoader(ElfOptions::default()),
        )
        .map_err(|e| {
            LinkError::Firmware(format!("cannot flash {}: {e}", self.firmware.display()))
        })?;
        Ok(session)
    }

    /// Runs `blob` `runs` times on `input` on the board (the firmware restarted first).
    pub fn run_blob(
        &self,
        blob: &[u8],
        input: &[u8],
        runs: u32,
    ) -> Result<mailbox::BoardRun, MeasureError> {
        let fail = |source: LinkError| MeasureError::Board {
            board: self.board.name.clone(),
            via: "probe",
            source,
        };
        let symbols = FirmwareSymbols::read(&self.firmware).map_err(fail)?;
        let mut slot = self.session.lock().unwrap_or_else(|e| e.into_inner());
        if slot.is_none() {
            *slot = Some(self.connect().map_err(fail)?);
        }
        let session = slot.as_mut().expect("connected above");
        if let Err(e) = session
            .core(0)
            .and_then(|mut c| c.reset_and_halt(Duration::from_secs(2)))
        {
            // Connect afresh next time: the probe or the board may have gone.
            *slot = None;
            return Err(fail(LinkError::Connection(format!(
                "cannot reset the core: {e}"
            ))));
        }
        let mut link = ProbeLink {
            session,
            breakpoints: vec![],
        };
        let result = mailbox::run(
            &mut link,
            symbols,
            self.region,
            blob,
            input,
            None,
            runs,
            self.timeout,
        );
        if result.is_err() {
            // Connect afresh next time: the probe or the board may have gone.
            *slot = None;
        }
        result.map_err(fail)
    }
}

impl Meter for ProbeMeter {
    fn backend(&self) -> &'static str {
        "probe-rs"
    }

    fn measure(&self, bytes: &[u8], what: &str) -> Result<Measurement, MeasureError> {
        let (compiled, input) = compile_with_input(bytes, what)?;
        let run = self.run_blob(&compiled.blob, &input, 5)?;
        let cycles = run.cycles as f64;
        let ms = cycles / self.board.clock_hz as f64 * 1e3;
        Ok(Measurement {
            board: self.board.name.clone(),
            backend: self.backend().into(),
            kind: Kind::Measured,
            latency_ms: Latency {
                median: ms,
                p10: ms,
                p90: ms,
                runs: 1,
            },
            cycles: Some(cycles),
            instructions: None,
            ram_bytes: Some(run.high_water as u64),
            flash_bytes: Some(compiled.blob.len() as u64),
            warnings: vec![format!(
                "measured: {} DWT cycles of the last of 5 inferences on the board ÷ {} Hz (the \
                 firmware runs at the reset clock; see docs/boards.md)",
                run.cycles, self.board.clock_hz
            )],
            board_facts: None,
            // Each op's DWT cycles, from the stamps the firmware wrote as each op ended.
            ops: run
                .stamped_cycles()
                .map(|(_, ops)| op_profile(&compiled, None, &ops)),
            front_end: None,
        })
    }
}
