//! The board files shipped inside the binary, and loading a board by name or path.

use super::{Board, parse_board};
use crate::error::FileError;

/// The shipped boards: name and the text of `boards/NAME.toml`.
pub const SHIPPED_BOARDS: &[(&str, &str)] = &[
    ("host", include_str!("../../boards/host.toml")),
    (
        "qemu-mps2-an386",
        include_str!("../../boards/qemu-mps2-an386.toml"),
    ),
    (
        "qemu-mps2-an500",
        include_str!("../../boards/qemu-mps2-an500.toml"),
    ),
    (
        "nucleo-f746zg",
        include_str!("../../boards/nucleo-f746zg.toml"),
    ),
    (
        "nucleo-l4r5zi",
        include_str!("../../boards/nucleo-l4r5zi.toml"),
    ),
    ("nrf52840-dk", include_str!("../../boards/nrf52840-dk.toml")),
    ("rpi-pico", include_str!("../../boards/rpi-pico.toml")),
    (
        "raspberry-pi-4",
        include_str!("../../boards/raspberry-pi-4.toml"),
    ),
];

/// Loads a board from a file path, or by the name of a shipped board.
pub fn load_board(name_or_path: &str) -> Result<Board, FileError> {
    let (text, source) =
        crate::shipped::read_named(name_or_path, SHIPPED_BOARDS, "boards", "board")?;
    parse_board(&text, &source)
}
