//! A memory fault in the test process says where it happened.
//!
//! libtest runs each test on a thread named after it, but a segmentation fault kills the whole
//! binary with only "signal: 11" said, and which of the tests then running took it is lost (CI saw
//! this twice, on 2026-12-07; a core dump then placed it in tract's AMX kernel, which
//! `edgenas_wire::tract::settle_tract` now leaves out). The handler here writes, with system calls
//! only (a fault may come from a corrupted heap, so it neither allocates nor takes a lock): the
//! thread's name as the kernel holds it (libtest's test name, cut to 15 bytes), its id, the
//! faulting address, the instruction and stack pointers, the process's memory map (to place the
//! instruction in a library or in this binary) and the words at the top of the stack (return
//! addresses among them). Then it hands the signal to the handler it replaced: Rust's own, which
//! reports a stack overflow or lets the fault kill the process as before. Nothing else changes: a
//! test that faults still fails the run. It cannot run where the thread's signal frame fills
//! Rust's alternate stack (a thread using AMX tiles saves 8 KiB more of them in the frame, and
//! Rust sizes that stack to the largest frame alone): the fault then kills the process as before,
//! silently; `ulimit -c unlimited` and gdb on the core are the way there.

use std::sync::{Once, OnceLock};

/// The handler of each signal before ours: SIGSEGV's, then SIGBUS's.
static PREVIOUS: OnceLock<[libc::sigaction; 2]> = OnceLock::new();
const SIGNALS: [libc::c_int; 2] = [libc::SIGSEGV, libc::SIGBUS];
/// How many words at the top of the faulting stack are written out.
const STACK_WORDS: usize = 48;

/// Installs the handler, once per process; every shared helper calls this, so it is in place
/// from the first test that uses one.
pub fn name_the_test_on_a_fault() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        // SAFETY: sigaction(2) with structures zeroed and then filled as it documents; the
        // handler makes only async-signal-safe system calls and chains.
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

/// A line built on the stack, without allocating, written with write(2).
struct Line {
    bytes: [u8; 256],
    len: usize,
}

impl Line {
    fn new() -> Line {
        Line {
            bytes: [0; 256],
            len: 0,
        }
    }

    fn push(&mut self, text: &[u8]) {
        let n = text.len().min(self.bytes.len() - self.len);
        self.bytes[self.len..self.len + n].copy_from_slice(&text[..n]);
        self.len += n;
    }

    fn hex(&mut self, value: usize) {
        self.push(b" 0x");
        for i in 0..16 {
            self.push(&[b"0123456789abcdef"[(value >> (60 - 4 * i)) & 15]]);
        }
    }

    fn write(&mut self) {
        // SAFETY: write(2) of a buffer we own; async-signal-safe.
        unsafe { libc::write(2, self.bytes.as_ptr().cast(), self.len) };
        self.len = 0;
    }
}

/// The faulting thread's instruction and stack pointers, where this target's are known.
#[cfg(target_arch = "x86_64")]
fn pointers(context: *mut libc::c_void) -> Option<(usize, usize)> {
    // SAFETY: the kernel passes a valid ucontext to an SA_SIGINFO handler.
    let gregs = unsafe { (*context.cast::<libc::ucontext_t>()).uc_mcontext.gregs };
    Some((
        gregs[libc::REG_RIP as usize] as usize,
        gregs[libc::REG_RSP as usize] as usize,
    ))
}

#[cfg(not(target_arch = "x86_64"))]
fn pointers(_context: *mut libc::c_void) -> Option<(usize, usize)> {
    None
}

/// Copies /proc/self/maps to standard error with read(2) and write(2).
fn write_memory_map() {
    // SAFETY: open(2), read(2) into a buffer we own, close(2); all async-signal-safe.
    unsafe {
        let fd = libc::open(c"/proc/self/maps".as_ptr(), libc::O_RDONLY);
        if fd < 0 {
            return;
        }
        let mut chunk = [0u8; 256];
        loop {
            let n = libc::read(fd, chunk.as_mut_ptr().cast(), chunk.len());
            if n <= 0 {
                break;
            }
            libc::write(2, chunk.as_ptr().cast(), n as usize);
        }
        libc::close(fd);
    }
}

extern "C" fn on_fault(
    signal: libc::c_int,
    info: *mut libc::siginfo_t,
    context: *mut libc::c_void,
) {
    let mut line = Line::new();
    line.push(match signal {
        libc::SIGBUS => b"\nSIGBUS in thread '",
        _ => b"\nSIGSEGV in thread '",
    });
    let mut name = [0u8; 16];
    // SAFETY: PR_GET_NAME writes at most 16 bytes, NUL-terminated, into `name`.
    unsafe { libc::prctl(libc::PR_GET_NAME, name.as_mut_ptr()) };
    let len = name.iter().position(|&b| b == 0).unwrap_or(16);
    line.push(&name[..len]);
    line.push(b"', thread id");
    // SAFETY: gettid(2) takes no arguments.
    line.hex(unsafe { libc::syscall(libc::SYS_gettid) } as usize);
    line.push(b", address");
    // SAFETY: the kernel passes a valid siginfo to an SA_SIGINFO handler.
    let address = unsafe { (*info).si_addr() } as usize;
    line.hex(address);
    let stack = pointers(context).map(|(instruction, stack)| {
        line.push(b", instruction");
        line.hex(instruction);
        line.push(b", stack");
        line.hex(stack);
        stack
    });
    line.push(b"\nmemory map:\n");
    line.write();
    write_memory_map();
    // A fault within 64 KiB of the stack pointer is a stack overflow (Rust's handler below
    // says so): the stack is not read then.
    if let Some(stack) = stack.filter(|&s| s.abs_diff(address) > 1 << 16) {
        line.push(b"top of the stack:");
        line.write();
        for i in 0..STACK_WORDS {
            if i % 4 == 0 {
                line.push(b"\n");
            }
            // SAFETY: the words just above the faulting thread's stack pointer lie in its
            // stack, which did not overflow. Read last: a fault here still leaves every line
            // above written.
            line.hex(unsafe { std::ptr::read_volatile((stack as *const usize).add(i)) });
            line.write();
        }
        line.push(b"\n");
        line.write();
    }
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
