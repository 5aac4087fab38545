//! `edgenas measure`: the latency of any ONNX model on a board.

use super::named;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use edgenas::board::load_board;
use edgenas::measure::{Measurement, MeterChoice, OpProfile, Timer, meter_for};

use super::format::{Table, bytes, count};

/// Arguments of `edgenas measure`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The ONNX model to measure: one of ours (`model.onnx` from `train --out`) or any other
    /// with a static input shape.
    model: PathBuf,
    /// The board: a shipped name (`edgenas boards`) or a path to a board file.
    #[arg(long, default_value = "host")]
    board: String,
    /// Which meter: `auto` times the host with tract, runs an emulated board's model in QEMU
    /// and a real microcontroller's through an attached debug probe (when the board's firmware
    /// is built: docs/boards.md), has a Linux board's `edgenas-agent` time it (when the agent
    /// answers), and predicts every other board with the simulator.
    #[arg(long, value_parser = named::<MeterChoice>(), default_value = "auto")]
    meter: MeterChoice,
    /// Time exactly this many runs (after warm-up) instead of running until the median is
    /// stable within 1 % (or 3 s have passed).
    #[arg(long)]
    runs: Option<usize>,
    /// On an emulated board, also print the instructions of each op: what every layer costs,
    /// and its instructions per multiply-accumulate.
    #[arg(long)]
    ops: bool,
    /// Print JSON: `latency_ms` (`median`, `p10`, `p90`, `runs`), `backend`, `kind`
    /// (`measured`, `predicted` or `emulated`), `cycles`, `instructions`, `ram_bytes`,
    /// `flash_bytes`, `warnings`, from an agent `board_facts`, and from an emulated board `ops`
    /// (per op: `op`, `kind`, `dtype`, `output`, `macs`, `instructions`).
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> Result<()> {
    let board = load_board(&args.board)?;
    let what = args.model.display().to_string();
    let bytes = std::fs::read(&args.model).with_context(|| format!("cannot read {what}"))?;
    let mut timer = Timer::default();
    if let Some(n) = args.runs {
        anyhow::ensure!(n > 0, "--runs must be at least 1");
        (timer.min_runs, timer.max_runs, timer.max_time) = (n, n, Duration::MAX);
    }
    let meter = meter_for(&board, args.meter, timer)?;
    let m = meter.measure(&bytes, &what)?;
    if args.json {
        return super::print_json(&serde_json::to_value(&m)?);
    }
    print_measurement(&what, &m);
    if args.ops {
        match &m.ops {
            Some(ops) => print_ops(ops, m.instructions.unwrap_or(0)),
            None => eprintln!(
                "note: --ops: the {} meter counts no instructions per op",
                m.backend
            ),
        }
    }
    Ok(())
}

fn print_measurement(what: &str, m: &Measurement) {
    let kind = format!("{:?}", m.kind).to_lowercase();
    println!("model     {what} ({})", bytes(m.flash_bytes.unwrap_or(0)));
    println!("board     {} ({}, {kind})", m.board, m.backend);
    let l = &m.latency_ms;
    if l.runs > 0 {
        println!(
            "latency   median {:.4} ms (p10 {:.4}, p90 {:.4}) over {} runs",
            l.median, l.p10, l.p90, l.runs
        );
    } else {
        println!("latency   {:.4} ms", l.median);
    }
    if let Some(c) = m.cycles {
        println!("cycles    {}", count(c.round() as u64));
    }
    if let Some(r) = m.ram_bytes {
        let what = if m.board_facts.is_some() {
            "peak RSS of the agent"
        } else {
            "arena high water"
        };
        println!("ram       {} ({what})", bytes(r));
    }
    if let Some(f) = &m.board_facts {
        let unknown = || "?".to_string();
        println!(
            "agent     on {}: {}, {} cores, {} memory, {}, kernel {}",
            f.hostname.clone().unwrap_or_else(unknown),
            f.model
                .clone()
                .or_else(|| f.cpu.clone())
                .unwrap_or_else(unknown),
            f.cores,
            f.memory_bytes.map_or_else(unknown, bytes),
            f.arch,
            f.kernel.clone().unwrap_or_else(unknown)
        );
    }
    for w in &m.warnings {
        eprintln!("warning: {w}");
    }
}

/// The per-op table of an emulated run whose inference took `total` instructions.
fn print_ops(ops: &[OpProfile], total: u64) {
    let mut t = Table::new(&[
        ">op",
        "kind",
        "type",
        "output",
        ">MACs",
        ">instructions",
        ">instr/MAC",
        ">share",
    ]);
    let share = |n: u64| format!("{:.1} %", 100.0 * n as f64 / total.max(1) as f64);
    for p in ops {
        t.row(vec![
            p.op.to_string(),
            p.kind.into(),
            p.dtype.into(),
            p.output.clone(),
            count(p.macs),
            count(p.instructions),
            if p.macs > 0 {
                format!("{:.2}", p.instructions as f64 / p.macs as f64)
            } else {
                "-".into()
            },
            share(p.instructions),
        ]);
    }
    let rest = total.saturating_sub(ops.iter().map(|p| p.instructions).sum());
    t.row(vec![
        String::new(),
        "(output copy)".into(),
        String::new(),
        String::new(),
        String::new(),
        count(rest),
        String::new(),
        share(rest),
    ]);
    println!();
    print!("{}", t.render());
}
