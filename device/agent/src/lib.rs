//! The edgenas agent: what runs on a Linux board (a Raspberry Pi, a Jetson) to measure models
//! for edgenas, and the parts the host shares with it.
//!
//! - [`tract`]: an ONNX model loaded, optimised and made runnable by tract ([`TractModel`]).
//! - [`timing`]: the timing loop ([`Timer`]), the same in the host's tract meter and on a board.
//! - [`stats`]: latency statistics of timed runs ([`Latency`]).
//! - [`facts`]: what the agent tells about its board, and the peak memory of its process.
//! - [`protocol`]: the frames the host's agent meter and the agent exchange.
//! - [`server`]: the agent's TCP server, its limits and its token check.
//!
//! The binary `edgenas-agent` (`src/main.rs`) parses the command line and runs the server.

pub mod facts;
pub mod protocol;
pub mod server;
pub mod stats;
pub mod timing;
pub mod tract;

pub use facts::BoardFacts;
pub use stats::Latency;
pub use timing::Timer;
pub use tract::TractModel;
