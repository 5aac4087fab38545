//! Fuzz targets for the parsers of untrusted input, and a structured mutation fuzzer to run
//! them, on stable Rust.
//!
//! Each [`Target`] starts from a corpus of valid inputs that edgenas itself produces (the
//! shipped spaces and boards, ONNX files and blobs exported from real networks, data files,
//! agent frames, gdb packets and study rows written the way their formats say). [`fuzz`]
//! mutates them — bit flips, interesting bytes and numbers, inserted, deleted and duplicated
//! runs, splices of two inputs, and for text formats the tokens their grammars are made of —
//! and feeds each mutant to the parser. A target passes an execution when the parser returns
//! (`Ok` or `Err`) within [`HANG`]; a panic or a hang is a finding, written to
//! `fuzz/findings/TARGET/` to become a regression test. The same targets run coverage-guided
//! under libFuzzer in the `edgenas-fuzz-libfuzzer` binary (`fuzz/coverage.sh`).

pub mod alloc;
pub mod gdb_replies;
pub mod media;
pub mod mutate;
pub mod study_rows;
pub mod targets;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// An execution that takes longer than this is a hang.
pub const HANG: Duration = Duration::from_secs(1);

/// An execution still running after this long is never coming back: the watchdog writes its
/// input to the findings and ends the process (status 1).
pub const STUCK: Duration = Duration::from_secs(10);

/// Where findings go: `fuzz/findings/TARGET/KIND-SEED-N`.
pub fn finding_path(target: &str, kind: &str, seed: u64, n: usize) -> std::path::PathBuf {
    Path::new("fuzz/findings")
        .join(target)
        .join(format!("{kind}-{seed}-{n}"))
}

/// Writes a finding (best effort: the report names it either way).
pub fn save_finding(path: &Path, input: &[u8]) {
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let _ = std::fs::write(path, input);
}

/// The execution in flight, for the watchdog.
type InFlight = Arc<Mutex<Option<(Instant, Vec<u8>)>>>;

/// A thread that ends the process when the execution in flight has run for [`STUCK`]; it ends
/// itself when the run is over (it holds the last reference to `current`).
fn watchdog(target: &'static str, seed: u64, current: InFlight) {
    std::thread::spawn(move || {
        while Arc::strong_count(&current) > 1 {
            std::thread::sleep(Duration::from_millis(200));
            let guard = current.lock().unwrap_or_else(|e| e.into_inner());
            if let Some((started, input)) = guard.as_ref()
                && started.elapsed() > STUCK
            {
                let path = finding_path(target, "stuck", seed, 0);
                save_finding(&path, input);
                println!(
                    "{target}: an execution ran for over {} s: {}",
                    STUCK.as_secs(),
                    path.display()
                );
                std::process::exit(1);
            }
        }
    });
}

/// A fuzz target: a name, its seed inputs, and the parser it drives.
pub struct Target {
    /// The name (`space`, `onnx`, …).
    pub name: &'static str,
    /// What it parses, for `--list`.
    pub what: &'static str,
    /// Valid inputs to start from.
    pub seeds: fn() -> Vec<Vec<u8>>,
    /// Feeds one input to the parser; must return, never panic.
    pub run: fn(&[u8]),
    /// Whether the input is text (then text tokens are mutated in too).
    pub text: bool,
}

/// What a run of a target found.
#[derive(Debug, Default)]
pub struct Report {
    /// Executions.
    pub executions: u64,
    /// Inputs that made the parser panic.
    pub panics: Vec<Vec<u8>>,
    /// Inputs that took longer than [`HANG`].
    pub hangs: Vec<Vec<u8>>,
    /// The longest execution.
    pub slowest: Duration,
}

/// Runs `target` for `executions` mutants, seeded with `seed` (the seeds themselves first).
/// An execution that never returns ends the process (see [`STUCK`]).
pub fn fuzz(target: &'static Target, executions: u64, seed: u64) -> Report {
    let corpus = (target.seeds)();
    assert!(!corpus.is_empty(), "{}: no seeds", target.name);
    let mut rng = mutate::Rng::new(seed);
    let mut report = Report::default();
    let current: InFlight = Arc::new(Mutex::new(None));
    watchdog(target.name, seed, Arc::clone(&current));
    // Panics are findings: keep them off standard error.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    for i in 0..executions {
        let input = match corpus.get(i as usize) {
            Some(s) => s.clone(),
            None => mutate::mutant(&corpus, target.text, &mut rng),
        };
        let started = Instant::now();
        *current.lock().unwrap_or_else(|e| e.into_inner()) = Some((started, input.clone()));
        let panicked = catch_unwind(AssertUnwindSafe(|| (target.run)(&input))).is_err();
        let took = started.elapsed();
        *current.lock().unwrap_or_else(|e| e.into_inner()) = None;
        report.executions += 1;
        report.slowest = report.slowest.max(took);
        if panicked {
            report.panics.push(input);
        } else if took > HANG {
            report.hangs.push(input);
        }
    }
    std::panic::set_hook(hook);
    report
}
