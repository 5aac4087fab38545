//! Whether a network fits a board, and by how much it misses.

use serde::Serialize;

use super::{Costs, DType};
use crate::board::Board;

/// A network's needs next to a board's memory, for one datum type.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Fit {
    /// int8 or f32.
    pub dtype: &'static str,
    /// Arena, the front end's clip and scratch, and the runtime's own RAM.
    pub ram_needed_bytes: u64,
    /// The board's RAM (absent: unlimited).
    pub ram_available_bytes: Option<u64>,
    /// Model bytes, the front end's tables, and the runtime's code.
    pub flash_needed_bytes: u64,
    /// The board's flash (absent: unlimited).
    pub flash_available_bytes: Option<u64>,
    /// Available minus needed RAM (negative: it misses by that much).
    pub ram_margin_bytes: Option<i64>,
    /// Available minus needed flash (negative: it misses by that much).
    pub flash_margin_bytes: Option<i64>,
    /// Whether both fit.
    pub fits: bool,
}

/// Compares `costs` with `board` for `dtype`, with `front_end_ram` and `front_end_flash` bytes
/// of an audio front end beside the network (0 without one).
pub fn fit(
    costs: &Costs,
    front_end_ram: u64,
    front_end_flash: u64,
    board: &Board,
    dtype: DType,
) -> Fit {
    let d = costs.device(dtype);
    let ram_needed = d.peak_ram_bytes as u64 + front_end_ram + board.memory.runtime_ram_bytes;
    let flash_needed = d.model_bytes as u64 + front_end_flash + board.memory.runtime_flash_bytes;
    let margin = |avail: Option<u64>, need: u64| avail.map(|a| a as i64 - need as i64);
    let ram_margin = margin(board.memory.ram_bytes, ram_needed);
    let flash_margin = margin(board.memory.flash_bytes, flash_needed);
    Fit {
        dtype: dtype.name(),
        ram_needed_bytes: ram_needed,
        ram_available_bytes: board.memory.ram_bytes,
        flash_needed_bytes: flash_needed,
        flash_available_bytes: board.memory.flash_bytes,
        ram_margin_bytes: ram_margin,
        flash_margin_bytes: flash_margin,
        fits: ram_margin.is_none_or(|m| m >= 0) && flash_margin.is_none_or(|m| m >= 0),
    }
}
