//! `edgenas measure`: the latency of any ONNX model on a board.

use super::named;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use edgenas::board::BoardKind;
use edgenas::board::load_board;
use edgenas::export::StoredInfo;
use edgenas::front_end::FrontEnd;
use edgenas::measure::{
    FrontEndShare, Measurement, MeterChoice, OpProfile, QemuMeter, Timer, meter_for,
};

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
    #[arg(long, value_parser = super::numbers::count)]
    runs: Option<usize>,
    /// On an emulated board, also print the instructions of each op: what every layer costs,
    /// and its instructions per multiply-accumulate.
    #[arg(long)]
    ops: bool,
    /// The audio front end to run before the network: a front-end blob (`front_end-int8.blob`
    /// from `train --out`), or `none`. By default, a model with a front end in its metadata
    /// is measured with the blob beside it (`front_end-int8.blob` for an int8 model,
    /// `front_end.blob` for an f32 one): an emulated board runs it on a clip and counts its
    /// instructions; other boards add its latency predicted by the board's cost model.
    #[arg(long, value_name = "BLOB|none")]
    front_end: Option<String>,
    /// Print JSON: `latency_ms` (`median`, `p10`, `p90`, `runs`), `backend`, `kind`
    /// (`measured`, `predicted` or `emulated`), `cycles`, `instructions`, `ram_bytes`,
    /// `flash_bytes`, `warnings`, `classes` (the output names a model exported by edgenas
    /// records; empty for others), from an agent `board_facts`, from an emulated board `ops`
    /// (per op: `op`, `kind`, `dtype`, `output`, `macs`, `instructions`), and with a front end
    /// `front_end` (`latency_ms`, `instructions`; included in `latency_ms`).
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> Result<()> {
    let board = load_board(&args.board)?;
    let what = args.model.display().to_string();
    let bytes = std::fs::read(&args.model).with_context(|| format!("cannot read {what}"))?;
    let mut timer = Timer::default();
    if let Some(n) = args.runs {
        (timer.min_runs, timer.max_runs, timer.max_time) = (n, n, Duration::MAX);
    }
    // What edgenas recorded in a model it exported (none for other models).
    let info = StoredInfo::from_bytes(&bytes, &what).ok();
    let m = match front_end_blob(&args, info.as_ref(), &what)? {
        None => meter_for(&board, args.meter, timer)?.measure(&bytes, &what)?,
        Some((blob, front_end)) => {
            let emulated = args.meter == MeterChoice::Qemu
                || (args.meter == MeterChoice::Auto && board.kind == BoardKind::Emulator);
            if emulated {
                QemuMeter::new(&board)?.measure_with_front_end(&bytes, &what, &blob)?
            } else {
                let mut m = meter_for(&board, args.meter, timer)?.measure(&bytes, &what)?;
                let Some(ms) = front_end.predicted_ms(&board) else {
                    anyhow::bail!(
                        "board {} has no cost model to predict the front end with; measure the \
                         network alone with --front-end none",
                        board.name
                    );
                };
                let l = &mut m.latency_ms;
                (l.median, l.p10, l.p90) = (l.median + ms, l.p10 + ms, l.p90 + ms);
                m.front_end = Some(FrontEndShare {
                    latency_ms: ms,
                    instructions: None,
                    cycles: None,
                });
                m.warnings.push(format!(
                    "the front end's {ms:.3} ms are predicted by the board's cost model, not \
                     measured"
                ));
                m
            }
        }
    };
    let classes = info.map(|i| i.classes).unwrap_or_default();
    if args.json {
        let mut value = serde_json::to_value(&m)?;
        value["classes"] = serde_json::json!(classes);
        return super::print_json(&value);
    }
    print_measurement(&what, &m);
    if !classes.is_empty() {
        println!("classes   {}", classes.join(", "));
    }
    if args.ops {
        match &m.ops {
            Some(ops) => print_ops(
                ops,
                m.front_end
                    .as_ref()
                    .and_then(|f| Some((f.instructions, f.cycles?))),
                (m.instructions, m.cycles.unwrap_or(0.0)),
            ),
            None => eprintln!(
                "note: --ops: the {} meter counts no cycles per op",
                m.backend
            ),
        }
    }
    Ok(())
}

/// The front-end blob to run before the network, with the model's front end: `--front-end`,
/// else the blob beside a model whose metadata has a front end.
fn front_end_blob(
    args: &Args,
    info: Option<&StoredInfo>,
    what: &str,
) -> Result<Option<(Vec<u8>, FrontEnd)>> {
    if args.front_end.as_deref() == Some("none") {
        return Ok(None);
    }
    let Some(front_end) = info.and_then(|i| i.front_end) else {
        if args.front_end.is_some() {
            anyhow::bail!("{what} has no front end in its metadata: it was not trained on audio");
        }
        return Ok(None);
    };
    let path = match &args.front_end {
        Some(p) => PathBuf::from(p),
        None => {
            let int8 = args
                .model
                .file_name()
                .is_some_and(|n| n.to_string_lossy().contains("int8"));
            let name = if int8 {
                "front_end-int8.blob"
            } else {
                "front_end.blob"
            };
            let beside = args.model.with_file_name(name);
            if !beside.is_file() {
                anyhow::bail!(
                    "{what} has a front end but {} is not beside it; give --front-end BLOB, or \
                     --front-end none to measure the network alone",
                    beside.display()
                );
            }
            beside
        }
    };
    let blob = std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
    Ok(Some((blob, front_end)))
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
    if let Some(f) = &m.front_end {
        let instructions = f
            .instructions
            .map_or(String::new(), |n| format!(", {} instructions", count(n)));
        println!(
            "front end {:.4} ms{instructions} ({:.1} % of the network's {:.4} ms)",
            f.latency_ms,
            100.0 * f.latency_ms / (l.median - f.latency_ms).max(f64::MIN_POSITIVE),
            l.median - f.latency_ms
        );
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

/// The per-op table of a run on a board whose inference took `total` instructions (counted on
/// an emulated board only) and cycles, the front end's first when it ran one.
fn print_ops(ops: &[OpProfile], front_end: Option<(Option<u64>, f64)>, total: (Option<u64>, f64)) {
    let mut t = Table::new(&[
        ">op",
        "kind",
        "type",
        "output",
        ">MACs",
        ">instructions",
        ">cycles",
        ">cycles/MAC",
        ">share",
    ]);
    let row = |t: &mut Table, head: [String; 4], macs: u64, (n, cycles): (Option<u64>, f64)| {
        let per_mac = match macs {
            0 => "-".to_string(),
            m => format!("{:.2}", cycles / m as f64),
        };
        let mut cells = head.to_vec();
        cells.extend([
            if macs > 0 { count(macs) } else { String::new() },
            n.map_or("-".into(), count),
            count(cycles.round() as u64),
            per_mac,
            format!("{:.1} %", 100.0 * cycles / total.1.max(1.0)),
        ]);
        t.row(cells);
    };
    let blank = String::new;
    if let Some(f) = front_end {
        let head = [blank(), "front end".into(), blank(), "features".into()];
        row(&mut t, head, 0, f);
    }
    for p in ops {
        let head = [
            p.op.to_string(),
            p.kind.into(),
            p.dtype.into(),
            p.output.clone(),
        ];
        row(&mut t, head, p.macs, (p.instructions, p.cycles));
    }
    let (fe_n, fe_cycles) = front_end.unwrap_or((Some(0), 0.0));
    let counted: Option<u64> = ops.iter().map(|p| p.instructions).sum();
    let rest = (
        total
            .0
            .zip(counted.zip(fe_n))
            .map(|(all, (ops, fe))| all.saturating_sub(ops + fe)),
        (total.1 - ops.iter().map(|p| p.cycles).sum::<f64>() - fe_cycles).max(0.0),
    );
    row(
        &mut t,
        [blank(), "(output copy)".into(), blank(), blank()],
        0,
        rest,
    );
    println!();
    print!("{}", t.render());
}
