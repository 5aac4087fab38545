//! The board files shipped inside the binary, and loading a board by name or path.

use std::path::Path;

use super::{Board, parse_board};
use crate::error::FileError;

/// The shipped boards: name and the text of `boards/NAME.toml`.
pub const SHIPPED_BOARDS: &[(&str, &str)] = &[
    ("host", include_str!("../../../boards/host.toml")),
    (
        "qemu-mps2-an386",
        include_str!("../../../boards/qemu-mps2-an386.toml"),
    ),
    (
        "qemu-mps2-an500",
        include_str!("../../../boards/qemu-mps2-an500.toml"),
    ),
    (
        "nucleo-f746zg",
        include_str!("../../../boards/nucleo-f746zg.toml"),
    ),
    (
        "nucleo-l4r5zi",
        include_str!("../../../boards/nucleo-l4r5zi.toml"),
    ),
    (
        "nrf52840-dk",
        include_str!("../../../boards/nrf52840-dk.toml"),
    ),
    ("rpi-pico", include_str!("../../../boards/rpi-pico.toml")),
    (
        "raspberry-pi-4",
        include_str!("../../../boards/raspberry-pi-4.toml"),
    ),
];

/// Loads a board from a file path, or by the name of a shipped board.
pub fn load_board(name_or_path: &str) -> Result<Board, FileError> {
    let path = Path::new(name_or_path);
    if path.is_file() {
        let text = std::fs::read_to_string(path)
            .map_err(|e| FileError::file(name_or_path, format!("cannot read: {e}")))?;
        return parse_board(&text, name_or_path);
    }
    let stem = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or(name_or_path);
    let bare =
        !name_or_path.contains(std::path::MAIN_SEPARATOR) || name_or_path.starts_with("boards/");
    match SHIPPED_BOARDS.iter().find(|(n, _)| *n == stem) {
        Some((name, text)) if bare => parse_board(text, &format!("shipped:{name}")),
        _ => {
            let names: Vec<&str> = SHIPPED_BOARDS.iter().map(|(n, _)| *n).collect();
            Err(FileError::file(
                name_or_path,
                format!(
                    "no such file, and no shipped board of that name (shipped: {})",
                    names.join(", ")
                ),
            ))
        }
    }
}
