//! `edgenas-fuzz TARGET [EXECUTIONS] [SEED]`: fuzzes one parser (or `all`) and prints the
//! executions, panics, hangs and the slowest execution; a finding is written to
//! `fuzz/findings/TARGET/` and the exit status is 1. `edgenas-fuzz --list` names the targets;
//! `edgenas-fuzz --replay TARGET FILE` runs one input, a panic showing its message.

use std::process::ExitCode;

use edgenas_fuzz::targets::{TARGETS, target};
use edgenas_fuzz::{Target, finding_path, fuzz, save_finding};

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
        let report = fuzz(t, executions, seed);
        println!(
            "{:<6} {} executions in {:.1} s, {} panics, {} hangs over 1 s, slowest {:.1} ms",
            t.name,
            report.executions,
            started.elapsed().as_secs_f64(),
            report.panics.len(),
            report.hangs.len(),
            report.slowest.as_secs_f64() * 1e3
        );
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
