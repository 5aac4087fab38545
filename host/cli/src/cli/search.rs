//! `edgenas search`: the whole pipeline, recorded in a study.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use anyhow::{Context, Result};
use edgenas::board::load_board;
use edgenas::cost::DType;
use edgenas::export::write_path;
use edgenas::measure::MeterChoice;
use edgenas::named::Named;
use edgenas::plan::{Plan, PlanOptions};
use edgenas::report::study_html;
use edgenas::search::{CandidateCounts, Event, Search, SearchConfig, Stop, Summary};
use edgenas::space::load_space;
use edgenas::strategy::{StrategyName, strategy};
use edgenas::study::{
    Fidelity, HEARTBEAT_TIMEOUT_SECONDS, Limits, Prescreen, ProxyName, Settings, Trial, TrialState,
    UnknownProxy, worker_name,
};
use indicatif::{ProgressBar, ProgressStyle};

use super::named;
use super::train_args::TrainingArgs;
use super::trials_view::{counts_line, print_front};

/// Arguments of `edgenas search`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The search space: a shipped name or a path to a `.toml` file.
    #[arg(long)]
    space: String,
    /// The board: a shipped name (`edgenas boards`) or a path to a board file. Its RAM and
    /// flash are hard limits.
    #[arg(long, default_value = "host")]
    board: String,
    /// The data set: digits, image-folder:PATH, csv:PATH[#COLUMN], npy:X.npy,Y.npy or
    /// audio-folder:PATH[#split-by=speaker|none,augment=N] (with a space that has a front end,
    /// such as `kws`).
    #[arg(long, default_value = "digits")]
    data: String,
    /// How an audio folder is split: by speaker (the default when every file is named
    /// `<speaker>_<rest>.wav`), or by file with `none`.
    #[arg(long, value_enum)]
    split_by: Option<super::SplitBy>,
    /// Reject candidates slower than this (measured or predicted before training).
    #[arg(long, value_name = "MS", value_parser = super::numbers::positive)]
    max_latency_ms: Option<f64>,
    /// Reject candidates whose peak RAM (arena plus the runtime's) exceeds this many KiB
    /// (1 KiB = 1024 bytes).
    #[arg(long, value_name = "KIB", value_parser = super::numbers::positive)]
    max_ram_kb: Option<f64>,
    /// Reject candidates whose flash (model plus the runtime's code) exceeds this many KiB.
    #[arg(long, value_name = "KIB", value_parser = super::numbers::positive)]
    max_flash_kb: Option<f64>,
    /// Reject candidates with more multiply-accumulates per inference.
    #[arg(long, value_parser = super::numbers::count_u64)]
    max_macs: Option<u64>,
    /// The strategy. Default: `ehvi`, since a search's front has more than one objective
    /// (accuracy against latency, RAM and flash): it predicts the latency of --candidates
    /// genotypes within the limits before the first trial and trains those likeliest to
    /// extend the accuracy/latency front; `bayes` on a board without a cost model.
    #[arg(long, value_parser = named::<StrategyName>())]
    strategy: Option<StrategyName>,
    /// With `ehvi` or `ei`: how many distinct genotypes are drawn, and their latency predicted
    /// by the board's simulator, before the first trial (all of a smaller space, nearly); the
    /// neighbours of the best trials are added as the search goes. More find more of the front
    /// and cost a few milliseconds each (docs/strategies.md).
    #[arg(long, value_name = "N", value_parser = super::numbers::count)]
    candidates: Option<usize>,
    /// Trials to train (complete or failed) in the study, counting earlier runs: rerunning a
    /// finished search with a larger number continues it. Infeasible candidates do not count.
    #[arg(long, default_value_t = 20, value_parser = super::numbers::count)]
    trials: usize,
    /// The most epochs per trial.
    #[arg(long, default_value_t = 10, value_parser = super::numbers::count)]
    epochs: usize,
    /// Start no new trial after this many seconds.
    #[arg(long, value_name = "SECONDS", value_parser = super::numbers::positive)]
    time_budget: Option<f64>,
    /// The study: a SQLite file, or `postgres://USER@HOST/DB?study=NAME` for a study that
    /// workers on many machines share (`edgenas worker`). Rerunning with the same study
    /// resumes it. Default: `OUT/study.db`.
    #[arg(long)]
    study: Option<String>,
    /// Processes of this command that work on trials: 1 (this one), or 0 to only create the
    /// study and record its settings, for `edgenas worker`s to do the work (run `search`
    /// again afterwards, or `edgenas export`, for the finalists).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(0..=1))]
    workers: u8,
    /// Seconds without a heartbeat (workers beat every 2 s) after which a running trial of
    /// another worker is taken for abandoned and run again.
    #[arg(long, default_value_t = HEARTBEAT_TIMEOUT_SECONDS, value_name = "SECONDS", value_parser = super::numbers::positive)]
    heartbeat_timeout: f64,
    /// Where trial weights (`trials/ID/`), the finalists' artefacts (`finalists/trial-ID/`:
    /// ONNX f32 and int8, C arrays, `trial.json`) and the HTML report (`report.html`) go.
    #[arg(long, default_value = "edgenas-search")]
    out: PathBuf,
    /// How many members of the Pareto front to export, best accuracy first.
    #[arg(long, default_value_t = 3, value_parser = super::numbers::whole)]
    finalists: usize,
    /// How latency is obtained before training: `auto` times the host with tract, runs an
    /// emulated board in QEMU and a real one through an attached debug probe (when their
    /// firmware is built), has a Linux board's `edgenas-agent` time it (when it answers), and
    /// predicts every other board with the simulator.
    #[arg(long, value_parser = named::<MeterChoice>(), default_value = "auto")]
    meter: MeterChoice,
    /// What RAM, flash and latency are computed for.
    #[arg(long, value_parser = named::<DType>(), default_value = "int8")]
    dtype: DType,
    /// Seed of the search, the data split and every trial's weights.
    #[arg(long, default_value_t = 0, value_parser = super::numbers::seed)]
    seed: u64,
    #[command(flatten)]
    training: TrainingArgs,
    /// How much training each trial gets: `full` (every epoch); `median` (from epoch
    /// --min-epochs on, a trial below the median of the others at the same epoch is
    /// pruned); `asha` (asynchronous successive halving: at rungs of --min-epochs × --eta^k
    /// epochs, a trial goes on only if its validation accuracy so far is among the best
    /// 1/--eta of all trials' at that rung); `hyperband` (trials dealt to brackets whose
    /// first rungs are --min-epochs × --eta^b, ASHA within each). Pruned trials count as
    /// trained trials (docs/search.md).
    #[arg(long, value_enum, default_value = "full")]
    fidelity: FidelityArg,
    /// Zero-cost pre-screening, `PROXY:K` with PROXY `naswot`, `synflow` or `grad-norm`: the
    /// strategy proposes K genotypes, and only the one within the static limits that the
    /// proxy scores best at initialisation is trained (`edgenas bench proxies` says how far
    /// to trust each on a task). This run's choice, stored in the study: its workers follow
    /// it.
    #[arg(long, value_name = "PROXY:K", value_parser = prescreen)]
    prescreen: Option<Prescreen>,
    /// With --fidelity median: the warm-up epochs; asha: the first rung; hyperband: the first
    /// bracket's first rung.
    #[arg(long, default_value_t = 1, value_parser = super::numbers::count)]
    min_epochs: usize,
    /// With --fidelity asha or hyperband: the reduction factor between rungs (only the best
    /// 1/eta of a rung's trials go on).
    #[arg(long, default_value_t = 3, value_parser = super::numbers::at_least_two)]
    eta: usize,
    /// Print JSON: `stop`, `trials` (every trial of the study), `front` (trial ids),
    /// `finalists`, `report` (the HTML report's path), `candidates` (with `ehvi` or `ei`:
    /// `drawn`, `within_limits`, `over_limits`, `failed`; else null).
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> Result<()> {
    super::worker::check_heartbeat_timeout(args.heartbeat_timeout)?;
    let space_name = load_space(&args.space)?.name;
    let board = load_board(&args.board)?;
    let strategy_name = args.strategy.unwrap_or(match board.cost_model {
        Some(_) => StrategyName::Ehvi,
        None => StrategyName::Bayes,
    });
    let train = args.training.config(args.epochs, None, args.seed);
    let device = args.training.device()?;
    let study_location = args
        .study
        .clone()
        .unwrap_or_else(|| args.out.join("study.db").display().to_string());
    let settings = Settings {
        space: space_name,
        space_file: args.space.clone(),
        board: board.name,
        board_file: args.board.clone(),
        data: super::data_spec(&args.data, args.split_by)?,
        limits: Limits {
            max_latency_ms: args.max_latency_ms,
            max_ram_kb: args.max_ram_kb,
            max_flash_kb: args.max_flash_kb,
            max_macs: args.max_macs,
        },
        dtype: args.dtype,
        epochs: args.epochs,
        training: Some(train),
        seed: args.seed,
        strategy: strategy_name,
        edgenas_version: env!("CARGO_PKG_VERSION").into(),
        trials: Some(args.trials),
        fidelity: match args.fidelity {
            FidelityArg::Full => Fidelity::Full,
            FidelityArg::Median => Fidelity::Median {
                min_epochs: args.min_epochs,
            },
            FidelityArg::Asha => Fidelity::Asha {
                min_epochs: args.min_epochs,
                eta: args.eta,
            },
            FidelityArg::Hyperband => Fidelity::Hyperband {
                min_epochs: args.min_epochs,
                eta: args.eta,
            },
        },
        prescreen: args.prescreen,
        candidates: args.candidates,
    };
    let options = PlanOptions {
        board_file: None,
        meter: args.meter,
        strategy: None,
    };
    let plan = Plan::resolve(settings, &study_location, options)?;
    if let Some(note) = &plan.note {
        eprintln!("note: {note}");
    }
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    let study = edgenas::study::open(&study_location, true)?;
    let study_path = study.location();
    let config = SearchConfig {
        settings: plan.settings.clone(),
        trials: plan.trials,
        time_budget_seconds: args.time_budget,
        train: plan.train.clone(),
        out: args.out.clone(),
        finalists: args.finalists,
        worker: worker_name(None),
        heartbeat_timeout_seconds: args.heartbeat_timeout,
        stream: 0,
    };
    let stop = stop_on_ctrl_c()?;
    let search = Search {
        config: &config,
        space: &plan.space,
        board: &plan.board,
        storage: study.as_ref(),
        meter: plan.meter.as_deref(),
        device: &device,
        stop: &stop,
    };
    if args.workers == 0 {
        search.record_settings()?;
        if args.json {
            return super::print_json(&serde_json::json!({
                "study": study_path,
                "settings": config.settings,
            }));
        }
        println!("study     {study_path}: settings recorded, no trial run");
        println!("next      edgenas worker --study '{study_location}' (on each machine)");
        return Ok(());
    }
    let mut display = Display::new(args.trials, !args.json, &study.trials()?);
    let summary = search.run(
        strategy(plan.strategy, args.max_latency_ms).as_mut(),
        &mut |e| display.event(e),
    );
    display.finish();
    let summary = summary?;
    let report = args.out.join("report.html");
    let html = study_html(study.as_ref())?;
    write_path(&report, html.as_bytes())?;
    if args.json {
        let mut value = serde_json::to_value(&summary)?;
        value["report"] = serde_json::json!(report);
        value["candidates"] = serde_json::json!(display.candidates);
        super::print_json(&value)?;
    } else {
        print_summary(&summary, &study_path, &args.out);
        println!("report    {}", report.display());
    }
    if summary.stop == Stop::Interrupted {
        eprintln!("interrupted: rerun the same command to resume study {study_path}");
        std::process::exit(130);
    }
    Ok(())
}

/// A flag that the first Ctrl-C sets (the trial in flight is then marked interrupted); a
/// second one exits at once (the running trial is re-queued by the next claim).
pub(super) fn stop_on_ctrl_c() -> Result<Arc<AtomicBool>> {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    ctrlc::set_handler(move || {
        if flag.swap(true, Ordering::Relaxed) {
            std::process::exit(130);
        }
        eprintln!(
            "\nstopping: the trial in flight is marked interrupted (Ctrl-C again to quit now)"
        );
    })
    .context("cannot install the Ctrl-C handler")?;
    Ok(stop)
}

fn print_summary(s: &Summary, study: &str, out: &std::path::Path) {
    let stop =
        serde_json::to_value(s.stop).map_or(String::new(), |v| v.as_str().unwrap_or("").into());
    println!("{} (stopped: {stop})", counts_line(&s.trials));
    println!("study     {study}");
    print_front(&s.trials, &s.front);
    for f in &s.finalists {
        println!(
            "finalist  trial {}: test {:.2} % (f32 ONNX), {:.2} % (int8 ONNX) in {}",
            f.trial, f.f32_test_accuracy, f.int8_test_accuracy, f.dir
        );
    }
    if s.finalists.is_empty() && !s.front.is_empty() {
        println!("finalists none exported (see {})", out.display());
    }
}

/// A progress bar over trials on a terminal, one line per trial otherwise (standard error).
pub(super) struct Display {
    bar: Option<ProgressBar>,
    lines: bool,
    started: Instant,
    done: u64,
    infeasible: usize,
    failed: usize,
    pruned: usize,
    best: Option<f64>,
    /// What became of the candidates drawn for a strategy of known costs.
    pub(super) candidates: Option<CandidateCounts>,
}

impl Display {
    /// A display of a search towards `trials` trained trials, counting from those already in
    /// the study (`history`): a resumed search goes on from its best, infeasible and failed
    /// counts instead of zero.
    pub(super) fn new(trials: usize, lines: bool, history: &[Trial]) -> Display {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new(trials as u64);
            bar.set_style(
                ProgressStyle::with_template(
                    "{bar:30} trial {pos}/{len} {msg} [{elapsed} < {eta}]",
                )
                .expect("a valid template"),
            );
            bar
        });
        let mut display = Display {
            lines: bar.is_none() && lines,
            bar,
            started: Instant::now(),
            done: 0,
            infeasible: 0,
            failed: 0,
            pruned: 0,
            best: None,
            candidates: None,
        };
        for t in history.iter().filter(|t| t.state.is_final()) {
            display.count(t);
        }
        if let Some(bar) = &display.bar {
            bar.set_position(display.done);
        }
        display
    }

    /// Counts a trial that ended.
    fn count(&mut self, t: &Trial) {
        match t.state {
            TrialState::Complete => {
                self.done += 1;
                let v = t.valid_accuracy.unwrap_or(0.0);
                self.best = Some(self.best.map_or(v, |b| b.max(v)));
            }
            TrialState::Failed => {
                self.done += 1;
                self.failed += 1;
            }
            TrialState::Pruned => {
                self.done += 1;
                self.pruned += 1;
            }
            TrialState::Infeasible => self.infeasible += 1,
            _ => {}
        }
    }

    fn status(&self) -> String {
        let best = self.best.map_or("-".into(), |b| format!("{b:.2} %"));
        let pruned = match self.pruned {
            0 => String::new(),
            n => format!(", {n} pruned"),
        };
        format!(
            "best {best}, {} infeasible, {} failed{pruned}",
            self.infeasible, self.failed
        )
    }

    pub(super) fn event(&mut self, e: Event) {
        match e {
            Event::Started(t) => {
                if let Some(bar) = &self.bar {
                    bar.set_message(format!("{} | trial {} starting", self.status(), t.id));
                }
            }
            Event::Training(p) => {
                if let Some(bar) = &self.bar {
                    bar.set_message(format!(
                        "{} | epoch {}/{} loss {:.3}",
                        self.status(),
                        p.epoch,
                        p.epochs,
                        p.loss
                    ));
                }
            }
            Event::Finished(t) => self.finished(t),
            Event::Exporting(t) => {
                if let Some(bar) = &self.bar {
                    bar.set_message(format!("exporting finalist trial {}", t.id));
                } else if self.lines {
                    eprintln!("exporting finalist trial {}", t.id);
                }
            }
            Event::Costing { done, total } => {
                if let Some(bar) = &self.bar {
                    bar.set_message(format!(
                        "predicting the latency of candidate {done}/{total}"
                    ));
                } else if self.lines && done == 0 {
                    eprintln!("predicting the latency of {total} candidates");
                }
            }
            Event::Candidates(d) => {
                let c = d.counts;
                self.candidates = Some(c);
                let line = format!(
                    "candidates: {} of {} drawn within the limits ({} over a limit, {} not \
                     decodable), latency predicted in {:.1} s",
                    c.within_limits,
                    c.drawn,
                    c.over_limits,
                    c.failed,
                    self.started.elapsed().as_secs_f64()
                );
                match &self.bar {
                    Some(bar) => bar.println(line),
                    None if self.lines => eprintln!("{line}"),
                    None => {}
                }
            }
        }
    }

    fn finished(&mut self, t: &Trial) {
        self.count(t);
        if let Some(bar) = &self.bar {
            bar.set_position(self.done);
            bar.set_message(self.status());
        } else if self.lines {
            let detail = match t.state {
                TrialState::Complete => format!(
                    "valid {:.2} %, latency {}, RAM {:.1} KiB, trained {:.1} s",
                    t.valid_accuracy.unwrap_or(0.0),
                    t.latency_ms.map_or("-".into(), |l| format!("{l:.3} ms")),
                    t.ram_bytes.unwrap_or(0) as f64 / 1024.0,
                    t.train_seconds.unwrap_or(0.0)
                ),
                _ => t.reason.clone().unwrap_or_default(),
            };
            eprintln!(
                "[{:>6.1} s] trial {} {}: {detail} ({})",
                self.started.elapsed().as_secs_f64(),
                t.id,
                t.state.name(),
                self.status()
            );
        }
    }

    pub(super) fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// `--fidelity`.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum FidelityArg {
    /// Every trial trains for every epoch.
    Full,
    /// The median stopping rule.
    Median,
    /// Asynchronous successive halving.
    Asha,
    /// Hyperband's brackets over asynchronous successive halving.
    Hyperband,
}

/// `--prescreen PROXY:K`: a proxy's name and K, at least 2.
fn prescreen(text: &str) -> Result<Prescreen, String> {
    let Some((proxy, k)) = text.split_once(':') else {
        return Err(format!(
            "expected PROXY:K, such as naswot:8 (proxies: {})",
            ProxyName::listed()
        ));
    };
    Ok(Prescreen {
        proxy: proxy.parse().map_err(|e: UnknownProxy| e.to_string())?,
        candidates: super::numbers::at_least_two(k)?,
    })
}
