//! Measuring latency: one [`Meter`] trait, many backends.
//!
//! A meter takes an ONNX model (ours or a user's) and returns a [`Measurement`]: latency
//! statistics in milliseconds and, where the backend knows them, cycles, RAM and flash, with
//! the backend's name and whether the figure is *measured* or *predicted*. This module has
//! meters: [`TractMeter`] times the model with tract on the machine edgenas runs on,
//! [`Simulator`] predicts a board's latency from the work of each node (as tract types the
//! model) and the board file's cost model, [`QemuMeter`] counts instructions of our firmware on
//! an emulated Cortex-M, [`AgentMeter`] has `edgenas-agent` time the model on a Linux board,
//! and `mcu::probe` runs our firmware on a real microcontroller through a debug probe.

mod agent;
mod calibrate;
mod host;
mod kernel_calibration;
pub mod kernel_model;
pub mod mcu;
mod nnls;
pub mod qemu;
mod retry;
mod simulator;
mod stats;
pub mod work;

pub use agent::{AgentMeter, TOKEN_VARIABLE};
pub use calibrate::{
    CalibrationPoint, CostCalibration, agreement, calibrate, export_untrained, fit_cost_model,
    fit_quality, micro_models,
};
pub use edgenas_wire::{BoardFacts, Latency, Timer};
pub use host::TractMeter;
pub use kernel_calibration::{calibrate_kernels, compiled_counts, kernel_models, measure_sample};
pub use mcu::{BoardRun, DataRegion, OpProfile};
pub use qemu::QemuMeter;
pub use retry::{RETRY_WAITS, Retrying};
pub use simulator::{Simulator, predict_cycles};
pub use stats::spearman;

use std::time::Duration;

use serde::Serialize;

use edgenas_model::board::{Board, BoardKind};
use edgenas_model::candidate::Candidate;
use edgenas_model::named::Named;

/// Whether a figure was measured on the target or predicted by a model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Timed by running the model.
    Measured,
    /// Computed from a cost model.
    Predicted,
    /// Counted on an emulated board (instructions in QEMU × cycles per instruction).
    Emulated,
}

/// What a meter reports about one model on one board.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Measurement {
    /// The board.
    pub board: String,
    /// The backend that produced the figures (`tract-host`, `simulator`).
    pub backend: String,
    /// Measured or predicted.
    pub kind: Kind,
    /// Latency of one inference.
    pub latency_ms: Latency,
    /// Cycles of one inference, where the backend counts or predicts them.
    pub cycles: Option<f64>,
    /// Instructions of one inference, where the backend counts them.
    pub instructions: Option<u64>,
    /// RAM the runtime used, where the backend knows it.
    pub ram_bytes: Option<u64>,
    /// Bytes the model takes in flash (its file).
    pub flash_bytes: Option<u64>,
    /// What the user should know about the figures (fallbacks, estimates).
    pub warnings: Vec<String>,
    /// The board as the agent on it describes itself (Linux boards only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub board_facts: Option<BoardFacts>,
    /// Instructions op by op (emulated boards only), in the order the ops run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ops: Option<Vec<OpProfile>>,
    /// The audio front end's share, when the measurement ran one before the network (its
    /// latency is included in `latency_ms`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub front_end: Option<FrontEndShare>,
}

/// What the front end took of a measurement that ran one.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FrontEndShare {
    /// Its latency (of the total `latency_ms`).
    pub latency_ms: f64,
    /// Its instructions, where the backend counts them.
    pub instructions: Option<u64>,
    /// Its cycles, where the backend counts them (an emulated core's cycle model).
    pub cycles: Option<f64>,
}

/// Why a model cannot be measured.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MeasureError {
    /// The model file cannot be read, parsed or run.
    #[error("{0}")]
    Model(String),
    /// tract cannot load or run the model.
    #[error(transparent)]
    Tract(#[from] edgenas_wire::tract::TractFailure),
    /// The model does not compile for the device engine.
    #[error(transparent)]
    Compile(#[from] edgenas_onnx::compile::CompileError),
    /// A compiled blob does not load or run in the device engine.
    #[error("the device blob: {0}")]
    Engine(#[from] edgenas_engine::Error),
    /// A front-end blob cannot be read.
    #[error("the front end of {what}: {source}")]
    FrontEnd {
        /// The model it feeds.
        what: String,
        /// Why.
        source: edgenas_engine::front_end::FrontEndError,
    },
    /// The board file has no cost model for the simulator.
    #[error("board {0} has no [cost_model]; the simulator needs one (see docs/boards.md)")]
    NoCostModel(String),
    /// The meter cannot reach the board (no agent configured, a refusal, no probe attached):
    /// trying again will not help.
    #[error("{0}")]
    Unreachable(String),
    /// The board could not be reached at this moment, or the link to it dropped mid-way
    /// (refused or reset connections, an agent gone silent): trying again may work
    /// ([`Retrying`]).
    #[error("{0}")]
    Lost(String),
    /// A file cannot be written or a model cannot be exported.
    #[error("{0}")]
    Io(String),
    /// Talking to a Cortex-M board (emulated or real) through its debug link failed.
    #[error("{board} ({via}): {source}")]
    Board {
        /// The board's name.
        board: String,
        /// `QEMU` or `probe`.
        via: &'static str,
        /// What failed.
        source: mcu::LinkError,
    },
}

impl MeasureError {
    /// Whether the board could not hold the model in its RAM (a property of the model and the
    /// board, not a failure of the meter).
    pub fn is_too_big(&self) -> bool {
        matches!(
            self,
            MeasureError::Board {
                source: mcu::LinkError::TooBig { .. },
                ..
            }
        )
    }

    /// Whether the failure is the link's at this moment, not the model's or the setup's: a
    /// lost agent connection, or a debug probe that could not be opened or stopped answering.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            MeasureError::Lost(_)
                | MeasureError::Board {
                    via: "probe",
                    source: mcu::LinkError::Connection(_) | mcu::LinkError::NoAnswer,
                    ..
                }
        )
    }
}

/// One backend that measures or predicts a model's latency on a board.
pub trait Meter {
    /// The backend's name, as in [`Measurement::backend`].
    fn backend(&self) -> &'static str;
    /// Measures the model in `bytes`; `what` (a file name) names it in errors.
    fn measure(&self, bytes: &[u8], what: &str) -> Result<Measurement, MeasureError>;
    /// Why this meter stands in for the board's own (the `auto` choice could not reach it),
    /// if it does: said once by a search, and with every measurement.
    fn fallback(&self) -> Option<&str> {
        None
    }
}

/// The simulator standing in for a board's own meter that `auto` could not reach: each
/// measurement says so in its warnings, so a prediction is never taken for a measurement.
struct Fallback {
    simulator: Simulator,
    why: String,
}

impl Fallback {
    fn boxed(board: &Board, why: String) -> Result<Box<dyn Meter>, MeasureError> {
        Ok(Box::new(Fallback {
            simulator: Simulator::new(board.clone())?,
            why: format!("{why}; latency is predicted by the simulator instead"),
        }))
    }
}

impl Meter for Fallback {
    fn backend(&self) -> &'static str {
        self.simulator.backend()
    }

    fn measure(&self, bytes: &[u8], what: &str) -> Result<Measurement, MeasureError> {
        let mut m = self.simulator.measure(bytes, what)?;
        m.warnings.insert(0, self.why.clone());
        Ok(m)
    }

    fn fallback(&self) -> Option<&str> {
        Some(&self.why)
    }
}

/// Which meter to use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MeterChoice {
    /// The board's own measuring meter where edgenas has one, else the simulator.
    Auto,
    /// tract on this machine (board `host`).
    Tract,
    /// The cost-model simulator.
    Simulator,
    /// Our firmware on the emulated board in QEMU (boards of kind `emulator`).
    Qemu,
    /// Our firmware on a real board through a debug probe (probe-rs; boards with
    /// `connection.probe_rs_chip`).
    Probe,
    /// `edgenas-agent` on a Linux board (boards with `connection.agent`).
    Agent,
}

impl Named for MeterChoice {
    const ALL: &'static [MeterChoice] = &[
        MeterChoice::Auto,
        MeterChoice::Tract,
        MeterChoice::Simulator,
        MeterChoice::Qemu,
        MeterChoice::Probe,
        MeterChoice::Agent,
    ];

    fn name(self) -> &'static str {
        match self {
            MeterChoice::Auto => "auto",
            MeterChoice::Tract => "tract",
            MeterChoice::Simulator => "simulator",
            MeterChoice::Qemu => "qemu",
            MeterChoice::Probe => "probe",
            MeterChoice::Agent => "agent",
        }
    }

    fn help(self) -> &'static str {
        match self {
            MeterChoice::Auto => {
                "The board's own measuring meter where edgenas has one, else the simulator"
            }
            MeterChoice::Tract => "tract on this machine (board `host`)",
            MeterChoice::Simulator => "The cost-model simulator",
            MeterChoice::Qemu => {
                "Our firmware on the emulated board in QEMU (boards of kind `emulator`)"
            }
            MeterChoice::Probe => {
                "Our firmware on a real board through a debug probe (probe-rs; boards with \
                 `connection.probe_rs_chip`)"
            }
            MeterChoice::Agent => {
                "`edgenas-agent` on a Linux board (boards with `connection.agent`)"
            }
        }
    }
}

impl std::fmt::Display for MeterChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The meter for `board`; the meters that time runs (tract, the agent) time them with
/// `timer`. `Auto` gives the tract meter for the host, the QEMU meter for an emulated board
/// when the firmware and the plugin are built, the probe meter for a microcontroller when a
/// probe is attached and the board's firmware is built, the agent meter for a Linux board whose
/// agent answers, and else the simulator; an agent that answers but refuses (a wrong token) is
/// an error, not a fallback.
pub fn meter_for(
    board: &Board,
    choice: MeterChoice,
    timer: Timer,
) -> Result<Box<dyn Meter>, MeasureError> {
    match (choice, board.kind) {
        (MeterChoice::Tract, BoardKind::Host) | (MeterChoice::Auto, BoardKind::Host) => {
            Ok(Box::new(TractMeter::new(&board.name, timer)))
        }
        (MeterChoice::Tract, kind) => Err(MeasureError::Unreachable(format!(
            "the tract meter times the machine edgenas runs on (board `host`); board {} is a \
             {} board: use its own meter (--meter probe for a microcontroller on a debug probe, \
             --meter qemu for an emulated one) or --meter simulator",
            board.name,
            format!("{kind:?}").to_lowercase()
        ))),
        (MeterChoice::Qemu, BoardKind::Emulator) => Ok(Box::new(QemuMeter::new(board)?)),
        (MeterChoice::Qemu, _) => Err(MeasureError::Unreachable(format!(
            "the QEMU meter runs emulated boards (qemu-mps2-an386, qemu-mps2-an500); {} is not one",
            board.name
        ))),
        (MeterChoice::Auto, BoardKind::Emulator) => match QemuMeter::new(board) {
            Ok(m) => Ok(Box::new(m)),
            Err(e) => Fallback::boxed(
                board,
                format!("QEMU cannot run board {} here: {e}", board.name),
            ),
        },
        (MeterChoice::Probe, BoardKind::Mcu) => probe_meter(board),
        (MeterChoice::Probe, _) => Err(MeasureError::Unreachable(format!(
            "the probe meter runs real microcontroller boards; {} is not one",
            board.name
        ))),
        (MeterChoice::Auto, BoardKind::Mcu) => match probe_meter(board) {
            Ok(m) => Ok(m),
            Err(e) => Fallback::boxed(
                board,
                format!(
                    "board {} is not measured on the board itself: {e}",
                    board.name
                ),
            ),
        },
        (MeterChoice::Agent, BoardKind::Linux) => {
            Ok(retrying(board, AgentMeter::new(board, timer)?))
        }
        (MeterChoice::Agent, _) => Err(MeasureError::Unreachable(format!(
            "the agent meter runs Linux boards (kind = \"linux\" with connection.agent); {} is \
             not one",
            board.name
        ))),
        (MeterChoice::Auto, BoardKind::Linux) if board.connection.agent.is_some() => {
            let agent = AgentMeter::new(board, timer)?;
            if agent.answers()? {
                Ok(retrying(board, agent))
            } else {
                let address = board.connection.agent.as_deref().unwrap_or_default();
                Fallback::boxed(
                    board,
                    format!(
                        "no edgenas-agent answers for board {} at {address} (start it on the \
                         board: docs/boards.md)",
                        board.name
                    ),
                )
            }
        }
        (MeterChoice::Simulator, _) | (MeterChoice::Auto, _) => {
            Ok(Box::new(Simulator::new(board.clone())?))
        }
    }
}

/// The meter that measures on `board` itself, for calibration: tract for the host, QEMU for an
/// emulated board, the probe for a microcontroller, the agent for a Linux board. Never the
/// simulator, whose figures come from the cost model being fitted.
pub fn board_meter(board: &Board, timer: Timer) -> Result<Box<dyn Meter>, MeasureError> {
    let choice = match board.kind {
        BoardKind::Host => MeterChoice::Tract,
        BoardKind::Emulator => MeterChoice::Qemu,
        BoardKind::Mcu => MeterChoice::Probe,
        BoardKind::Linux => MeterChoice::Agent,
    };
    meter_for(board, choice, timer)
}

/// The probe meter of `board`: our firmware on it through the first attached debug probe.
#[cfg(feature = "probe")]
fn probe_meter(board: &Board) -> Result<Box<dyn Meter>, MeasureError> {
    let firmware = mcu::firmware_path(board);
    Ok(retrying(
        board,
        mcu::probe::ProbeMeter::new(board, firmware)?,
    ))
}

/// `meter` of `board`, tried again when its link fails, after the board file's waits or
/// [`RETRY_WAITS`] ([`Retrying`]).
fn retrying(board: &Board, meter: impl Meter + 'static) -> Box<dyn Meter> {
    let waits: Vec<Duration> = match &board.connection.retry_waits_seconds {
        Some(seconds) => seconds
            .iter()
            .map(|&s| Duration::from_secs_f64(s))
            .collect(),
        None => RETRY_WAITS.to_vec(),
    };
    Box::new(Retrying::new(Box::new(meter), &waits))
}

/// Without the `probe` feature there is no probe meter.
#[cfg(not(feature = "probe"))]
fn probe_meter(board: &Board) -> Result<Box<dyn Meter>, MeasureError> {
    Err(MeasureError::Unreachable(format!(
        "board {}: this edgenas was built without the `probe` feature (probe-rs); build it \
         with default features to measure on a real board",
        board.name
    )))
}

/// Exports `candidate` with initial random weights (seed `seed`) and measures it: latency does
/// not depend on weight values, so a candidate over the latency limit can be rejected before
/// it is trained. `int8` exports the QDQ model (with placeholder activation ranges, which
/// change no op and no shape).
pub fn latency_before_training(
    candidate: &Candidate,
    meter: &dyn Meter,
    int8: bool,
    seed: u64,
) -> Result<Measurement, MeasureError> {
    let bytes = export_untrained(&candidate.network, int8, seed)?;
    meter.measure(&bytes, &candidate.genotype.to_string())
}
