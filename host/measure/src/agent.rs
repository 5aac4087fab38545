//! The agent meter: a model measured by `edgenas-agent` on a Linux board, over TCP.
//!
//! The board file's `connection.agent` gives the agent's address. The shared token, where the
//! agent requires one, comes from the `EDGENAS_AGENT_TOKEN` environment variable or from the
//! file that `connection.agent_token_file` names (never from the board file itself, which is
//! shared).

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::Path;
use std::time::{Duration, Instant};

use edgenas_wire::protocol::{
    AgentMeasurement, FrameError, KEEPALIVE, MAX_REPLY_BYTES, Op, Reply, Request, read_frame,
    write_frame,
};
use edgenas_wire::token::read_token_file;
use edgenas_wire::{BoardFacts, Timer};

use super::{Kind, MeasureError, Measurement, Meter};
use edgenas_model::board::Board;

/// The environment variable that holds the agent's token.
pub const TOKEN_VARIABLE: &str = "EDGENAS_AGENT_TOKEN";

/// How long a connection to the agent may take to open.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// How long the host waits for a request's answers before the model is sent.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// How long the host waits for a measurement in all. The agent ends every measurement at its
/// own limit (`--max-run-seconds`, 60 s by default); this only keeps an agent that never stops
/// sending [`Reply::Working`] from holding the host.
const REPLY_TIMEOUT: Duration = Duration::from_secs(15 * 60);

/// How long the host waits for the next frame while the agent measures: it sends
/// [`Reply::Working`] every [`KEEPALIVE`], so silence this long is a stalled agent or a
/// broken link.
const SILENCE_TIMEOUT: Duration = KEEPALIVE.saturating_mul(3);

/// Measures on a Linux board through its agent. (Not `Debug`: it holds the token.)
#[derive(Clone)]
pub struct AgentMeter {
    board: Board,
    address: String,
    token: Option<String>,
    timer: Timer,
}

impl AgentMeter {
    /// The meter of `board` (which names its agent in `connection.agent`), timing with `timer`.
    /// Reads the token; does not contact the agent.
    pub fn new(board: &Board, timer: Timer) -> Result<AgentMeter, MeasureError> {
        let address = board.connection.agent.clone().ok_or_else(|| {
            MeasureError::Unreachable(format!(
                "board {} names no agent (connection.agent = \"HOST:PORT\" in its board file)",
                board.name
            ))
        })?;
        let token = match (
            std::env::var(TOKEN_VARIABLE).ok(),
            &board.connection.agent_token_file,
        ) {
            (Some(t), _) => Some(t.trim().to_string()),
            (None, Some(file)) => Some(read_token_file(Path::new(file)).map_err(|e| {
                MeasureError::Unreachable(format!("board {}: agent_token_file: {e}", board.name))
            })?),
            (None, None) => None,
        };
        Ok(AgentMeter {
            board: board.clone(),
            address,
            token,
            timer,
        })
    }

    /// Whether the agent answers: false when nothing listens at its address (or the address
    /// does not resolve); an error when something answers but refuses this host (a wrong
    /// token) or is not an agent, which falling back to a prediction would hide.
    pub fn answers(&self) -> Result<bool, MeasureError> {
        if self.connect().is_err() {
            return Ok(false);
        }
        self.facts().map(|_| true)
    }

    /// The board's facts, as its agent tells them: a cheap check that the agent answers and
    /// accepts our token.
    pub fn facts(&self) -> Result<BoardFacts, MeasureError> {
        match self.exchange(Op::Facts, "facts", &[])? {
            Reply::Facts { facts } => Ok(facts),
            other => Err(self.unexpected(&other)),
        }
    }

    /// One exchange with the agent (protocol: `edgenas_wire::protocol`).
    fn exchange(&self, op: Op, name: &str, model: &[u8]) -> Result<Reply, MeasureError> {
        let lost = |e: std::io::Error| {
            MeasureError::Lost(format!(
                "the agent of board {} at {}: {e}",
                self.board.name, self.address
            ))
        };
        let mut stream = self.connect()?;
        stream
            .set_read_timeout(Some(REQUEST_TIMEOUT))
            .map_err(lost)?;
        stream
            .set_write_timeout(Some(REQUEST_TIMEOUT))
            .map_err(lost)?;
        let request = Request {
            token: self.token.clone(),
            op,
            model_bytes: model.len() as u64,
            name: name.to_string(),
            timer: self.timer.clone(),
        };
        write_frame(&mut stream, &request).map_err(lost)?;
        if op == Op::Measure {
            match self.reply(&mut stream)? {
                Reply::Continue => {}
                other => return Err(self.unexpected(&other)),
            }
            stream.write_all(model).map_err(lost)?;
            stream.flush().map_err(lost)?;
            stream
                .set_read_timeout(Some(SILENCE_TIMEOUT))
                .map_err(lost)?;
            let until = Instant::now() + REPLY_TIMEOUT;
            loop {
                match self.reply(&mut stream)? {
                    Reply::Working if Instant::now() < until => {}
                    Reply::Working => {
                        return Err(MeasureError::Unreachable(format!(
                            "the agent of board {} at {} was still measuring after {} s",
                            self.board.name,
                            self.address,
                            REPLY_TIMEOUT.as_secs()
                        )));
                    }
                    other => return Ok(other),
                }
            }
        }
        self.reply(&mut stream)
    }

    fn connect(&self) -> Result<TcpStream, MeasureError> {
        let unreachable = |why: String| {
            MeasureError::Lost(format!(
                "cannot reach the agent of board {} at {}: {why} (start edgenas-agent on the \
                 board, docs/boards.md; or measure with --meter simulator)",
                self.board.name, self.address
            ))
        };
        let addresses: Vec<_> = self
            .address
            .to_socket_addrs()
            .map_err(|e| unreachable(e.to_string()))?
            .collect();
        let mut why = "the address resolves to nothing".to_string();
        for address in addresses {
            match TcpStream::connect_timeout(&address, CONNECT_TIMEOUT) {
                Ok(stream) => return Ok(stream),
                Err(e) => why = e.to_string(),
            }
        }
        Err(unreachable(why))
    }

    fn reply(&self, stream: &mut impl Read) -> Result<Reply, MeasureError> {
        read_frame(stream, MAX_REPLY_BYTES).map_err(|e| {
            let (why, transient) = match e {
                FrameError::NotEdgenas => (
                    "it sent bytes that are not an agent's reply (is something else listening \
                     there?)"
                        .to_string(),
                    false,
                ),
                FrameError::Io(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => (
                    "the connection closed before a whole answer came (the agent stopped, or \
                     the link dropped)"
                        .to_string(),
                    true,
                ),
                FrameError::Io(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    (
                        "it went silent (it stopped answering, or the link dropped)".to_string(),
                        true,
                    )
                }
                FrameError::Io(e) => (e.to_string(), true),
                e => (e.to_string(), false),
            };
            let message = format!(
                "the agent of board {} at {} did not answer: {why}",
                self.board.name, self.address
            );
            if transient {
                MeasureError::Lost(message)
            } else {
                MeasureError::Unreachable(message)
            }
        })
    }

    fn unexpected(&self, reply: &Reply) -> MeasureError {
        match reply {
            Reply::Refused { reason } => MeasureError::Unreachable(format!(
                "the agent of board {} at {} refused: {reason}",
                self.board.name, self.address
            )),
            other => MeasureError::Unreachable(format!(
                "the agent of board {} at {} answered out of turn: {other:?}",
                self.board.name, self.address
            )),
        }
    }

    fn measurement(&self, facts: BoardFacts, m: AgentMeasurement, size: usize) -> Measurement {
        let mut warnings = m.warnings;
        if let Some(mismatch) = core_mismatch(&self.board, &facts) {
            warnings.push(mismatch);
        }
        Measurement {
            board: self.board.name.clone(),
            backend: self.backend().into(),
            kind: Kind::Measured,
            latency_ms: m.latency_ms,
            cycles: None,
            instructions: None,
            ram_bytes: m.peak_rss_bytes,
            flash_bytes: Some(size as u64),
            warnings,
            board_facts: Some(facts),
            ops: None,
            front_end: None,
        }
    }
}

impl Meter for AgentMeter {
    fn backend(&self) -> &'static str {
        "agent"
    }

    fn measure(&self, bytes: &[u8], what: &str) -> Result<Measurement, MeasureError> {
        match self.exchange(Op::Measure, what, bytes)? {
            Reply::Measured { facts, measurement } => {
                Ok(self.measurement(facts, measurement, bytes.len()))
            }
            Reply::Failed { reason } => Err(MeasureError::Model(format!(
                "on board {} (agent at {}): {reason}",
                self.board.name, self.address
            ))),
            other => Err(self.unexpected(&other)),
        }
    }
}

/// A warning when the agent runs on another kind of machine than the board file describes (an
/// agent on a PC answering for a Raspberry Pi, say): its latency is that machine's.
fn core_mismatch(board: &Board, facts: &BoardFacts) -> Option<String> {
    let expected = match board.core.to_lowercase() {
        c if c.starts_with("cortex-a") || c.starts_with("neoverse") || c.starts_with("carmel") => {
            ["aarch64", "arm"].as_slice()
        }
        c if c.starts_with("x86") => ["x86_64", "x86"].as_slice(),
        _ => return None,
    };
    (!expected.contains(&facts.arch.as_str())).then(|| {
        format!(
            "the agent at {} runs on {} ({}), but board {} has a {} core: the figures are that \
             machine's",
            board.connection.agent.as_deref().unwrap_or("?"),
            facts.arch,
            facts.cpu.as_deref().unwrap_or("unknown CPU"),
            board.name,
            board.core
        )
    })
}
