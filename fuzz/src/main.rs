//! `edgenas-fuzz TARGET [EXECUTIONS] [SEED]`: fuzzes one parser (or `all`) and prints the
//! executions, panics, hangs and the slowest execution; a finding is written to
//! `fuzz/findings/TARGET/` and the exit status is 1. `edgenas-fuzz --list` names the targets;
//! `edgenas-fuzz --replay TARGET FILE` runs one input, a panic showing its message. The largest
//! single allocation of a target's run is printed too; over 1 GiB is a finding (status 1).

use std::alloc::{GlobalAlloc, Layout, System};
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};

use edgenas_fuzz::targets::{TARGETS, target};
use edgenas_fuzz::{Target, finding_path, fuzz, save_finding};

/// The system allocator, noting the largest single allocation: a parser that sizes a buffer
/// from a length field it did not check shows up here.
struct Largest;

static LARGEST: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is passed on to the system allocator unchanged.
unsafe impl GlobalAlloc for Largest {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LARGEST.fetch_max(layout.size(), Ordering::Relaxed);
        // SAFETY: the caller's contract is the system allocator's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LARGEST.fetch_max(new_size, Ordering::Relaxed);
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Largest = Largest;

/// Allocations larger than this are findings.
const TOO_LARGE: usize = 1 << 30;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(name) = args.first() else {
        eprintln!("usage: edgenas-fuzz TARGET|all|--list [EXECUTIONS] [SEED]");
        return ExitCode::from(2);
    };
    if name == "--replay" {
        let (Some(t), Some(file)) = (args.get(1).and_then(|n| target(n)), args.get(2)) else {
            eprintln!("usage: edgenas-fuzz --replay TARGET FILE");
            return ExitCode::from(2);
        };
        match std::fs::read(file) {
            Ok(input) => (t.run)(&input),
            Err(e) => {
                eprintln!("{file}: {e}");
                return ExitCode::from(2);
            }
        }
        return ExitCode::SUCCESS;
    }
    if name == "--list" {
        for t in TARGETS {
            println!("{:<6} {}", t.name, t.what);
        }
        return ExitCode::SUCCESS;
    }
    let number = |i: usize, default: u64| match args.get(i) {
        None => Some(default),
        Some(v) => v.parse().ok(),
    };
    let (Some(executions), Some(seed)) = (number(1, 100_000), number(2, 1)) else {
        eprintln!("EXECUTIONS and SEED are whole numbers");
        return ExitCode::from(2);
    };
    let chosen: Vec<&Target> = match name.as_str() {
        "all" => TARGETS.iter().collect(),
        n => match target(n) {
            Some(t) => vec![t],
            None => {
                eprintln!("no target {n}: edgenas-fuzz --list names them");
                return ExitCode::from(2);
            }
        },
    };
    let mut found = false;
    for t in chosen {
        let started = std::time::Instant::now();
        LARGEST.store(0, Ordering::Relaxed);
        let report = fuzz(t, executions, seed);
        let largest = LARGEST.load(Ordering::Relaxed);
        println!(
            "{:<6} {} executions in {:.1} s, {} panics, {} hangs over 1 s, slowest {:.1} ms, largest allocation {:.1} MiB",
            t.name,
            report.executions,
            started.elapsed().as_secs_f64(),
            report.panics.len(),
            report.hangs.len(),
            report.slowest.as_secs_f64() * 1e3,
            largest as f64 / (1 << 20) as f64
        );
        found |= largest > TOO_LARGE;
        for (kind, inputs) in [("panic", &report.panics), ("hang", &report.hangs)] {
            for (i, input) in inputs.iter().enumerate() {
                found = true;
                let path = finding_path(t.name, kind, seed, i);
                save_finding(&path, input);
                println!("  {kind}: {}", path.display());
            }
        }
    }
    if found {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
