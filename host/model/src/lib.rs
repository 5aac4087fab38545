//! edgenas's model of a candidate network, and everything known about it before training.
//!
//! A [`space`] file gives a [`space::Genotype`]; [`network::decode`] builds its IR; [`cost`]
//! computes its exact static costs with the device engine's planner; [`board`] says whether it
//! fits; [`weights`] holds a network's parameters in ONNX layouts. This crate names no burn,
//! tract, ONNX or clap type: its dependency list is the proof.
#![warn(missing_docs)]

pub mod board;
pub mod candidate;
pub mod cost;
pub mod error;
pub mod front_end;
pub mod named;
pub mod network;
pub mod rng;
pub mod shipped;
pub mod space;
pub mod training;
pub mod weights;
