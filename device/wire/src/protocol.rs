//! The wire format between the host's agent meter and the agent: frames of JSON over TCP.
//!
//! A frame is the 8 bytes [`MAGIC`], a big-endian `u32` length, and that many bytes of JSON.
//! One connection carries one exchange:
//!
//! 1. the host sends a [`Request`] frame (the token, the operation, the model's size);
//! 2. the agent answers [`Reply::Continue`], or [`Reply::Refused`] and closes;
//! 3. for [`Op::Measure`] the host sends the model's bytes, raw;
//! 4. while it measures, the agent sends [`Reply::Working`] every [`KEEPALIVE`], so that the
//!    host tells a long measurement from a stalled agent or a pulled cable;
//! 5. the agent answers [`Reply::Facts`], [`Reply::Measured`], [`Reply::Failed`] (a model
//!    tract cannot run) or [`Reply::Refused`], and closes.
//!
//! The agent refuses a model before it is sent when it is too large, and a request without the
//! right token before reading anything more.

use std::io::{self, Read, Write};
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::facts::BoardFacts;
use crate::stats::Latency;
use crate::timing::Timer;

/// The first bytes of every frame: `EDGENAS` and the protocol version (2: [`Reply::Working`]).
pub const MAGIC: [u8; 8] = *b"EDGENAS\x02";
/// How often the agent tells the host it is still measuring. The host gives up on an agent
/// silent for three of these.
pub const KEEPALIVE: Duration = Duration::from_secs(5);
/// The largest request frame the agent reads.
pub const MAX_REQUEST_BYTES: u32 = 16 * 1024;
/// The largest reply frame the host reads.
pub const MAX_REPLY_BYTES: u32 = 1 << 20;

/// What the host asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Op {
    /// The board's facts only (a cheap check that the agent answers).
    Facts,
    /// Measure the model that follows the request.
    Measure,
}

/// The host's request.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Request {
    /// The shared token, where the agent requires one.
    pub token: Option<String>,
    /// What to do.
    pub op: Op,
    /// The size of the model that follows (0 for [`Op::Facts`]).
    pub model_bytes: u64,
    /// The model's name in messages (its file name).
    pub name: String,
    /// How to time the model; the agent clips it to its own limits.
    pub timer: Timer,
}

/// What the agent measured.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AgentMeasurement {
    /// Latency of the timed runs on the board.
    pub latency_ms: Latency,
    /// The relative 95 % confidence bound of the median.
    pub median_bound: f64,
    /// The peak resident memory of the agent while it loaded and ran the model (`VmHWM`
    /// after a reset; absent where the kernel cannot reset it).
    pub peak_rss_bytes: Option<u64>,
    /// The agent's resident memory before it loaded the model.
    pub idle_rss_bytes: Option<u64>,
    /// Time tract took to load and optimise the model.
    pub load_ms: f64,
    /// What the user should know about the figures.
    pub warnings: Vec<String>,
}

/// The agent's answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "lowercase")]
pub enum Reply {
    /// The request is accepted: send the model.
    Continue,
    /// The board's facts ([`Op::Facts`]).
    Facts {
        /// The board.
        facts: BoardFacts,
    },
    /// The measurement ([`Op::Measure`]).
    Measured {
        /// The board.
        facts: BoardFacts,
        /// The figures.
        measurement: AgentMeasurement,
    },
    /// Still measuring (sent every [`KEEPALIVE`] until the answer).
    Working,
    /// The model was received but cannot be measured (tract cannot load or run it).
    Failed {
        /// What tract said.
        reason: String,
    },
    /// The request is refused; the connection closes.
    Refused {
        /// Why, in words for the user.
        reason: String,
    },
}

/// Why a frame cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    /// The bytes do not start with `EDGENAS`.
    #[error("not an edgenas agent request (wrong magic bytes)")]
    NotEdgenas,
    /// The other side speaks another version of the protocol.
    #[error(
        "the other side speaks agent protocol version {theirs}, this one {}: update edgenas and \
         the agent together",
        MAGIC[7]
    )]
    Version {
        /// Its version.
        theirs: u8,
    },
    /// The frame is longer than the reader accepts.
    #[error("a frame of {length} bytes is longer than the {max} accepted")]
    TooLong {
        /// The length the frame announced.
        length: u32,
        /// The most the reader accepts.
        max: u32,
    },
    /// The frame is not the JSON expected.
    #[error("a malformed frame: {0}")]
    Malformed(String),
    /// The connection failed or timed out.
    #[error("{0}")]
    Io(#[from] io::Error),
}

/// Writes `value` as one frame.
pub fn write_frame(w: &mut impl Write, value: &impl Serialize) -> io::Result<()> {
    let body = serde_json::to_vec(value).map_err(io::Error::other)?;
    let length = u32::try_from(body.len()).map_err(io::Error::other)?;
    let mut frame = Vec::with_capacity(12 + body.len());
    frame.extend_from_slice(&MAGIC);
    frame.extend_from_slice(&length.to_be_bytes());
    frame.extend_from_slice(&body);
    w.write_all(&frame)?;
    w.flush()
}

/// Reads one frame of at most `max` bytes of JSON and parses it as a `T`.
pub fn read_frame<T: DeserializeOwned>(r: &mut impl Read, max: u32) -> Result<T, FrameError> {
    let mut head = [0u8; 12];
    r.read_exact(&mut head)?;
    if head[..7] != MAGIC[..7] {
        return Err(FrameError::NotEdgenas);
    }
    if head[7] != MAGIC[7] {
        return Err(FrameError::Version { theirs: head[7] });
    }
    let length = u32::from_be_bytes([head[8], head[9], head[10], head[11]]);
    if length > max {
        return Err(FrameError::TooLong { length, max });
    }
    let mut body = vec![0u8; length as usize];
    r.read_exact(&mut body)?;
    serde_json::from_slice(&body).map_err(|e| FrameError::Malformed(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_and_bad_ones_are_named() {
        let request = Request {
            token: Some("s3cret".into()),
            op: Op::Measure,
            model_bytes: 1234,
            name: "m.onnx".into(),
            timer: Timer::default(),
        };
        let mut wire = Vec::new();
        write_frame(&mut wire, &request).unwrap();
        let back: Request = read_frame(&mut &wire[..], MAX_REQUEST_BYTES).unwrap();
        assert_eq!(back, request);
        let short = read_frame::<Request>(&mut &wire[..], 10);
        assert!(
            matches!(short, Err(FrameError::TooLong { max: 10, .. })),
            "{short:?}"
        );
        let junk = read_frame::<Request>(&mut &b"GET / HTTP/1.1\r\n\r\n"[..], 100);
        assert!(matches!(junk, Err(FrameError::NotEdgenas)), "{junk:?}");
        let mut wrong = Vec::new();
        write_frame(&mut wrong, &Reply::Continue).unwrap();
        let mistyped = read_frame::<Request>(&mut &wrong[..], 100);
        assert!(
            matches!(mistyped, Err(FrameError::Malformed(_))),
            "{mistyped:?}"
        );
        let cut = read_frame::<Request>(&mut &wire[..wire.len() - 1], MAX_REQUEST_BYTES);
        assert!(matches!(cut, Err(FrameError::Io(_))), "{cut:?}");
    }
}
