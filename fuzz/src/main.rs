//! `edgenas-fuzz TARGET [EXECUTIONS] [SEED]`: fuzzes one parser (or `all`) and prints the
//! executions, panics, hangs and the slowest execution; a finding is written to
//! `fuzz/findings/TARGET/` and the exit status is 1. `edgenas-fuzz --list` names the targets;
//! `edgenas-fuzz --replay TARGET FILE` runs one input, a panic showing its message. The largest
//! single allocation of a target's run is printed too; over 1 GiB is a finding (status 1).
//! `--seeds TARGET DIR` writes a target's seeds as a corpus and `--dict` the text tokens as a
//! dictionary, both for the coverage-guided runs of `fuzz/coverage.sh`.

use std::process::ExitCode;

use edgenas_fuzz::alloc::{Largest, TOO_LARGE, largest, reset_largest};
use edgenas_fuzz::targets::{TARGETS, target};
use edgenas_fuzz::{Target, finding_path, fuzz, save_finding};

/// Large allocations are counted here and judged after each target's run.
#[global_allocator]
static ALLOCATOR: Largest = Largest {
    abort_above: usize::MAX,
};

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
    if name == "--seeds" {
        let (Some(t), Some(dir)) = (args.get(1).and_then(|n| target(n)), args.get(2)) else {
            eprintln!("usage: edgenas-fuzz --seeds TARGET DIR");
            return ExitCode::from(2);
        };
        return match write_seeds(t, std::path::Path::new(dir)) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("{dir}: {e}");
                ExitCode::from(2)
            }
        };
    }
    if name == "--dict" {
        for token in edgenas_fuzz::mutate::TOKENS {
            println!("\"{}\"", libfuzzer_escaped(token));
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
        reset_largest();
        let report = fuzz(t, executions, seed);
        let largest = largest();
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

/// Writes the seeds of `t` into `dir`, one file each (a libFuzzer corpus).
fn write_seeds(t: &Target, dir: &std::path::Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    for (i, seed) in (t.seeds)().iter().enumerate() {
        std::fs::write(dir.join(format!("seed-{i}")), seed)?;
    }
    Ok(())
}

/// `token` as a libFuzzer dictionary entry's body: printable ASCII as is, quotes and
/// backslashes escaped, everything else as `\xNN`.
fn libfuzzer_escaped(token: &str) -> String {
    token
        .bytes()
        .map(|b| match b {
            b'"' | b'\\' => format!("\\{}", b as char),
            0x20..=0x7E => (b as char).to_string(),
            _ => format!("\\x{b:02X}"),
        })
        .collect()
}
