//! A memory fault in the test process names the test it happened in.
//!
//! libtest runs each test on a thread named after it, but a segmentation fault kills the whole
//! binary with only "signal: 11" said, and which of the tests then running took it is lost
//! (CI saw this once, on 2026-12-07, and a local loop of the suite never did). The handler
//! here writes the thread's name and the faulting address to standard error, then hands the
//! signal to the handler it replaced: Rust's own, which reports a stack overflow or lets the
//! fault kill the process as before. Nothing else changes: a test that faults still fails
//! the run.

use std::sync::{Once, OnceLock};

/// The handler of each signal before ours: SIGSEGV's, then SIGBUS's.
static PREVIOUS: OnceLock<[libc::sigaction; 2]> = OnceLock::new();
const SIGNALS: [libc::c_int; 2] = [libc::SIGSEGV, libc::SIGBUS];

/// Installs the handler, once per process; every shared helper calls this, so it is in place
/// from the first test that uses one.
pub fn name_the_test_on_a_fault() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        // SAFETY: sigaction(2) with structures zeroed and then filled as it documents; the
        // handler does nothing but format into a buffer on its stack, write(2) and chain.
        unsafe {
            let mut previous: [libc::sigaction; 2] = std::mem::zeroed();
            let mut ours: libc::sigaction = std::mem::zeroed();
            ours.sa_sigaction = on_fault as *const () as libc::sighandler_t;
            // SA_ONSTACK: Rust gives each thread an alternate stack, so an overflow is reported.
            ours.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
            libc::sigemptyset(&mut ours.sa_mask);
            for (signal, old) in SIGNALS.iter().zip(previous.iter_mut()) {
                libc::sigaction(*signal, std::ptr::null(), old);
            }
            let _ = PREVIOUS.set(previous);
            for signal in SIGNALS {
                libc::sigaction(signal, &ours, std::ptr::null_mut());
            }
        }
    });
}

/// A line built on the stack, without allocating.
struct Line {
    bytes: [u8; 512],
    len: usize,
}

impl Line {
    fn push(&mut self, text: &[u8]) {
        let n = text.len().min(self.bytes.len() - self.len);
        self.bytes[self.len..self.len + n].copy_from_slice(&text[..n]);
        self.len += n;
    }

    fn hex(&mut self, value: usize) {
        let digits: [u8; 16] =
            std::array::from_fn(|i| b"0123456789abcdef"[(value >> (60 - 4 * i)) & 15]);
        self.push(b"0x");
        self.push(&digits);
    }
}

extern "C" fn on_fault(
    signal: libc::c_int,
    info: *mut libc::siginfo_t,
    context: *mut libc::c_void,
) {
    let mut line = Line {
        bytes: [0; 512],
        len: 0,
    };
    line.push(match signal {
        libc::SIGBUS => b"\nSIGBUS in test ",
        _ => b"\nSIGSEGV in test ",
    });
    let thread = std::thread::current();
    line.push(thread.name().unwrap_or("(unnamed thread)").as_bytes());
    line.push(b" at address ");
    // SAFETY: the kernel passes a valid siginfo to an SA_SIGINFO handler.
    line.hex(unsafe { (*info).si_addr() } as usize);
    line.push(b"\n");
    // SAFETY: write(2) of a buffer we own; async-signal-safe.
    unsafe { libc::write(2, line.bytes.as_ptr().cast(), line.len) };
    let index = SIGNALS.iter().position(|&s| s == signal).unwrap_or(0);
    let previous = PREVIOUS.get().map(|p| p[index]);
    match previous {
        Some(p) if p.sa_sigaction != libc::SIG_DFL && p.sa_sigaction != libc::SIG_IGN => {
            // SAFETY: the address sigaction(2) gave back for an SA_SIGINFO handler.
            let handler: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
                unsafe { std::mem::transmute(p.sa_sigaction) };
            handler(signal, info, context);
        }
        // No handler before ours: back to the default, and the fault kills on return.
        // SAFETY: signal(2) restoring the default disposition.
        _ => unsafe {
            libc::signal(signal, libc::SIG_DFL);
        },
    }
}
