//! `edgenas worker`: one more process working on a study, on this machine or another.

use std::path::PathBuf;

use anyhow::{Context, Result, anyhow, bail};
use edgenas::measure::MeterChoice;
use edgenas::plan::{Plan, PlanOptions};
use edgenas::rng::fnv1a;
use edgenas::search::{Event, Search, SearchConfig, Stop};
use edgenas::strategy::{StrategyName, strategy};
use edgenas::study::{HEARTBEAT_TIMEOUT_SECONDS, TimedStorage, TrialState, worker_name};
use serde_json::json;

use super::named;
use super::search::{Display, stop_on_ctrl_c};
use super::train_args::DeviceArg;

/// Arguments of `edgenas worker`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The study to work on, created by `edgenas search` (with `--workers 0` to leave all
    /// the work to workers): `postgres://USER@HOST/DB?study=NAME`, or a SQLite file that
    /// workers of this machine share.
    #[arg(long)]
    study: String,
    /// The board this worker measures on: a shipped name or a board file (say, one that
    /// names this machine's probe). It must be the study's board: every trial of a
    /// study needs that board, and a worker with another refuses to start. Default: the
    /// board file the study was created with.
    #[arg(long)]
    board: Option<String>,
    /// This worker's name in the trials it runs (recorded as `NAME@host:pid`). Default:
    /// `host:pid`.
    #[arg(long)]
    name: Option<String>,
    /// The strategy that proposes this worker's new trials, told every result of the study.
    /// Default: the study's.
    #[arg(long, value_parser = named::<StrategyName>())]
    strategy: Option<StrategyName>,
    /// How latency is obtained before training (as in `edgenas search`).
    #[arg(long, value_parser = named::<MeterChoice>(), default_value = "auto")]
    meter: MeterChoice,
    /// Where the weights of this worker's trials go (`trials/ID/`).
    #[arg(long, default_value = "edgenas-worker")]
    out: PathBuf,
    /// Start no new trial after this many seconds.
    #[arg(long, value_name = "SECONDS", value_parser = super::numbers::positive)]
    time_budget: Option<f64>,
    /// Seconds without a heartbeat (workers beat every 2 s) after which another worker's
    /// running trial is taken for abandoned and run again.
    #[arg(long, default_value_t = HEARTBEAT_TIMEOUT_SECONDS, value_name = "SECONDS", value_parser = super::numbers::positive)]
    heartbeat_timeout: f64,
    /// Where to train.
    #[arg(long, value_enum, default_value_t = DeviceArg::Cpu)]
    device: DeviceArg,
    /// Print JSON at the end: `worker`, `study`, `stop`, `trials` (id and state of each trial
    /// this worker ran), `seconds`, `storage_seconds` and `overhead_ms_per_trial` (time in
    /// the study's storage: claims, updates, heartbeats).
    #[arg(long)]
    json: bool,
}

/// A heartbeat timeout must leave room for a few beats.
pub fn check_heartbeat_timeout(seconds: f64) -> Result<()> {
    if seconds.is_nan() || seconds < 3.0 * edgenas::search::HEARTBEAT_SECONDS {
        bail!(
            "--heartbeat-timeout must be at least {} seconds (workers beat every {} s)",
            3.0 * edgenas::search::HEARTBEAT_SECONDS,
            edgenas::search::HEARTBEAT_SECONDS
        );
    }
    Ok(())
}

pub fn run(args: Args) -> Result<()> {
    check_heartbeat_timeout(args.heartbeat_timeout)?;
    let study = edgenas::study::open(&args.study, false)?;
    let location = study.location();
    let settings = study.settings()?.ok_or_else(|| {
        anyhow!(
            "study {location} has no settings: create it with `edgenas search --study … --workers 0` and the search's options"
        )
    })?;
    let options = PlanOptions {
        board_file: args.board.as_deref(),
        meter: args.meter,
        strategy: args.strategy,
    };
    let plan = Plan::resolve(settings, &location, options)?;
    if let Some(note) = &plan.note {
        eprintln!("note: {note}");
    }
    let device = edgenas::train::device(args.device.into())?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    let worker = worker_name(args.name.as_deref());
    let latency_target = plan.settings.limits.max_latency_ms;
    let trials = plan.trials;
    let config = SearchConfig {
        settings: plan.settings.clone(),
        trials,
        time_budget_seconds: args.time_budget,
        train: plan.train.clone(),
        out: args.out.clone(),
        finalists: 0,
        stream: fnv1a(worker.as_bytes()),
        worker: worker.clone(),
        heartbeat_timeout_seconds: args.heartbeat_timeout,
    };
    let timed = TimedStorage::new(study.as_ref());
    let stop = stop_on_ctrl_c()?;
    let search = Search {
        config: &config,
        space: &plan.space,
        board: &plan.board,
        storage: &timed,
        meter: plan.meter.as_deref(),
        device: &device,
        stop: &stop,
    };
    let started = std::time::Instant::now();
    let mut display = Display::new(trials, true, &study.trials()?);
    let mut ran: Vec<(i64, TrialState)> = Vec::new();
    let result = search.work_only(strategy(plan.strategy, latency_target).as_mut(), &mut |e| {
        if let Event::Finished(t) = &e {
            ran.push((t.id, t.state));
        }
        display.event(e)
    });
    display.finish();
    let stop_reason = result?;
    let seconds = started.elapsed().as_secs_f64();
    let storage_seconds = timed.seconds();
    let overhead_ms = 1e3 * storage_seconds / ran.len().max(1) as f64;
    if args.json {
        super::print_json(&json!({
            "worker": worker,
            "study": location,
            "stop": stop_reason,
            "trials": ran.iter().map(|(id, s)| json!({"id": id, "state": s})).collect::<Vec<_>>(),
            "seconds": seconds,
            "storage_seconds": storage_seconds,
            "overhead_ms_per_trial": overhead_ms,
        }))?;
    } else {
        let stopped = serde_json::to_value(stop_reason)?;
        println!(
            "worker {worker}: {} trials in {seconds:.1} s (stopped: {}); {overhead_ms:.2} ms per trial in the study's storage",
            ran.len(),
            stopped.as_str().unwrap_or("")
        );
    }
    if stop_reason == Stop::Interrupted {
        std::process::exit(130);
    }
    Ok(())
}
