//! edgenas: hardware-aware neural architecture search for microcontrollers and small Linux
//! boards.
//!
//! This crate is the `edgenas` binary; as a library it gathers the crates it is built from
//! under one name (see `ARCHITECTURE.md`): `edgenas-model` (spaces, network IR, costs, boards,
//! weights), `edgenas-data`, `edgenas-onnx` (export and compile), `edgenas-train` (burn),
//! `edgenas-measure` (meters), `edgenas-study` (storage) and `edgenas-search` (strategies,
//! the trial loop, artefacts, reports).
#![warn(missing_docs)]

pub use edgenas_data as data;
pub use edgenas_measure as measure;
pub use edgenas_model::{
    board, candidate, cost, error, front_end, named, network, rng, shipped, space, training,
    weights,
};
pub use edgenas_onnx::{compile, export};
pub use edgenas_search::{artifacts, front, plan, proxy, report, search, strategy};
pub use edgenas_study as study;
pub use edgenas_train as train;
