//! `edgenas-engine`: what runs on a board.
//!
//! This crate is `#![no_std]`. It holds the pieces that the host and the device must agree on
//! byte for byte:
//!
//! * [`dtype`]: the element types a tensor can have on a device;
//! * [`format`]: how many bytes each part of a device model takes (the flash figure);
//! * [`planner`] (feature `alloc`): the arena planner that lays every intermediate tensor out in
//!   one buffer. The host calls it to compute the peak RAM of a candidate before training; the
//!   firmware reports the arena it really used, and the two must be equal.
//!
//! Kernels and the device model reader come with later work; the planner and the size rules are
//! the single source of truth for the memory figures edgenas promises.
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

#[cfg(feature = "alloc")]
extern crate alloc;

pub mod dtype;
pub mod format;
#[cfg(feature = "alloc")]
pub mod planner;

pub use dtype::DType;
