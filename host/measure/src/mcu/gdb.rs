//! A small client of the gdb remote serial protocol: enough to drive a halted core through a
//! gdb server (QEMU's gdbstub, OpenOCD, J-Link GDB Server, pyOCD): `?`, `m`, `M`, `Z0`/`z0`,
//! `s`, `c`.

use std::io::{BufReader, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use super::LinkError;

/// Bytes of memory per `m` or `M` packet.
const CHUNK: usize = 1024;

/// The longest reply payload accepted: an `m` reply of [`CHUNK`] bytes in hex, and room for
/// a stop reply's registers. A server that sends more is not one we can talk to.
const MAX_REPLY: usize = 2 * CHUNK + 1024;

/// A connection to a gdb server.
pub struct Gdb {
    /// Reads are buffered; writes go to the stream underneath (`get_mut`).
    stream: BufReader<TcpStream>,
    /// Breakpoints set (addresses as sent).
    breakpoints: Vec<u32>,
}

fn checksum(data: &[u8]) -> u8 {
    data.iter().fold(0u8, |c, &b| c.wrapping_add(b))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &[u8]) -> Result<Vec<u8>, LinkError> {
    text.chunks(2)
        .map(|c| {
            std::str::from_utf8(c)
                .ok()
                .and_then(|s| u8::from_str_radix(s, 16).ok())
                .ok_or_else(|| {
                    LinkError::BadReply(format!(
                        "bad hex in a gdb reply: {}",
                        String::from_utf8_lossy(text)
                    ))
                })
        })
        .collect()
}

/// A failure of the connection to the gdb server.
fn connection(e: std::io::Error) -> LinkError {
    LinkError::Connection(format!("gdb server: {e}"))
}

impl Gdb {
    /// Connects to `stream` (a gdb server), with `TCP_NODELAY`.
    pub fn new(stream: TcpStream) -> Result<Gdb, LinkError> {
        stream.set_nodelay(true).map_err(connection)?;
        Ok(Gdb {
            stream: BufReader::new(stream),
            breakpoints: Vec::new(),
        })
    }

    /// Sends one packet and returns the reply's payload; the whole reply must come within
    /// `timeout` (a server that keeps sending anything else, or too much, is an error too).
    pub fn request(&mut self, payload: &str, timeout: Duration) -> Result<Vec<u8>, LinkError> {
        let packet = format!("${payload}#{:02x}", checksum(payload.as_bytes()));
        self.stream
            .get_mut()
            .write_all(packet.as_bytes())
            .map_err(connection)?;
        let reply = self.read_packet(Instant::now() + timeout)?;
        self.stream.get_mut().write_all(b"+").map_err(connection)?;
        Ok(reply)
    }

    /// The next byte from the server, which must come before `deadline`.
    fn next_byte(&mut self, deadline: Instant) -> Result<u8, LinkError> {
        if self.stream.buffer().is_empty() {
            let left = deadline
                .checked_duration_since(Instant::now())
                .filter(|d| !d.is_zero())
                .ok_or(LinkError::NoAnswer)?;
            self.stream
                .get_ref()
                .set_read_timeout(Some(left))
                .map_err(connection)?;
        }
        let mut byte = [0u8; 1];
        self.stream
            .read_exact(&mut byte)
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => {
                    LinkError::NoAnswer
                }
                _ => connection(e),
            })?;
        Ok(byte[0])
    }

    fn read_packet(&mut self, deadline: Instant) -> Result<Vec<u8>, LinkError> {
        // Skip acknowledgements up to the start of the packet.
        while self.next_byte(deadline)? != b'$' {}
        let mut payload = Vec::new();
        loop {
            match self.next_byte(deadline)? {
                b'#' => break,
                _ if payload.len() == MAX_REPLY => {
                    return Err(LinkError::BadReply(format!(
                        "a gdb reply longer than {MAX_REPLY} bytes"
                    )));
                }
                b => payload.push(b),
            }
        }
        let sum = [self.next_byte(deadline)?, self.next_byte(deadline)?];
        if unhex(&sum)?.first() != Some(&checksum(&payload)) {
            return Err(LinkError::BadReply("a gdb reply has a bad checksum".into()));
        }
        Ok(payload)
    }

    /// Reads `len` bytes at `addr`.
    pub fn read(&mut self, addr: u32, len: usize) -> Result<Vec<u8>, LinkError> {
        let mut out = Vec::with_capacity(len);
        for start in (0..len).step_by(CHUNK) {
            let n = CHUNK.min(len - start);
            let reply = self.request(
                &format!("m{:x},{n:x}", addr as usize + start),
                Duration::from_secs(5),
            )?;
            if reply.first() == Some(&b'E') {
                return Err(LinkError::Memory {
                    access: "read",
                    bytes: n,
                    addr: (addr as usize + start) as u32,
                });
            }
            out.extend(unhex(&reply)?);
        }
        Ok(out)
    }

    /// Writes `bytes` at `addr`.
    pub fn write(&mut self, addr: u32, bytes: &[u8]) -> Result<(), LinkError> {
        for (k, chunk) in bytes.chunks(CHUNK).enumerate() {
            let at = addr as usize + k * CHUNK;
            let reply = self.request(
                &format!("M{at:x},{:x}:{}", chunk.len(), hex(chunk)),
                Duration::from_secs(5),
            )?;
            if reply != b"OK" {
                return Err(LinkError::Memory {
                    access: "write",
                    bytes: chunk.len(),
                    addr: at as u32,
                });
            }
        }
        Ok(())
    }

    /// Sets a software breakpoint at `addr` (a Thumb address: bit 0 is dropped).
    pub fn breakpoint(&mut self, addr: u32) -> Result<(), LinkError> {
        self.set_breakpoint('Z', addr & !1)?;
        self.breakpoints.push(addr & !1);
        Ok(())
    }

    fn set_breakpoint(&mut self, op: char, addr: u32) -> Result<(), LinkError> {
        let reply = self.request(&format!("{op}0,{addr:x},2"), Duration::from_secs(5))?;
        if reply != b"OK" {
            return Err(LinkError::Breakpoint(addr));
        }
        Ok(())
    }

    /// Continues and waits for the core to stop (a breakpoint), at most `timeout`. As gdb
    /// does, it first steps over a breakpoint the core may be stopped on: breakpoints are
    /// cleared for one single step and set again.
    pub fn resume(&mut self, timeout: Duration) -> Result<(), LinkError> {
        let breakpoints = self.breakpoints.clone();
        for &b in &breakpoints {
            self.set_breakpoint('z', b)?;
        }
        self.request("s", Duration::from_secs(5))?;
        for &b in &breakpoints {
            self.set_breakpoint('Z', b)?;
        }
        let reply = self.request("c", timeout)?;
        match reply.first() {
            Some(b'T') | Some(b'S') => Ok(()),
            _ => Err(LinkError::BadReply(format!(
                "the core stopped unexpectedly: {}",
                String::from_utf8_lossy(&reply)
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    /// A gdb client connected to a server that sends `reply` over and over (`forever`) or
    /// once, then waits for the client to hang up.
    fn client_of(reply: &'static [u8], forever: bool) -> Gdb {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            while s.write_all(reply).is_ok() && forever {}
            let _ = s.read_to_end(&mut Vec::new());
        });
        Gdb::new(TcpStream::connect(addr).unwrap()).unwrap()
    }

    #[test]
    fn a_reply_is_read_past_acknowledgements_and_checked() {
        let mut gdb = client_of(b"++$OK#9a", false);
        assert_eq!(gdb.request("?", Duration::from_secs(5)).unwrap(), b"OK");
        let mut gdb = client_of(b"$OK#00", false);
        let e = gdb.request("?", Duration::from_secs(5)).unwrap_err();
        assert!(e.to_string().contains("bad checksum"), "{e}");
    }

    #[test]
    fn a_server_that_never_stops_talking_is_an_error_within_the_timeout() {
        for (stream, says) in [
            (&b"+"[..], "did not answer in time"),
            (&b"$xxxxxxxxxxxxxxxx"[..], "longer than"),
        ] {
            let mut gdb = client_of(stream, true);
            let started = Instant::now();
            let e = gdb.request("?", Duration::from_millis(300)).unwrap_err();
            assert!(e.to_string().contains(says), "{e}");
            assert!(
                started.elapsed() < Duration::from_secs(3),
                "{:?}",
                started.elapsed()
            );
        }
    }
}
