//! The gdb target: a mutant is the whole stream a gdb server sends back to edgenas's client
//! (QEMU's gdbstub, OpenOCD or J-Link in a measurement), served over loopback TCP by a thread
//! of this process while the client reads memory, writes it, sets a breakpoint and resumes.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::mpsc::{Sender, channel};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use edgenas_measure::mcu::{Gdb, LinkError};

/// The loopback server: where it listens, and the channel that hands it the next stream.
struct Server {
    addr: SocketAddr,
    next: Mutex<Sender<Vec<u8>>>,
}

/// The server of this process, started on first use: for each connection it sends the next
/// stream, closes its sending half (so the client sees the end of it, not a timeout) and
/// reads until the client hangs up.
fn server() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(|| {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback listener");
        let addr = listener.local_addr().expect("its address");
        let (next, streams) = channel::<Vec<u8>>();
        std::thread::spawn(move || {
            for (conn, stream) in listener.incoming().zip(streams) {
                let Ok(mut conn) = conn else { continue };
                let _ = conn.write_all(&stream);
                let _ = conn.shutdown(Shutdown::Write);
                let _ = conn.read_to_end(&mut Vec::new());
            }
        });
        Server {
            addr,
            next: Mutex::new(next),
        }
    })
}

/// Drives the client through a measurement's requests against the mutant reply stream.
pub fn run(bytes: &[u8]) {
    let _ = session(bytes);
}

/// What [`run`] does, with the client's answer.
fn session(bytes: &[u8]) -> Result<(), LinkError> {
    let server = server();
    let next = server.next.lock().unwrap_or_else(|e| e.into_inner());
    next.send(bytes.to_vec()).expect("the server is running");
    let stream = TcpStream::connect(server.addr)
        .map_err(|e| LinkError::Connection(format!("loopback: {e}")))?;
    let mut gdb = Gdb::new(stream)?;
    gdb.read(0x2000_0000, 1500)?;
    gdb.write(0x2000_0000, &[1, 2, 3, 4])?;
    gdb.breakpoint(0x0000_0101)?;
    gdb.resume(Duration::from_millis(100))
}

/// Packets as QEMU's gdbstub answers them (acknowledgement, `$payload#checksum`).
pub fn seeds() -> Vec<Vec<u8>> {
    let packet = |payload: &str| {
        let sum = payload.bytes().fold(0u8, |c, b| c.wrapping_add(b));
        format!("+${payload}#{sum:02x}")
    };
    let memory = |n: usize| packet(&"a5".repeat(n));
    let stop = |reason: &str| {
        // The write, the breakpoint, its removal for the step, the step, setting it again,
        // and the continue.
        [
            packet("OK"),
            packet("OK"),
            packet("OK"),
            packet("S05"),
            packet("OK"),
            packet(reason),
        ]
        .concat()
    };
    let stream = |parts: &[String]| parts.concat().into_bytes();
    vec![
        stream(&[memory(1024), memory(476), stop("T05thread:01;")]),
        stream(&[memory(1024), memory(476), stop("W00")]),
        stream(&[memory(1024), packet("E14")]),
        stream(&[memory(1024), memory(476), packet("E01")]),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seeds_take_the_client_to_the_end_or_to_the_error_they_hold() {
        let seeds = seeds();
        assert!(session(&seeds[0]).is_ok());
        let e = session(&seeds[1]).unwrap_err().to_string();
        assert!(e.contains("stopped unexpectedly"), "{e}");
        let e = session(&seeds[2]).unwrap_err().to_string();
        assert!(e.contains("read"), "{e}");
    }
}
