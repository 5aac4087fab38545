//! `edgenas-engine`: what runs on a board.
//!
//! This crate is `#![no_std]`; its only `unsafe` code is inline assembly of Cortex-M DSP
//! instructions (`kernels/dsp.rs`, with the `dsp` feature on Arm): one instruction each on
//! registers, and the convolution's inner loop, which reads only the slices it is given. It holds the pieces that the host and
//! the device must agree on byte for byte:
//!
//! * [`blob`]: the device model format: reading a blob without copying it and (with `alloc`)
//!   writing one; [`check`] validates a blob before anything runs, so that an untrusted file
//!   can only produce an [`Error`];
//! * [`Engine`]: runs a blob in a caller-provided arena, with no allocation, and reports the
//!   arena's high-water mark;
//! * [`kernels`]: f32 and int8 kernels (NCHW, batch 1), with [`requant`]'s fixed-point
//!   requantisation for int8;
//! * [`front_end`]: the audio front end in integers (clip → the network's int8 input);
//! * [`dtype`] and [`format`]: element types and the size rules of a blob (the flash figure);
//! * [`planner`] (feature `alloc`): the arena planner that lays every intermediate tensor out in
//!   one buffer. The host calls it to compute the peak RAM of a candidate before training and
//!   to place the tensors of a blob; the engine's high-water mark after a run equals it.
#![no_std]
#![deny(unsafe_code)]
#![warn(missing_docs)]

#[cfg(target_endian = "big")]
compile_error!("the blob format is little-endian and the engine reads it in place");

#[cfg(feature = "alloc")]
extern crate alloc;

pub mod blob;
pub mod check;
mod crc;
pub mod dtype;
mod engine;
mod error;
pub mod format;
pub mod front_end;
pub mod kernels;
#[cfg(feature = "alloc")]
pub mod planner;
pub mod requant;

pub use crc::crc32;
pub use dtype::DType;
pub use engine::Engine;
pub use error::Error;
