//! Why a blob cannot be loaded or run.

use core::fmt;

use crate::blob::BlobError;

/// An error of [`crate::Engine`]: a bad blob, a bad buffer, or a wrong-sized input or output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// The bytes are not a readable blob.
    Blob(BlobError),
    /// A tensor record is not valid.
    BadTensor {
        /// Its index.
        tensor: usize,
        /// What is wrong.
        what: &'static str,
    },
    /// An op record is not valid, or does not fit its tensors.
    BadOp {
        /// Its index in execution order.
        op: usize,
        /// What is wrong.
        what: &'static str,
    },
    /// The blob or the arena does not start on a 4-byte boundary.
    Misaligned,
    /// The caller's arena is smaller than the model needs.
    ArenaTooSmall {
        /// Bytes the blob's plan needs.
        needed: usize,
        /// Bytes given.
        given: usize,
    },
    /// The input buffer does not have the input tensor's size.
    InputSize {
        /// The input tensor's bytes.
        expected: usize,
        /// The buffer's bytes.
        given: usize,
    },
    /// The output buffer does not have the output tensor's size.
    OutputSize {
        /// The output tensor's bytes.
        expected: usize,
        /// The buffer's bytes.
        given: usize,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Blob(e) => write!(f, "{e}"),
            Error::BadTensor { tensor, what } => write!(f, "tensor {tensor}: {what}"),
            Error::BadOp { op, what } => write!(f, "op {op}: {what}"),
            Error::Misaligned => {
                write!(f, "the blob and the arena must start on a 4-byte boundary")
            }
            Error::ArenaTooSmall { needed, given } => {
                write!(
                    f,
                    "the model needs an arena of {needed} bytes, {given} were given"
                )
            }
            Error::InputSize { expected, given } => {
                write!(
                    f,
                    "the input has {given} bytes, the model's input tensor {expected}"
                )
            }
            Error::OutputSize { expected, given } => {
                write!(
                    f,
                    "the output buffer has {given} bytes, the model's output tensor {expected}"
                )
            }
        }
    }
}

impl core::error::Error for Error {}

impl From<BlobError> for Error {
    fn from(e: BlobError) -> Error {
        Error::Blob(e)
    }
}
