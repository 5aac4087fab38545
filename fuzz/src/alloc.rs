//! The global allocator of the fuzz binaries: the system allocator, noting the largest single
//! request. A parser that sizes a buffer from a length field it did not check shows up here.

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Allocations larger than this are findings.
pub const TOO_LARGE: usize = 1 << 30;

static LARGEST: AtomicUsize = AtomicUsize::new(0);

/// The largest single allocation since the last [`reset_largest`].
pub fn largest() -> usize {
    LARGEST.load(Ordering::Relaxed)
}

/// Starts noting the largest allocation afresh.
pub fn reset_largest() {
    LARGEST.store(0, Ordering::Relaxed);
}

/// The system allocator noting the largest request; a request over `abort_above` bytes aborts
/// the process (libFuzzer then saves the input as a crash).
pub struct Largest {
    /// Requests over this many bytes abort.
    pub abort_above: usize,
}

impl Largest {
    fn note(&self, size: usize) {
        LARGEST.fetch_max(size, Ordering::Relaxed);
        if size > self.abort_above {
            // No formatting: it could allocate.
            let _ = std::io::stderr().write_all(b"edgenas-fuzz: an allocation over 1 GiB\n");
            std::process::abort();
        }
    }
}

// SAFETY: every call is passed on to the system allocator unchanged.
unsafe impl GlobalAlloc for Largest {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        self.note(layout.size());
        // SAFETY: the caller's contract is the system allocator's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        self.note(new_size);
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}
