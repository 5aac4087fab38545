//! `edgenas report`: a study as one self-contained HTML file, or its trials as CSV or JSON
//! for scripts and notebooks.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};
use edgenas::export::write_path;
use edgenas::front::pareto_front;
use edgenas::report::study_html;
use edgenas::study::{Trial, epochs_trained};
use serde_json::json;

/// Arguments of `edgenas report`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The study (from `edgenas search`): a SQLite file, or a
    /// `postgres://USER@HOST/DB?study=NAME` URL.
    #[arg(long)]
    study: String,
    /// `html`: settings, Pareto plots, learning curves, best-so-far curve, trial table,
    /// finalists; `csv`: one row per trial, with a `front` column and the epochs it trained;
    /// `json`: the settings, every trial (with its learning curve, `curve`), the front and
    /// `epochs_trained` in all.
    #[arg(long, value_enum, default_value = "html")]
    format: Format,
    /// Write here (through a temporary file and a rename). Default: `report.html` for HTML,
    /// standard output for CSV and JSON.
    #[arg(long)]
    out: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum Format {
    /// One self-contained HTML file.
    Html,
    /// Comma-separated values.
    Csv,
    /// JSON.
    Json,
}

/// The CSV columns, in order.
const COLUMNS: [&str; 21] = [
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
    "epochs",
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
        t.curve.len().to_string(),
    ]
}

pub fn run(args: Args) -> Result<()> {
    let study = edgenas::study::open(&args.study, false)?;
    let trials = study.trials()?;
    let front = pareto_front(&trials);
    let bytes = match args.format {
        Format::Html => study_html(study.as_ref())?.into_bytes(),
        Format::Json => {
            let value = json!({
                "study": study.location(),
                "settings": study.settings()?,
                "trials": trials,
                "front": front,
                "epochs_trained": epochs_trained(&trials),
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
    let out = match (&args.out, args.format) {
        (Some(path), _) => Some(path.clone()),
        (None, Format::Html) => Some(PathBuf::from("report.html")),
        (None, _) => None,
    };
    match out {
        Some(path) => {
            write_path(&path, &bytes)?;
            if matches!(args.format, Format::Html) {
                println!("wrote {}", path.display());
            }
            Ok(())
        }
        None => {
            std::io::stdout().write_all(&bytes)?;
            Ok(())
        }
    }
}
