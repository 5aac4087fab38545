//! edgenas: hardware-aware neural architecture search for microcontrollers and small Linux
//! boards.
//!
//! The pipeline, one module per step (see `ARCHITECTURE.md`): a [`space`] file gives a
//! [`space::Genotype`]; [`network::decode`] builds its IR; [`cost`] computes its exact static
//! costs with the device engine's planner; [`board`] says whether it fits.
#![warn(missing_docs)]

pub mod board;
pub mod candidate;
pub mod compile;
pub mod cost;
pub mod data;
pub mod error;
pub mod export;
pub mod measure;
pub mod network;
pub mod report;
pub mod rng;
pub mod search;
pub mod shipped;
pub mod space;
pub mod strategy;
pub mod study;
pub mod train;
pub mod weights;
