//! `edgenas report --format csv|json`: a study's trials for scripts and notebooks.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use edgenas::search::pareto_front;
use edgenas::study::{SqliteStudy, Storage, Trial};
use serde_json::json;

/// Arguments of `edgenas report`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The study (from `edgenas search`).
    #[arg(long)]
    study: PathBuf,
    /// `csv`: one row per trial, with a `front` column; `json`: the settings, every trial
    /// and the front. (The HTML report with plots is not built yet.)
    #[arg(long, value_enum)]
    format: Format,
    /// Write here (through a temporary file and a rename) instead of standard output.
    #[arg(long)]
    out: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum Format {
    /// Comma-separated values.
    Csv,
    /// JSON.
    Json,
}

/// The CSV columns, in order.
const COLUMNS: [&str; 20] = [
    "trial",
    "state",
    "front",
    "genotype",
    "valid_accuracy",
    "test_accuracy",
    "latency_ms",
    "latency_kind",
    "ram_bytes",
    "flash_bytes",
    "params",
    "macs",
    "train_seconds",
    "seed",
    "reason",
    "worker",
    "created",
    "started",
    "finished",
    "artefacts",
];

fn csv_row(t: &Trial, on_front: bool) -> Vec<String> {
    let o = |v: Option<String>| v.unwrap_or_default();
    let n = |v: Option<u64>| o(v.map(|v| v.to_string()));
    let f = |v: Option<f64>| o(v.map(|v| v.to_string()));
    vec![
        t.id.to_string(),
        t.state.name().into(),
        on_front.to_string(),
        t.genotype.clone(),
        f(t.valid_accuracy),
        f(t.test_accuracy),
        f(t.latency_ms),
        o(t.latency_kind.clone()),
        n(t.ram_bytes),
        n(t.flash_bytes),
        n(t.params),
        n(t.macs),
        f(t.train_seconds),
        t.seed.to_string(),
        o(t.reason.clone()),
        o(t.worker.clone()),
        t.created.to_string(),
        f(t.started),
        f(t.finished),
        o(t.artefacts.clone()),
    ]
}

pub fn run(args: Args) -> Result<()> {
    let study = SqliteStudy::open(&args.study, false)?;
    let trials = study.trials()?;
    let front = pareto_front(&trials);
    let bytes = match args.format {
        Format::Json => {
            let value = json!({
                "study": args.study,
                "settings": study.settings()?,
                "trials": trials,
                "front": front,
            });
            let mut b = serde_json::to_vec_pretty(&value)?;
            b.push(b'\n');
            b
        }
        Format::Csv => {
            let mut w = csv::Writer::from_writer(Vec::new());
            w.write_record(COLUMNS)?;
            for t in &trials {
                w.write_record(csv_row(t, front.contains(&t.id)))?;
            }
            w.into_inner().context("writing CSV")?
        }
    };
    match &args.out {
        Some(path) => write_atomically(path, &bytes),
        None => {
            std::io::stdout().write_all(&bytes)?;
            Ok(())
        }
    }
}

/// Writes `bytes` to `path` through a temporary file beside it and a rename: no partial file
/// is ever left at `path`.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let Some(name) = path.file_name() else {
        bail!("{} is not a file name", path.display());
    };
    let tmp = path.with_file_name(format!(".{}.tmp", name.to_string_lossy()));
    std::fs::write(&tmp, bytes)
        .and_then(|_| std::fs::rename(&tmp, path))
        .map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            anyhow::anyhow!("cannot write {}: {e}", path.display())
        })
}
