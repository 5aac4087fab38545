//! What the edgenas host and the edgenas agent share: the wire protocol between them, and the
//! tract runner and timing loop that both measure with.
//!
//! - [`tract`]: an ONNX model loaded, optimised and made runnable by tract ([`TractModel`]).
//! - [`timing`]: the timing loop ([`Timer`]), the same in the host's tract meter and on a board.
//! - [`stats`]: latency statistics of timed runs ([`Latency`]).
//! - [`facts`]: what the agent tells about its board, and the peak memory of its process.
//! - [`protocol`]: the frames the host's agent meter and the agent exchange.
//! - [`token`]: token files, read the same way on both sides.

pub mod facts;
pub mod protocol;
pub mod stats;
pub mod timing;
pub mod token;
pub mod tract;

pub use facts::BoardFacts;
pub use stats::Latency;
pub use timing::Timer;
pub use tract::TractModel;
