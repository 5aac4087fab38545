//! Boards: where a model runs, read from `boards/*.toml` (documented in `docs/boards.md`).
//!
//! A board file says what the board is (kind, core, clock), how much RAM and flash it has and
//! how much of each the runtime itself takes, how to reach it, and the coefficients of its
//! latency cost model. Boards are data: adding one is adding a file.

mod cycle_table;
mod shipped;

pub use cycle_table::{CLASSES, CYCLE_TABLES, CycleTable};
pub use shipped::{SHIPPED_BOARDS, load_board};

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::FileError;

/// What kind of machine a board is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BoardKind {
    /// A microcontroller reached through a debug probe or a gdb server.
    Mcu,
    /// A Linux board running the edgenas agent.
    Linux,
    /// The machine edgenas runs on.
    Host,
    /// An emulated microcontroller (QEMU).
    Emulator,
}

/// Memory of the board and the share its runtime takes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Memory {
    /// RAM in bytes (absent: not limited, as on the host).
    pub ram_bytes: Option<u64>,
    /// Flash (or storage for the model) in bytes (absent: not limited).
    pub flash_bytes: Option<u64>,
    /// RAM the runtime itself needs besides the arena: stack, mailbox, state.
    #[serde(default)]
    pub runtime_ram_bytes: u64,
    /// Flash the runtime's own code and data take.
    #[serde(default)]
    pub runtime_flash_bytes: u64,
    /// Microcontrollers: the address of the first byte of flash (the firmware's `memory.x`).
    pub flash_origin: Option<u64>,
    /// Microcontrollers: the address of the first byte of RAM.
    pub ram_origin: Option<u64>,
    /// Microcontrollers: the RAM the firmware keeps for itself from `ram_origin` (data, stack,
    /// mailbox); the host puts the blob, the arena, the input and the output above it when it
    /// measures a model on the board.
    pub firmware_ram_bytes: Option<u64>,
}

/// How edgenas reaches the board.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Connection {
    /// probe-rs chip name (`STM32F746ZGTx`).
    pub probe_rs_chip: Option<String>,
    /// Address of a gdb server serving the board (`127.0.0.1:3333`).
    pub gdb: Option<String>,
    /// Address of the edgenas agent on a Linux board (`raspberrypi.local:7878`).
    pub agent: Option<String>,
    /// A file that holds the agent's shared token (the environment variable
    /// `EDGENAS_AGENT_TOKEN` wins over it). The token itself never goes in a board file.
    pub agent_token_file: Option<String>,
    /// QEMU machine of an emulated board (`mps2-an386`).
    pub qemu_machine: Option<String>,
    /// Emulated boards: core cycles per executed instruction, which turns the exact
    /// instruction count of the QEMU meter into cycles and latency (default 1).
    pub cycles_per_instruction: Option<f64>,
    /// Boards behind a link (agent, probe): seconds to wait before each new attempt when a
    /// measurement failed because the link did (default 2 and 20: three attempts); `[]`
    /// never tries again.
    pub retry_waits_seconds: Option<Vec<f64>>,
}

/// Cycles per unit of work for one datum type.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpCosts {
    /// Cycles per MAC of a general convolution.
    pub conv: f64,
    /// Cycles per MAC of a depthwise convolution.
    pub depthwise: f64,
    /// Cycles per MAC of a 1×1 convolution.
    pub pointwise: f64,
    /// Cycles per MAC of a dense layer.
    pub dense: f64,
    /// Cycles per input element of a pooling layer.
    pub pool: f64,
    /// Cycles per input element of an average pool, where it differs from `pool` (on the host,
    /// tract's average pool is several times slower than its max pool).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avg_pool: Option<f64>,
    /// Cycles per element of an element-wise op (add, activation, batch norm, softmax).
    pub elementwise: f64,
    /// Cycles per output element of each op kind, beside the cycles per unit of work above:
    /// what an op costs per pixel it writes (loop set-up, bias, requantisation), which a
    /// 7×7 depthwise convolution spreads over more MACs than a 3×3 one. 0 when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_output: Option<OutputCosts>,
}

/// Cycles per output element, by op kind (an element-wise op's is its cost per unit).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OutputCosts {
    /// A general convolution.
    pub conv: f64,
    /// A depthwise convolution.
    pub depthwise: f64,
    /// A 1×1 convolution.
    pub pointwise: f64,
    /// A dense layer.
    pub dense: f64,
    /// A max or global pool.
    pub pool: f64,
    /// An average pool.
    pub avg_pool: f64,
}

/// The latency cost model: cycles per unit of work, and a fixed cost per op.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CostModel {
    /// `estimate` (a starting point from published kernel figures) or `calibrated`.
    pub source: String,
    /// When the coefficients were fitted (`YYYY-MM-DD`), for calibrated models.
    pub calibrated_on: Option<String>,
    /// Fixed cycles per op (dispatch, loop set-up).
    pub node_overhead_cycles: f64,
    /// Fixed cycles per inference (invoking the runtime), 0 when absent.
    #[serde(default)]
    pub model_overhead_cycles: f64,
    /// Cycles per unit for int8 models.
    pub int8: OpCosts,
    /// Cycles per unit for f32 models.
    pub f32: OpCosts,
    /// How well the coefficients fitted the calibration models, for calibrated models.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fit: Option<CostFit>,
}

/// The quality of a cost model's fit on the models it was fitted to.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CostFit {
    /// How many models.
    pub models: usize,
    /// The median relative error of the predictions, in percent.
    pub median_error_percent: f64,
    /// The share of predictions within ±10 % of the measurement, in percent.
    pub within_10_percent: f64,
    /// Spearman's rank correlation of predictions and measurements.
    pub spearman: f64,
}

/// The per-kernel latency model: for each kernel the engine runs (`int8 conv`, `f32
/// depthwise`, …), cycles per unit of each of its loop counts (`macs`, `outputs`, `rows`, …, as
/// `edgenas_measure::kernel_model` computes them from the compiled op), plus the fixed cycles of
/// an inference. Fitted by `edgenas calibrate` on kernels measured one by one on an emulated
/// board (docs/measure.md).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KernelModel {
    /// `calibrated`.
    pub source: String,
    /// When it was fitted (`YYYY-MM-DD`).
    pub calibrated_on: Option<String>,
    /// The board whose meter measured the kernels.
    pub measured_on: String,
    /// Cycles per unit of an inference's own loop counts (`inference`, `input`, `output`).
    pub inference: BTreeMap<String, f64>,
    /// Cycles per unit of each loop count, by kernel.
    pub kernels: BTreeMap<String, BTreeMap<String, f64>>,
    /// How well it fitted the calibration models (whole models, not single kernels).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fit: Option<CostFit>,
}

/// A parsed, validated board file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Board {
    /// Short name (`nucleo-f746zg`).
    pub name: String,
    /// One line: the board, its chip, its core and clock.
    #[serde(default)]
    pub description: String,
    /// What kind of machine it is.
    pub kind: BoardKind,
    /// The CPU core (`cortex-m7`).
    pub core: String,
    /// Core clock in Hz.
    pub clock_hz: u64,
    /// RAM and flash.
    pub memory: Memory,
    /// How to reach it.
    #[serde(default)]
    pub connection: Connection,
    /// The latency cost model.
    pub cost_model: Option<CostModel>,
    /// Microcontrollers: the emulated board of the same core whose kernel model this board
    /// inherits while it has none of its own (`qemu-mps2-an500` for a Cortex-M7): the same
    /// cycles, at this board's clock.
    pub emulated_twin: Option<String>,
    /// The per-kernel latency model, where calibrated: the simulator predicts from it in place
    /// of `cost_model`.
    pub kernel_model: Option<KernelModel>,
    /// Where the board was read from (filled in by the reader).
    #[serde(skip)]
    pub source: String,
}

const CORES: &[&str] = &[
    "cortex-m0+",
    "cortex-m3",
    "cortex-m4",
    "cortex-m4f",
    "cortex-m7",
    "cortex-m33",
    "cortex-m55",
    "cortex-a53",
    "cortex-a72",
    "cortex-a76",
    "x86_64",
    "aarch64",
];

/// Parses and validates the text of a board file. `file` names it in errors.
pub fn parse_board(text: &str, file: &str) -> Result<Board, FileError> {
    let mut board: Board =
        toml::from_str(text).map_err(|e| FileError::file(file, e.to_string()))?;
    board.source = file.to_string();
    let fail = |key: &str, message: String| FileError {
        file: file.to_string(),
        line: None,
        key: Some(key.to_string()),
        message,
    };
    if board.name.trim().is_empty() {
        return Err(fail("name", "must not be empty".into()));
    }
    if !CORES.contains(&board.core.as_str()) {
        return Err(fail(
            "core",
            format!(
                "unknown core `{}`; expected one of {}",
                board.core,
                CORES.join(", ")
            ),
        ));
    }
    if board.clock_hz == 0 {
        return Err(fail("clock_hz", "must be above 0".into()));
    }
    let m = &board.memory;
    for (key, total, runtime) in [
        ("memory.ram_bytes", m.ram_bytes, m.runtime_ram_bytes),
        ("memory.flash_bytes", m.flash_bytes, m.runtime_flash_bytes),
    ] {
        match total {
            Some(0) => return Err(fail(key, "must be above 0".into())),
            Some(t) if runtime >= t => {
                return Err(fail(
                    key,
                    format!("{t} bytes leave nothing beside the runtime's {runtime}"),
                ));
            }
            None if matches!(board.kind, BoardKind::Mcu | BoardKind::Emulator) => {
                return Err(fail(
                    key,
                    "a microcontroller board must state its memory".into(),
                ));
            }
            _ => {}
        }
    }
    if let (Some(fw), Some(ram)) = (m.firmware_ram_bytes, m.ram_bytes)
        && fw >= ram
    {
        return Err(fail(
            "memory.firmware_ram_bytes",
            format!("{fw} bytes leave no RAM of the {ram} for the model"),
        ));
    }
    let c = &board.connection;
    let (key, present) = match board.kind {
        BoardKind::Mcu => (
            "connection.probe_rs_chip or connection.gdb",
            c.probe_rs_chip.is_some() || c.gdb.is_some(),
        ),
        BoardKind::Linux => ("connection.agent", c.agent.is_some()),
        BoardKind::Emulator => ("connection.qemu_machine", c.qemu_machine.is_some()),
        BoardKind::Host => ("", true),
    };
    if !present {
        return Err(fail(
            key,
            format!("a board of kind {:?} needs it", board.kind).to_lowercase(),
        ));
    }
    if let Some(cpi) = c
        .cycles_per_instruction
        .filter(|v| !(v.is_finite() && *v > 0.0))
    {
        return Err(fail(
            "connection.cycles_per_instruction",
            format!("must be a positive number, found {cpi}"),
        ));
    }
    if let Some(waits) = &c.retry_waits_seconds
        && (waits.len() > 10 || waits.iter().any(|w| !(0.0..=3600.0).contains(w)))
    {
        return Err(fail(
            "connection.retry_waits_seconds",
            format!("at most 10 waits of 0 to 3600 seconds, found {waits:?}"),
        ));
    }
    if let Some(cm) = &board.cost_model {
        if !["estimate", "calibrated"].contains(&cm.source.as_str()) {
            return Err(fail(
                "cost_model.source",
                format!("expected `estimate` or `calibrated`, found `{}`", cm.source),
            ));
        }
        let all = [&cm.int8, &cm.f32].into_iter().flat_map(|o| {
            [
                o.conv,
                o.depthwise,
                o.pointwise,
                o.dense,
                o.pool,
                o.avg_pool.unwrap_or(o.pool),
                o.elementwise,
                o.per_output.as_ref().map_or(0.0, |p| {
                    [
                        p.conv,
                        p.depthwise,
                        p.pointwise,
                        p.dense,
                        p.pool,
                        p.avg_pool,
                    ]
                    .into_iter()
                    .fold(0.0, f64::min)
                }),
                cm.node_overhead_cycles,
                cm.model_overhead_cycles,
            ]
        });
        if all.clone().any(|x| !(x >= 0.0 && x.is_finite())) {
            return Err(fail(
                "cost_model",
                "coefficients must be finite and not negative".into(),
            ));
        }
    }
    if let Some(km) = &board.kernel_model {
        let all = km
            .inference
            .values()
            .chain(km.kernels.values().flat_map(|k| k.values()));
        if all.copied().any(|x| !(x >= 0.0 && x.is_finite())) {
            return Err(fail(
                "kernel_model",
                "coefficients must be finite and not negative".into(),
            ));
        }
    }
    Ok(board)
}
