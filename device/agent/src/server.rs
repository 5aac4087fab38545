//! The agent's TCP server: one thread per connection, at most `max_connections` at a time; at
//! most `max_requests` measurement requests taken at a time (a slot is taken only once a
//! request has arrived whole, so clients that connect and send nothing hold a connection, not
//! a measurement); one model measured at a time (so that timings and peak memory are the
//! model's alone).
//!
//! Every way a request can go wrong ends the same way: a [`Reply::Refused`] with the reason,
//! a closed connection, and the agent serving the next one. The model is only ever held in
//! memory: tract reads it from the received bytes, and nothing is written to disk.

use std::io::{self, Read};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use edgenas_wire::facts::{BoardFacts, board_facts, peak_rss_bytes, reset_peak_rss, rss_bytes};
use edgenas_wire::protocol::{
    AgentMeasurement, FrameError, KEEPALIVE, MAX_REQUEST_BYTES, Op, Reply, Request, read_frame,
    write_frame,
};
use edgenas_wire::timing::Timer;
pub use edgenas_wire::token::read_token_file;
use edgenas_wire::tract::TractModel;

/// The slowest upload the agent waits for: a model of `n` bytes has the request timeout plus
/// `n` / this many seconds to arrive.
pub const MIN_UPLOAD_BYTES_PER_SECOND: u64 = 256 * 1024;

/// What the agent accepts.
#[derive(Clone, Debug, PartialEq)]
pub struct Limits {
    /// The largest model, in bytes.
    pub max_model_bytes: u64,
    /// The time a request has to arrive (the model: this plus its size at
    /// [`MIN_UPLOAD_BYTES_PER_SECOND`]).
    pub request_timeout: Duration,
    /// The longest a measurement may run, loading included.
    pub max_run_time: Duration,
    /// Measurement requests taken at once (their models are measured one at a time); more
    /// are refused as busy.
    pub max_requests: usize,
    /// Connections open at once, whatever they are doing (sending a request, waiting for a
    /// measurement, reading the answer); more are refused as busy when they connect.
    pub max_connections: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_model_bytes: 64 << 20,
            request_timeout: Duration::from_secs(10),
            max_run_time: Duration::from_secs(60),
            max_requests: 4,
            max_connections: 64,
        }
    }
}

/// The agent: its token, its limits, and what it is doing. (Not `Debug`: it holds the token.)
pub struct Agent {
    token: Option<String>,
    limits: Limits,
    log: bool,
    /// The board's facts, read once: they do not change while the agent runs.
    facts: BoardFacts,
    /// Connections open.
    open: Arc<AtomicUsize>,
    /// Measurement requests taken.
    active: Arc<AtomicUsize>,
    measuring: Arc<Mutex<()>>,
}

/// Checks that the agent may listen on `addr`: off loopback it needs a token.
pub fn check_exposure(addr: &SocketAddr, token: Option<&str>) -> Result<(), ExposureError> {
    match token {
        None if !addr.ip().is_loopback() => Err(ExposureError::NoToken(*addr)),
        Some("") => Err(ExposureError::EmptyToken),
        _ => Ok(()),
    }
}

/// Why the agent may not listen where it was asked to ([`check_exposure`]).
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum ExposureError {
    /// Off loopback without a token.
    #[error(
        "{0} is not a loopback address: anyone on the network could send this agent models, \
         so it needs a shared token (--token-file FILE, or --token TOKEN), or listen on \
         127.0.0.1"
    )]
    NoToken(SocketAddr),
    /// A token of no characters.
    #[error("the token is empty")]
    EmptyToken,
}

/// Whether `given` is `expected`, in a time that depends only on `expected`'s length.
pub fn same_token(given: &[u8], expected: &[u8]) -> bool {
    let mut differ = u8::from(given.len() != expected.len());
    for (i, e) in expected.iter().enumerate() {
        differ |= e ^ given.get(i).copied().unwrap_or(0);
    }
    differ == 0
}

impl Agent {
    /// An agent that requires `token` (where given) and keeps to `limits`; `log` prints a line
    /// per request on standard error.
    pub fn new(token: Option<String>, limits: Limits, log: bool) -> Agent {
        Agent {
            token,
            limits,
            log,
            facts: board_facts(),
            open: Arc::new(AtomicUsize::new(0)),
            active: Arc::new(AtomicUsize::new(0)),
            measuring: Arc::new(Mutex::new(())),
        }
    }

    /// Serves the connections of `listener` until accepting fails for good.
    pub fn serve(self: Arc<Self>, listener: TcpListener) -> io::Result<()> {
        for stream in listener.incoming() {
            let stream = match stream {
                Ok(s) => s,
                // Out of file descriptors, or a connection reset before it was accepted: wait
                // a little and go on.
                Err(e) => {
                    self.note(&format!("cannot accept a connection: {e}"));
                    thread::sleep(Duration::from_millis(50));
                    continue;
                }
            };
            // The connection's slot is taken here, in the order connections arrive, so that
            // the first `max_connections` clients get one however the threads are scheduled.
            let connection = Slot::take(&self.open, self.limits.max_connections);
            let agent = Arc::clone(&self);
            thread::spawn(move || agent.handle(stream, connection));
        }
        Ok(())
    }

    fn handle(&self, stream: TcpStream, connection: Option<Slot>) {
        let peer = stream
            .peer_addr()
            .map_or_else(|_| "?".to_string(), |a| a.to_string());
        let started = Instant::now();
        let reply = match connection {
            Some(_open) => self.exchange(&stream),
            None => Err(format!(
                "busy: this agent already has {} connections open (--max-connections)",
                self.limits.max_connections
            )),
        };
        let (reply, outcome) = match reply {
            Ok(r) => {
                let outcome = match &r {
                    Reply::Measured { measurement, .. } => {
                        format!("measured, median {:.4} ms", measurement.latency_ms.median)
                    }
                    Reply::Failed { reason } => format!("failed: {reason}"),
                    _ => "facts".to_string(),
                };
                (r, outcome)
            }
            Err(reason) => (
                Reply::Refused {
                    reason: reason.clone(),
                },
                format!("refused: {reason}"),
            ),
        };
        let sent = write_frame(&mut &stream, &reply);
        close(stream);
        let lost = sent
            .err()
            .map_or_else(String::new, |e| format!(" (reply lost: {e})"));
        self.note(&format!(
            "{peer}: {outcome}{lost} in {:.0} ms",
            started.elapsed().as_secs_f64() * 1e3
        ));
    }

    /// Reads the request, checks it, and answers it (a reason when it is refused).
    fn exchange(&self, stream: &TcpStream) -> Result<Reply, String> {
        let timeout = self.limits.request_timeout;
        let _ = stream.set_write_timeout(Some(timeout));
        let mut reader = Deadline {
            stream,
            until: Instant::now() + timeout,
        };
        let request: Request = read_frame(&mut reader, MAX_REQUEST_BYTES)
            .map_err(|e| self.unreadable(e, "the request"))?;
        let token_ok = match &self.token {
            None => true,
            Some(t) => same_token(
                request.token.as_deref().unwrap_or("").as_bytes(),
                t.as_bytes(),
            ),
        };
        if !token_ok {
            return Err("wrong or missing token".into());
        }
        if request.op == Op::Facts {
            return Ok(Reply::Facts {
                facts: self.facts.clone(),
            });
        }
        let size = request.model_bytes;
        if size == 0 {
            return Err("the model is empty".into());
        }
        if size > self.limits.max_model_bytes {
            return Err(format!(
                "the model has {size} bytes; this agent takes models of at most {} bytes \
                 (--max-model-kb)",
                self.limits.max_model_bytes
            ));
        }
        let slot = Slot::take(&self.active, self.limits.max_requests).ok_or_else(|| {
            format!(
                "busy: this agent already handles {} measurements (--max-requests)",
                self.limits.max_requests
            )
        })?;
        write_frame(&mut &*stream, &Reply::Continue).map_err(|e| e.to_string())?;
        reader.until = Instant::now()
            + timeout
            + Duration::from_secs_f64(size as f64 / MIN_UPLOAD_BYTES_PER_SECOND as f64);
        let mut model = vec![0u8; size as usize];
        reader
            .read_exact(&mut model)
            .map_err(|e| self.unreadable(FrameError::Io(e), "the model"))?;
        self.measure(model, &request, slot, stream)
    }

    /// Measures `model` in a thread of its own, one model at a time, telling the host every
    /// [`KEEPALIVE`] that it still works; gives up waiting for it after the run-time limit
    /// (the thread keeps its request slot until it ends), or when the host is gone.
    fn measure(
        &self,
        model: Vec<u8>,
        request: &Request,
        slot: Slot,
        stream: &TcpStream,
    ) -> Result<Reply, String> {
        let timer = self.clip(&request.timer);
        let name = request.name.clone();
        let measuring = Arc::clone(&self.measuring);
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            let _slot = slot;
            let _alone = measuring.lock().unwrap_or_else(PoisonError::into_inner);
            let _ = tx.send(measure_model(model, &name, &timer));
        });
        let until = Instant::now() + self.limits.max_run_time;
        loop {
            let left = until.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left.min(KEEPALIVE)) {
                Ok(Ok(measurement)) => {
                    return Ok(Reply::Measured {
                        facts: self.facts.clone(),
                        measurement,
                    });
                }
                Ok(Err(reason)) => return Ok(Reply::Failed { reason }),
                Err(RecvTimeoutError::Timeout) if left > KEEPALIVE => {
                    write_frame(&mut &*stream, &Reply::Working)
                        .map_err(|e| format!("the host is gone: {e}"))?;
                }
                Err(RecvTimeoutError::Timeout) => {
                    return Err(format!(
                        "the measurement did not end within this agent's limit of {} s \
                         (--max-run-seconds)",
                        self.limits.max_run_time.as_secs_f64()
                    ));
                }
                Err(RecvTimeoutError::Disconnected) => {
                    return Ok(Reply::Failed {
                        reason: format!("{}: tract stopped on this model", request.name),
                    });
                }
            }
        }
    }

    /// The host's timing settings within this agent's limits.
    fn clip(&self, asked: &Timer) -> Timer {
        let cap = self.limits.max_run_time / 2;
        let max_runs = asked.max_runs.clamp(1, 100_000);
        Timer {
            warmup_runs: asked.warmup_runs.min(1000),
            warmup_time: asked.warmup_time.min(cap / 4),
            min_runs: asked.min_runs.min(max_runs),
            max_runs,
            max_time: asked.max_time.min(cap),
            bound: if asked.bound.is_finite() && asked.bound > 0.0 {
                asked.bound
            } else {
                Timer::default().bound
            },
        }
    }

    fn unreadable(&self, e: FrameError, what: &str) -> String {
        match e {
            FrameError::Io(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                format!("{what} did not arrive in time (--request-timeout-seconds)")
            }
            FrameError::Io(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                format!("the connection closed before {what} was complete")
            }
            e => format!("{what}: {e}"),
        }
    }

    fn note(&self, line: &str) {
        if self.log {
            eprintln!("edgenas-agent: {line}");
        }
    }
}

/// Loads and times one model, and reads the peak memory it took.
fn measure_model(model: Vec<u8>, name: &str, timer: &Timer) -> Result<AgentMeasurement, String> {
    let idle_rss_bytes = rss_bytes();
    let reset = reset_peak_rss();
    let loading = Instant::now();
    let tract = TractModel::load(&model, name).map_err(|e| e.to_string())?;
    let load_ms = loading.elapsed().as_secs_f64() * 1e3;
    drop(model);
    let timed = timer.time(&tract).map_err(|e| e.to_string())?;
    let mut warnings = timed.warnings;
    if !reset {
        warnings.push("this kernel cannot reset the peak memory of a process: no peak RSS".into());
    }
    Ok(AgentMeasurement {
        latency_ms: timed.latency,
        median_bound: timed.median_bound,
        peak_rss_bytes: if reset { peak_rss_bytes() } else { None },
        idle_rss_bytes,
        load_ms,
        warnings,
    })
}

/// A reader of a connection that fails once `until` has passed, however slowly the bytes
/// trickle in.
struct Deadline<'a> {
    stream: &'a TcpStream,
    until: Instant,
}

impl Read for Deadline<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::ErrorKind::TimedOut.into());
        }
        self.stream.set_read_timeout(Some(left))?;
        (&mut &*self.stream).read(buf)
    }
}

/// One of the agent's connection or measurement slots, given back when dropped.
struct Slot(Arc<AtomicUsize>);

impl Slot {
    fn take(active: &Arc<AtomicUsize>, max: usize) -> Option<Slot> {
        active
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                (n < max).then_some(n + 1)
            })
            .ok()
            .map(|_| Slot(Arc::clone(active)))
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Closes a connection so that the client reads the reply: stop writing, then read and drop
/// what it still sends for a moment (closing with unread bytes would reset the connection and
/// could discard the reply).
fn close(stream: TcpStream) {
    let _ = stream.shutdown(Shutdown::Write);
    let _ = stream.set_read_timeout(Some(Duration::from_millis(300)));
    let mut sink = [0u8; 8192];
    let mut drained = 0;
    while drained < 1 << 20 {
        match (&stream).read(&mut sink) {
            Ok(0) | Err(_) => break,
            Ok(n) => drained += n,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_match_only_when_equal() {
        assert!(same_token(b"abc123", b"abc123"));
        assert!(!same_token(b"abc124", b"abc123"));
        assert!(!same_token(b"abc12", b"abc123"));
        assert!(!same_token(b"abc1234", b"abc123"));
        assert!(!same_token(b"", b"abc123"));
    }

    #[test]
    fn off_loopback_needs_a_token() {
        let lan: SocketAddr = "0.0.0.0:7878".parse().unwrap();
        let local: SocketAddr = "127.0.0.1:7878".parse().unwrap();
        assert_eq!(check_exposure(&lan, None), Err(ExposureError::NoToken(lan)));
        assert_eq!(
            check_exposure(&lan, Some("")),
            Err(ExposureError::EmptyToken)
        );
        assert!(check_exposure(&lan, Some("t0k3n")).is_ok());
        assert!(check_exposure(&local, None).is_ok());
        assert!(check_exposure(&"[::1]:7878".parse().unwrap(), None).is_ok());
    }
}
