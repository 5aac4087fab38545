//! Cycle models of the cores the emulated boards stand for: what each class of instruction
//! costs, for the QEMU plugin, which decodes every executed instruction into these classes
//! (`device/qemu-plugin/icount.c`) and adds up their cycles.
//!
//! Sources and assumptions (docs/measure.md has the whole list):
//! - **Cortex-M4/M4F**: the Cortex-M4 Technical Reference Manual (ARM DDI 0439), table 3-1
//!   (instruction set summary) and the FPU's instruction table; zero wait states (the MPS2
//!   boards' SRAM; a board with flash wait states and no cache is slower than this). Where the
//!   manual gives a range, the table takes: a pipeline refill P = 2 cycles (1–3), a division
//!   7 cycles (2–12, operand-dependent).
//! - **Cortex-M7**: ARM publishes no cycle table. The estimate is a single-issue core with
//!   every load and branch predicted and cached (one cycle each), so it leaves out dual issue
//!   (faster) and cache misses and mispredictions (slower).

use crate::front_end::FrontEndCycles;

/// The instruction classes, in the plugin's order (`enum class` in icount.c).
pub const CLASSES: [&str; 16] = [
    "alu",
    "load",
    "store",
    "pipelined load/store",
    "load/store multiple",
    "register of a multiple",
    "multiply",
    "multiply-accumulate",
    "divide",
    "branch",
    "conditional branch",
    "fp",
    "fp multiply-accumulate",
    "fp divide/sqrt",
    "fp load/store",
    "fp load/store multiple",
];

/// The cycles of each instruction class on one core.
#[derive(Clone, Debug, PartialEq)]
pub struct CycleTable {
    /// The cores it models, as board files name them.
    pub cores: &'static [&'static str],
    /// Where the figures come from, in words.
    pub source: &'static str,
    /// Cycles of each class of [`CLASSES`].
    pub cycles: [f64; 16],
    /// Cycles a taken conditional branch adds, or a load that writes the PC.
    pub refill: f64,
    /// The audio front end's cycles on the core under this table, fitted (least squares of the
    /// relative error) to the plugin's counts of 16 front ends — 8 and 16 kHz, transforms of
    /// 128 to 1,024 points, 20–40 mel bands, 10 or 13 coefficients (`bench/front-end.sh`,
    /// docs/keyword-spotting.md): within 2.5 % of every one on the M4, 2.3 % on the M7; and
    /// the peak pass of [`LogFloor::Peak`](crate::front_end::LogFloor) per sample, measured
    /// on its own (a clip's cycles with the peak floor less those with the fixed one).
    pub front_end: FrontEndCycles,
}

/// The tables of the cores with an emulated board.
pub const CYCLE_TABLES: [CycleTable; 2] = [
    CycleTable {
        cores: &["cortex-m4", "cortex-m4f"],
        source: "Cortex-M4 TRM (ARM DDI 0439) table 3-1 and FPU table, zero wait states, P = 2, divide 7",
        cycles: [
            1.0, 2.0, 2.0, 1.0, 1.0, 1.0, 1.0, 1.0, 7.0, 3.0, 1.0, 1.0, 3.0, 14.0, 2.0, 1.0,
        ],
        refill: 2.0,
        front_end: FrontEndCycles {
            per_point: 100.66,
            per_butterfly: 13.31,
            per_band: 125.9,
            per_dct_mac: 8.05,
            per_sample: 3.51,
        },
    },
    CycleTable {
        cores: &["cortex-m7"],
        source: "estimate (no published table): single issue, loads and branches hit and predicted, divide 7",
        cycles: [
            1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 7.0, 1.0, 1.0, 1.0, 1.0, 14.0, 1.0, 1.0,
        ],
        refill: 0.0,
        front_end: FrontEndCycles {
            per_point: 79.94,
            per_butterfly: 14.18,
            per_band: 109.74,
            per_dct_mac: 6.0,
            per_sample: 2.76,
        },
    },
];

impl CycleTable {
    /// The table of `core` (a board file's `core`), if there is one.
    pub fn of(core: &str) -> Option<&'static CycleTable> {
        let core = core.to_ascii_lowercase();
        CYCLE_TABLES
            .iter()
            .find(|t| t.cores.contains(&core.as_str()))
    }

    /// The plugin's `table=` argument: each class's cycles and the refill, in quarter cycles.
    pub fn plugin_argument(&self) -> String {
        let quarters: Vec<String> = self
            .cycles
            .iter()
            .chain([&self.refill])
            .map(|c| ((c * 4.0).round() as u64).to_string())
            .collect();
        format!("table={}", quarters.join(":"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_m4_table_is_the_manuals_in_quarter_cycles() {
        let m4 = CycleTable::of("Cortex-M4F").unwrap();
        assert_eq!(
            m4.plugin_argument(),
            "table=4:8:8:4:4:4:4:4:28:12:4:4:12:56:8:4:8"
        );
        assert!(CycleTable::of("cortex-m7").is_some());
        assert!(CycleTable::of("cortex-m0+").is_none());
    }
}
