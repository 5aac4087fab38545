//! `edgenas bench workers`: trials per minute of 1, 2, 4… worker processes on one study, and
//! the coordination overhead per trial (time in the study's storage).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

use super::format::Table;

#[derive(Debug, clap::Args)]
pub struct WorkersArgs {
    /// A PostgreSQL database to benchmark (`postgres://USER@HOST/DB`; each run makes a study
    /// of its own in it). Without it, only SQLite studies are benchmarked.
    #[arg(long)]
    postgres: Option<String>,
    /// Skip the SQLite studies.
    #[arg(long)]
    no_sqlite: bool,
    /// Worker counts to run, one study each.
    #[arg(long, value_delimiter = ',', default_value = "1,2,4", value_parser = super::numbers::count)]
    workers: Vec<usize>,
    /// Trials per study.
    #[arg(long, default_value_t = 40, value_parser = super::numbers::count)]
    trials: usize,
    /// Epochs per trial (MLPs on `digits`: about 0.1 s an epoch).
    #[arg(long, default_value_t = 1, value_parser = super::numbers::count)]
    epochs: usize,
    /// Rounds: every configuration runs once per round, in turn, and the table gives the
    /// medians over rounds.
    #[arg(long, default_value_t = 3, value_parser = super::numbers::count)]
    rounds: usize,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

/// One study run by `workers` processes.
struct Run {
    backend: &'static str,
    workers: usize,
    trials: usize,
    seconds: f64,
    storage_seconds: f64,
    /// Trials that more than one worker said it ran (must be 0; the most of any round).
    run_twice: usize,
}

pub fn workers(args: WorkersArgs) -> Result<()> {
    let dir = tempfile_dir()?;
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_millis();
    // (backend, where its studies go): a folder for SQLite files, a database for PostgreSQL.
    let mut backends: Vec<(&'static str, String)> = Vec::new();
    if !args.no_sqlite {
        backends.push(("sqlite", dir.display().to_string()));
    }
    if let Some(base) = &args.postgres {
        backends.push(("postgres", base.clone()));
    }
    if backends.is_empty() {
        bail!("nothing to benchmark: give --postgres or leave out --no-sqlite");
    }
    let mut all: Vec<Run> = Vec::new();
    for round in 0..args.rounds {
        for (backend, base) in &backends {
            for &k in &args.workers {
                let study = match *backend {
                    "sqlite" => format!("{base}/bench-{round}-{k}.db"),
                    _ => {
                        let sep = if base.contains('?') { '&' } else { '?' };
                        format!("{base}{sep}study=bench-{stamp}-{round}-{k}")
                    }
                };
                all.push(run(backend, &study, k, &args, &dir)?);
                if !args.json {
                    eprintln!("round {}: {backend}, {k} workers done", round + 1);
                }
            }
        }
    }
    let runs = medians(&all);
    let _ = std::fs::remove_dir_all(&dir);
    let rows: Vec<Value> = runs
        .iter()
        .map(|r| {
            json!({
                "backend": r.backend,
                "workers": r.workers,
                "trials": r.trials,
                "seconds": r.seconds,
                "trials_per_minute": 60.0 * r.trials as f64 / r.seconds,
                "overhead_ms_per_trial": 1e3 * r.storage_seconds / r.trials.max(1) as f64,
                "run_twice": r.run_twice,
            })
        })
        .collect();
    if args.json {
        return super::print_json(&json!({ "epochs": args.epochs, "runs": rows }));
    }
    let mut t = Table::new(&[
        "backend",
        ">workers",
        ">trials",
        ">wall s",
        ">trials/min",
        ">speed-up",
        ">overhead ms/trial",
        ">run twice",
    ]);
    for (r, v) in runs.iter().zip(&rows) {
        let one = runs
            .iter()
            .find(|o| o.backend == r.backend && o.workers == 1)
            .map(|o| o.seconds / o.trials as f64);
        let speedup = one.map_or("-".into(), |s| {
            format!("{:.2}", s / (r.seconds / r.trials as f64))
        });
        t.row(vec![
            r.backend.into(),
            r.workers.to_string(),
            r.trials.to_string(),
            format!("{:.1}", r.seconds),
            format!("{:.1}", v["trials_per_minute"].as_f64().unwrap_or(0.0)),
            speedup,
            format!("{:.2}", v["overhead_ms_per_trial"].as_f64().unwrap_or(0.0)),
            r.run_twice.to_string(),
        ]);
    }
    print!("{}", t.render());
    println!(
        "MLPs on digits, {} epoch(s) a trial, simulator latency; medians of {} rounds; overhead = time a worker spends in the study's storage (claims, updates, heartbeats) per trial, the strategy's proposals excluded; run twice = trials more than one worker ran (must be 0)",
        args.epochs, args.rounds
    );
    Ok(())
}

/// One run per configuration: the median over rounds of its time per trial and overhead.
fn medians(all: &[Run]) -> Vec<Run> {
    let mut out: Vec<Run> = Vec::new();
    for r in all {
        if out
            .iter()
            .any(|o| o.backend == r.backend && o.workers == r.workers)
        {
            continue;
        }
        let same: Vec<&Run> = all
            .iter()
            .filter(|o| o.backend == r.backend && o.workers == r.workers)
            .collect();
        let median = |f: &dyn Fn(&Run) -> f64| {
            let mut v: Vec<f64> = same.iter().map(|o| f(o)).collect();
            v.sort_by(f64::total_cmp);
            v[v.len() / 2]
        };
        let trials = r.trials;
        out.push(Run {
            backend: r.backend,
            workers: r.workers,
            trials,
            seconds: median(&|o| o.seconds / o.trials.max(1) as f64) * trials as f64,
            storage_seconds: median(&|o| o.storage_seconds / o.trials.max(1) as f64)
                * trials as f64,
            run_twice: same.iter().map(|o| o.run_twice).max().unwrap_or(0),
        });
    }
    out
}

fn tempfile_dir() -> Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("edgenas-bench-workers-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    Ok(dir)
}

/// Creates `study` and runs `k` workers on it to the end.
fn run(
    backend: &'static str,
    study: &str,
    k: usize,
    args: &WorkersArgs,
    dir: &Path,
) -> Result<Run> {
    let exe = std::env::current_exe()?;
    let (trials, epochs) = (args.trials.to_string(), args.epochs.to_string());
    let created = Command::new(&exe)
        .args([
            "search",
            "--workers",
            "0",
            "--study",
            study,
            "--space",
            "mlp",
            "--board",
            "nucleo-f746zg",
            "--data",
            "digits",
            "--meter",
            "simulator",
            "--strategy",
            "random",
            "--trials",
            &trials,
            "--epochs",
            &epochs,
            "--patience",
            "0",
            "--out",
        ])
        .arg(dir)
        .output()?;
    if !created.status.success() {
        bail!(
            "creating {study}: {}",
            String::from_utf8_lossy(&created.stderr)
        );
    }
    let started = Instant::now();
    let children = (0..k)
        .map(|i| {
            Command::new(&exe)
                .args(["worker", "--study", study, "--meter", "simulator", "--json"])
                .args(["--name", &format!("bench-{i}"), "--out"])
                .arg(dir.join(format!("w{i}")))
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut ran = std::collections::HashSet::new();
    let (mut done, mut run_twice) = (0, 0);
    let mut storage_seconds = 0.0;
    for child in children {
        let out = child.wait_with_output()?;
        if !out.status.success() {
            bail!("a worker on {study} failed ({})", out.status);
        }
        let v: Value = serde_json::from_slice(&out.stdout)?;
        for t in v["trials"].as_array().into_iter().flatten() {
            done += 1;
            if !ran.insert(t["id"].as_i64()) {
                run_twice += 1;
            }
        }
        storage_seconds += v["storage_seconds"].as_f64().unwrap_or(0.0);
    }
    Ok(Run {
        backend,
        workers: k,
        trials: done,
        seconds: started.elapsed().as_secs_f64(),
        storage_seconds,
        run_twice,
    })
}
