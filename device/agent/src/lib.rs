//! The edgenas agent: what runs on a Linux board (a Raspberry Pi, a Jetson) to measure models
//! for edgenas. [`server`] is its TCP server, its limits and its token check; what it shares
//! with the host (the protocol, the tract runner, the timing loop, board facts) is the crate
//! `edgenas-wire`.
//!
//! The binary `edgenas-agent` (`src/main.rs`) parses the command line and runs the server.

pub mod server;
