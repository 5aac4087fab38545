//! edgenas's ONNX side: [`export`] writes trained networks as ONNX (f32, int8 QDQ and the
//! int8 operator form) with our own reference interpreter to check them, and [`compile`]
//! reads an ONNX file into the engine's device blob.
#![warn(missing_docs)]

pub mod compile;
pub mod export;
mod layers;
