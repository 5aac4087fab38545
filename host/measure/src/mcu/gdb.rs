//! A small client of the gdb remote serial protocol: enough to drive a halted core through a
//! gdb server (QEMU's gdbstub, OpenOCD, J-Link GDB Server, pyOCD): `?`, `m`, `M`, `Z0`/`z0`,
//! `s`, `c`.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use super::LinkError;

/// Bytes of memory per `m` or `M` packet.
const CHUNK: usize = 1024;

/// A connection to a gdb server.
pub struct Gdb {
    stream: TcpStream,
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
            stream,
            breakpoints: Vec::new(),
        })
    }

    /// Sends one packet and returns the reply's payload; a reply must come within `timeout`.
    pub fn request(&mut self, payload: &str, timeout: Duration) -> Result<Vec<u8>, LinkError> {
        let packet = format!("${payload}#{:02x}", checksum(payload.as_bytes()));
        self.stream
            .write_all(packet.as_bytes())
            .map_err(connection)?;
        self.stream
            .set_read_timeout(Some(timeout))
            .map_err(connection)?;
        let reply = self.read_packet()?;
        self.stream.write_all(b"+").map_err(connection)?;
        Ok(reply)
    }

    fn read_packet(&mut self) -> Result<Vec<u8>, LinkError> {
        let mut byte = [0u8; 1];
        let mut next = |s: &mut TcpStream| -> Result<u8, LinkError> {
            s.read_exact(&mut byte).map_err(|e| match e.kind() {
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => {
                    LinkError::NoAnswer
                }
                _ => connection(e),
            })?;
            Ok(byte[0])
        };
        // Skip acknowledgements up to the start of the packet.
        while next(&mut self.stream)? != b'$' {}
        let mut payload = Vec::new();
        loop {
            match next(&mut self.stream)? {
                b'#' => break,
                b => payload.push(b),
            }
        }
        let sum = [next(&mut self.stream)?, next(&mut self.stream)?];
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
