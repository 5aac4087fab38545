//! The search: the pipeline of DESIGN.md, trial by trial, recorded in a study.
//!
//! For each genotype the strategy proposes: decode it and compute its static costs; reject it
//! (`infeasible`, with the figures that broke a limit) if RAM, flash or MACs break a limit;
//! measure or predict its latency with untrained weights and reject it if that breaks the
//! latency limit; only then train it, and tell the strategy the validation accuracy. At the
//! end, the Pareto front of the complete trials is exported (ONNX f32 and int8, C arrays)
//! and its members' test accuracy measured.
//!
//! Trials are taken from the study with [`Storage::claim`], so any number of processes — the
//! search itself and `edgenas worker`s on other machines — can work on one study: each claim
//! re-queues a trial whose work did not end, or asks this process's strategy, told every
//! result in the study so far, for a genotype the study does not hold yet.

mod candidates;
mod fidelity;
mod finalists;
pub mod limits;
mod prescreen;

use candidates::Costing;
pub use candidates::{CANDIDATES, CandidateCounts, Drawn};
pub use finalists::{Card, ExportPlace, export_trial, load_weights, trial_weights};
use finalists::{exported_before, save_weights};

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use edgenas_train::TrainDevice;
use serde::Serialize;

use crate::front::{pareto_front, score};
use crate::strategy::{Outcome, Strategy};
use edgenas_data::{Datasets, ForData};
use edgenas_measure::{Kind, Meter, latency_before_training};
use edgenas_model::board::Board;
use edgenas_model::candidate::Candidate;
use edgenas_model::cost::DType;
use edgenas_model::rng::Rng;
use edgenas_model::space::SearchSpace;
use edgenas_model::weights::initial_weights;
use edgenas_study::{
    Claim, ClaimRequest, EpochPoint, Settings, Storage, StudyError, Trial, TrialState,
    artefacts_dir, artefacts_text, now,
};
use edgenas_train::{Progress, TrainConfig, TrainError, train_until};

/// Infeasible genotypes in a row after which the search stops: the limits are out of the
/// space's reach.
pub const MAX_CONSECUTIVE_INFEASIBLE: usize = 500;
/// Proposals of genotypes already in the study, in a row, after which the space is taken to
/// be exhausted.
const MAX_CONSECUTIVE_KNOWN: usize = 1000;
/// Seconds between two heartbeats of a running trial.
pub const HEARTBEAT_SECONDS: f64 = 2.0;

/// How a search runs (what the study does not fix).
pub struct SearchConfig {
    /// The study's settings.
    pub settings: Settings,
    /// Trials to train (complete or failed), counting those of earlier runs of the study.
    pub trials: usize,
    /// Stop starting trials after this many seconds.
    pub time_budget_seconds: Option<f64>,
    /// How each trial trains (epochs and seed are taken from the settings).
    pub train: TrainConfig,
    /// Where trial weights and finalists' artefacts go.
    pub out: PathBuf,
    /// How many members of the Pareto front are exported, best accuracy first.
    pub finalists: usize,
    /// This process's name in the trials it runs ([`edgenas_study::worker_name`]).
    pub worker: String,
    /// Seconds without a heartbeat after which another worker's running trial is taken over.
    pub heartbeat_timeout_seconds: f64,
    /// Mixed into the strategy's random stream, so that workers of one study propose
    /// differently (0 for a search).
    pub stream: u64,
}

/// What the search reports while it runs.
pub enum Event<'a> {
    /// A trial's work starts.
    Started(&'a Trial),
    /// Training of the running trial moved on.
    Training(&'a Progress),
    /// A trial ended (complete, infeasible, failed or interrupted).
    Finished(&'a Trial),
    /// A finalist is being exported.
    Exporting(&'a Trial),
    /// The latency of `done` of `total` genotypes drawn as candidates is predicted (for a
    /// strategy that chooses among candidates of known cost).
    Costing {
        /// Genotypes done.
        done: usize,
        /// Genotypes drawn.
        total: usize,
    },
    /// The candidates are ready.
    Candidates(&'a Drawn),
}

/// Why the search stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Stop {
    /// The requested number of trials is trained.
    Trials,
    /// The time budget ran out.
    TimeBudget,
    /// Ctrl-C: the trial in flight is marked interrupted.
    Interrupted,
    /// The strategy proposes nothing new: the space is exhausted.
    Exhausted,
}

/// A finalist: a member of the Pareto front, exported.
#[derive(Clone, Debug, Serialize)]
pub struct Finalist {
    /// The trial.
    pub trial: i64,
    /// Test accuracy of `model.onnx` run by tract, percent.
    pub f32_test_accuracy: f64,
    /// Test accuracy of `model-int8.onnx` run by tract, percent.
    pub int8_test_accuracy: f64,
    /// The folder of its artefacts.
    pub dir: String,
}

/// The end of a search.
#[derive(Clone, Debug, Serialize)]
pub struct Summary {
    /// Why it stopped.
    pub stop: Stop,
    /// Every trial of the study.
    pub trials: Vec<Trial>,
    /// The ids of the Pareto front of complete trials (validation accuracy against latency,
    /// RAM and flash), best accuracy first.
    pub front: Vec<i64>,
    /// The exported members of the front.
    pub finalists: Vec<Finalist>,
}

/// Why a search cannot go on.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    /// The study failed.
    #[error(transparent)]
    Study(#[from] StudyError),
    /// The study was made for other settings.
    #[error(
        "study {study} was created with other settings:\n  {}\nTo run another search, give it a folder of its own (--out DIR, or --study FILE); to resume this one, give the settings it was created with",
        conflicts.join("\n  ")
    )]
    OtherSettings {
        /// The study.
        study: String,
        /// What differs.
        conflicts: Vec<String>,
    },
    /// The limits are out of the space's reach.
    #[error(
        "{MAX_CONSECUTIVE_INFEASIBLE} candidates in a row broke the limits; the smallest seen: {smallest}. Loosen a limit (the study keeps every trial)"
    )]
    Unreachable {
        /// The smallest RAM, flash and latency seen.
        smallest: String,
    },
    /// Bad input (data set, space, files).
    #[error("{0}")]
    Input(String),
}

/// The smallest static costs and latency seen, for the message when the limits are out of
/// reach.
#[derive(Default)]
struct Smallest {
    ram: Option<u64>,
    flash: Option<u64>,
    latency: Option<f64>,
}

impl Smallest {
    fn see(&mut self, t: &Trial) {
        let min_u = |a: Option<u64>, b: Option<u64>| match (a, b) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.ram = min_u(self.ram, t.ram_bytes);
        self.flash = min_u(self.flash, t.flash_bytes);
        self.latency = match (self.latency, t.latency_ms) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }

    fn describe(&self) -> String {
        let kb = |b: Option<u64>| b.map_or("?".into(), |b| format!("{:.1} KiB", b as f64 / 1024.0));
        let ms = self
            .latency
            .map_or("not measured".into(), |l| format!("{l:.3} ms"));
        format!(
            "RAM {}, flash {}, latency {ms}",
            kb(self.ram),
            kb(self.flash)
        )
    }
}

/// What a trial tells its strategy.
fn outcome(t: &Trial) -> Option<Outcome> {
    match t.state {
        TrialState::Complete => Some(Outcome::Feasible(score(t))),
        // A failure is not retried: the strategy learns to avoid it like a broken limit.
        // A pruned trial's accuracy is not final: the strategy learns to avoid it like a
        // broken limit, never takes it for a result.
        TrialState::Infeasible | TrialState::Failed | TrialState::Pruned => {
            Some(Outcome::Infeasible)
        }
        _ => None,
    }
}

/// Everything one search needs.
pub struct Search<'a> {
    /// How it runs.
    pub config: &'a SearchConfig,
    /// The space.
    pub space: &'a SearchSpace,
    /// The board.
    pub board: &'a Board,
    /// The study.
    pub storage: &'a dyn Storage,
    /// Latency before training (absent: latency is neither measured nor limited).
    pub meter: Option<&'a dyn Meter>,
    /// Where training runs.
    pub device: &'a TrainDevice,
    /// Set by Ctrl-C.
    pub stop: &'a AtomicBool,
}

impl Search<'_> {
    /// Runs the search, resuming the study, until the trials are trained, the time budget is
    /// spent, the space is exhausted, or `stop` is set; then exports the finalists.
    pub fn run(
        &self,
        strategy: &mut dyn Strategy,
        events: &mut dyn FnMut(Event),
    ) -> Result<Summary, SearchError> {
        self.record_settings()?;
        let mut datasets = self.datasets()?;
        let stop = self.work(strategy, &mut datasets, events)?;
        let trials = self.storage.trials()?;
        let front = pareto_front(&trials);
        let finalists = if stop == Stop::Interrupted {
            Vec::new()
        } else {
            self.export_finalists(&front, &mut datasets, events)?
        };
        Ok(Summary {
            stop,
            trials: self.storage.trials()?,
            front,
            finalists,
        })
    }

    /// Stores the settings in a new study, or checks them against a resumed study's and
    /// records this run's strategy and number of trials (what its workers read).
    pub fn record_settings(&self) -> Result<(), SearchError> {
        let settings = &self.config.settings;
        if let Some(stored) = self.storage.settings()? {
            let conflicts = stored.conflicts(settings);
            if !conflicts.is_empty() {
                return Err(SearchError::OtherSettings {
                    study: self.storage.location(),
                    conflicts,
                });
            }
            if stored == *settings {
                return Ok(());
            }
        }
        Ok(self.storage.set_settings(settings)?)
    }

    /// The search's data sets, the first one loaded: a data set that cannot be read fails
    /// the search now, not every trial.
    fn datasets(&self) -> Result<Datasets, SearchError> {
        let settings = &self.config.settings;
        let mut datasets = Datasets::new(&settings.data, settings.seed);
        let first = Candidate::input_format(self.space, &self.space.first_genotype())
            .map_err(|e| SearchError::Input(e.to_string()))?;
        datasets
            .get(first)
            .map_err(|e| SearchError::Input(e.to_string()))?;
        Ok(datasets)
    }

    /// Works on the study without exporting: what an `edgenas worker` does.
    pub fn work_only(
        &self,
        strategy: &mut dyn Strategy,
        events: &mut dyn FnMut(Event),
    ) -> Result<Stop, SearchError> {
        let mut datasets = self.datasets()?;
        self.work(strategy, &mut datasets, events)
    }

    /// Claims and evaluates trials until the study has its trials trained (waiting while
    /// other workers run the last ones, in case one dies), the time budget is spent, the
    /// space is exhausted, or `stop` is set.
    fn work(
        &self,
        strategy: &mut dyn Strategy,
        datasets: &mut Datasets,
        events: &mut dyn FnMut(Event),
    ) -> Result<Stop, SearchError> {
        let settings = &self.config.settings;
        let costing = match strategy.wants_candidates() {
            false => None,
            true => {
                let costing = Costing::new(self.space, self.board, settings).map_err(|e| {
                    SearchError::Input(format!(
                        "strategy `{}` ranks candidates by their predicted latency, which \
                             board {} cannot give: {e}",
                        strategy.name(),
                        self.board.name
                    ))
                })?;
                let wanted = settings.candidates.unwrap_or(CANDIDATES);
                let drawn = costing.draw(wanted, datasets, self.stop, &mut |done, total| {
                    events(Event::Costing { done, total })
                });
                events(Event::Candidates(&drawn));
                strategy.know_costs(&drawn.candidates);
                Some(costing)
            }
        };
        let history = self.storage.trials()?.len() as u64;
        let mut proposer = Proposer {
            space: self.space,
            strategy,
            told: HashSet::new(),
            rng: Rng::new(settings.seed ^ history.wrapping_mul(0x9E37_79B9) ^ self.config.stream),
            costing,
            prescreen: settings.prescreen.map(|p| {
                (
                    p.candidates,
                    prescreen::Screen {
                        proxy: p.proxy,
                        settings,
                        board: self.board,
                        device: self.device,
                    },
                )
            }),
        };
        let request = ClaimRequest {
            worker: self.config.worker.clone(),
            trials: self.config.trials,
            heartbeat_timeout: self.config.heartbeat_timeout_seconds,
            seed: settings.seed,
        };
        let started = Instant::now();
        let mut streak = 0usize;
        let mut smallest = Smallest::default();
        loop {
            if self.stop.load(Ordering::Relaxed) {
                return Ok(Stop::Interrupted);
            }
            if self
                .config
                .time_budget_seconds
                .is_some_and(|b| started.elapsed().as_secs_f64() >= b)
            {
                return Ok(Stop::TimeBudget);
            }
            // Outside the claim, which may hold the study's lock.
            proposer.cost_wanted(datasets);
            let mut trial = match self
                .storage
                .claim(&request, &mut |history| proposer.propose(history, datasets))?
            {
                Claim::Trial(t) => *t,
                Claim::Full => return Ok(Stop::Trials),
                Claim::Exhausted => return Ok(Stop::Exhausted),
                Claim::Wait => {
                    // Other workers run the last trials; one of them may die.
                    std::thread::sleep(Duration::from_millis(500));
                    continue;
                }
            };
            self.evaluate(&mut trial, datasets, events)?;
            smallest.see(&trial);
            match trial.state {
                TrialState::Interrupted => return Ok(Stop::Interrupted),
                TrialState::Infeasible => {
                    streak += 1;
                    if streak >= MAX_CONSECUTIVE_INFEASIBLE {
                        return Err(SearchError::Unreachable {
                            smallest: smallest.describe(),
                        });
                    }
                }
                _ => streak = 0,
            }
        }
    }

    /// Runs one claimed trial to its end, recording every step in the study, with a
    /// heartbeat all along.
    fn evaluate(
        &self,
        t: &mut Trial,
        datasets: &mut Datasets,
        events: &mut dyn FnMut(Event),
    ) -> Result<(), SearchError> {
        events(Event::Started(t));
        let (storage, id) = (self.storage, t.id);
        let result = std::thread::scope(|scope| {
            // Dropping `alive` when the work ends wakes the heartbeat at once.
            let (alive, beating) = std::sync::mpsc::channel::<()>();
            scope.spawn(move || heartbeat(storage, id, beating));
            let r = self.trial_work(t, datasets, events);
            drop(alive);
            r
        });
        t.finished = Some(now());
        match result {
            Ok(state) => t.state = state,
            Err(TrialFailure::Interrupted) => {
                t.state = TrialState::Interrupted;
                t.reason = Some("interrupted by Ctrl-C; the search resumes it".into());
            }
            Err(TrialFailure::Failed(reason)) => {
                t.state = TrialState::Failed;
                t.reason = Some(reason);
            }
        }
        self.storage.update(t)?;
        events(Event::Finished(t));
        Ok(())
    }

    /// The work of one trial: checks, measurement, training. Returns the final state.
    fn trial_work(
        &self,
        t: &mut Trial,
        datasets: &mut Datasets,
        events: &mut dyn FnMut(Event),
    ) -> Result<TrialState, TrialFailure> {
        let settings = &self.config.settings;
        let genotype = self
            .space
            .parse_genotype(&t.genotype)
            .map_err(|e| TrialFailure::Failed(e.message))?;
        let format = Candidate::input_format(self.space, &genotype).map_err(failed)?;
        let dataset = datasets.get(format).map_err(failed)?;
        let candidate = Candidate::for_dataset(self.space, genotype, dataset).map_err(failed)?;
        let dtype = settings.dtype;
        let fit = candidate.fit(self.board, dtype);
        t.params = Some(candidate.costs.params);
        t.macs = Some(candidate.costs.macs);
        t.ram_bytes = Some(fit.ram_needed_bytes);
        t.flash_bytes = Some(fit.flash_needed_bytes);
        let broken = limits::static_violations(&settings.limits, &fit, candidate.costs.macs);
        if !broken.is_empty() {
            t.reason = Some(broken.join("; "));
            return Ok(TrialState::Infeasible);
        }
        if let Some(meter) = self.meter {
            let m = latency_before_training(&candidate, meter, dtype == DType::Int8, t.seed)
                .map_err(failed)?;
            let kind = match m.kind {
                Kind::Measured => "measured",
                Kind::Predicted => "predicted",
                Kind::Emulated => "emulated",
            };
            let (latency, front_end) = with_front_end(&candidate, self.board, m.latency_ms.median);
            t.latency_ms = Some(latency);
            t.latency_kind = Some(match front_end {
                None => format!("{kind} ({})", m.backend),
                Some(ms) => format!("{kind} ({}) + front end {ms:.3} ms predicted", m.backend),
            });
            if let Some(reason) = limits::latency_violation(&settings.limits, latency) {
                t.reason = Some(reason);
                return Ok(TrialState::Infeasible);
            }
        }
        self.storage.update(t).map_err(failed)?;
        if self.stop.load(Ordering::Relaxed) {
            return Err(TrialFailure::Interrupted);
        }
        let config = TrainConfig {
            epochs: settings.epochs,
            seed: t.seed,
            ..self.config.train.clone()
        };
        let initial = initial_weights(&candidate.network, t.seed);
        // The learning curve, written to the study as each epoch ends (a trial run again
        // after an interruption starts a new one); at a rung of the fidelity rule the study's
        // curves decide whether the trial goes on.
        t.curve.clear();
        let storage = self.storage;
        let halt = AtomicBool::new(false);
        let mut pruning: Option<String> = None;
        let trained = train_until(
            &candidate.network,
            &initial,
            dataset,
            &config,
            self.device,
            &mut |p| {
                if let (true, Some(accuracy)) = (p.epoch_done, p.valid_accuracy) {
                    t.curve.push(EpochPoint {
                        epoch: p.epoch,
                        valid_accuracy: 100.0 * accuracy,
                        seconds: p.elapsed_seconds,
                    });
                    // A failed write loses no more than this point until the trial's next
                    // update, which writes the whole curve.
                    let _ = storage.update(t);
                    pruning = fidelity::pruned(
                        settings.fidelity,
                        settings.epochs,
                        t.id,
                        &t.curve,
                        || storage.trials().ok(),
                    );
                }
                if pruning.is_some() || self.stop.load(Ordering::Relaxed) {
                    halt.store(true, Ordering::Relaxed);
                }
                events(Event::Training(p));
            },
            &halt,
        );
        let trained = match (trained, pruning) {
            (Err(TrainError::Interrupted), Some(reason)) => {
                t.valid_accuracy = Some(fidelity::best(&t.curve));
                t.train_seconds = t.curve.last().map(|p| p.seconds);
                t.reason = Some(reason);
                return Ok(TrialState::Pruned);
            }
            (Ok(x), _) => x,
            (Err(TrainError::Interrupted), None) => return Err(TrialFailure::Interrupted),
            (Err(e), _) => return Err(TrialFailure::Failed(e.to_string())),
        };
        t.valid_accuracy = Some(100.0 * trained.report.valid_accuracy);
        t.train_seconds = Some(trained.report.train_seconds);
        let dir = self.config.out.join("trials").join(t.id.to_string());
        save_weights(&dir, &trained.weights).map_err(failed)?;
        t.artefacts = Some(artefacts_text(self.storage, &dir));
        Ok(TrialState::Complete)
    }

    /// Exports the first `finalists` members of `front` and records their test accuracy.
    fn export_finalists(
        &self,
        front: &[i64],
        datasets: &mut Datasets,
        events: &mut dyn FnMut(Event),
    ) -> Result<Vec<Finalist>, SearchError> {
        let trials = self.storage.trials()?;
        let mut out = Vec::new();
        for id in front.iter().take(self.config.finalists) {
            let Some(mut t) = trials.iter().find(|t| t.id == *id).cloned() else {
                continue;
            };
            let dir = self
                .config
                .out
                .join("finalists")
                .join(format!("trial-{id}"));
            if let Some(done) = exported_before(&t, &dir) {
                // A resumed search: this finalist's files are there already.
                out.push(done);
                continue;
            }
            events(Event::Exporting(&t));
            let input = |e: String| SearchError::Input(format!("finalist trial {id}: {e}"));
            let genotype = self
                .space
                .parse_genotype(&t.genotype)
                .map_err(|e| input(e.message))?;
            let format =
                Candidate::input_format(self.space, &genotype).map_err(|e| input(e.to_string()))?;
            let dataset = datasets.get(format).map_err(|e| input(e.to_string()))?;
            let candidate = Candidate::for_dataset(self.space, genotype, dataset)
                .map_err(|e| input(e.to_string()))?;
            // A trial another worker trained keeps its weights on that machine.
            let kept = artefacts_dir(self.storage, &t);
            let (weights, _) = trial_weights(
                &t,
                kept.as_deref(),
                &candidate,
                dataset,
                &self.config.settings,
                self.device,
            )
            .map_err(|e| input(e.to_string()))?;
            let a = export_trial(
                &t,
                &candidate,
                &weights,
                dataset,
                ExportPlace {
                    space: &self.space.name,
                    board: &self.board.name,
                    dir: &dir,
                },
                self.device,
            )
            .map_err(|e| input(e.to_string()))?;
            t.test_accuracy = Some(100.0 * a.f32_test_accuracy);
            t.artefacts = Some(artefacts_text(self.storage, &dir));
            self.storage.update(&t)?;
            out.push(Finalist {
                trial: *id,
                f32_test_accuracy: 100.0 * a.f32_test_accuracy,
                int8_test_accuracy: 100.0 * a.int8_test_accuracy,
                dir: dir.display().to_string(),
            });
        }
        Ok(out)
    }
}

/// The latency of `candidate` on `board` whose network takes `network_ms`, with its front
/// end's predicted time (the limit is on the two together), and that time.
fn with_front_end(candidate: &Candidate, board: &Board, network_ms: f64) -> (f64, Option<f64>) {
    let front_end = candidate.front_end.and_then(|f| f.predicted_ms(board));
    (network_ms + front_end.unwrap_or(0.0), front_end)
}

/// How one trial's work ended early.
enum TrialFailure {
    /// Ctrl-C.
    Interrupted,
    /// Failed, with the reason.
    Failed(String),
}

fn failed(e: impl std::fmt::Display) -> TrialFailure {
    TrialFailure::Failed(e.to_string())
}

/// A search's strategy, told every result in the study, proposing genotypes it does not hold.
struct Proposer<'a, 's> {
    space: &'a SearchSpace,
    strategy: &'s mut dyn Strategy,
    /// The trials whose outcome the strategy was told.
    told: HashSet<i64>,
    rng: Rng,
    /// Works out the costs of the genotypes a strategy of known costs asks about.
    costing: Option<Costing<'a>>,
    /// How many proposals pre-screening ranks, and what it needs.
    prescreen: Option<(usize, prescreen::Screen<'a>)>,
}

impl Proposer<'_, '_> {
    /// Tells a strategy of known costs the costs of the genotypes it asks about (those within
    /// the limits).
    fn cost_wanted(&mut self, datasets: &mut Datasets) {
        if let Some(costing) = &self.costing {
            let wanted = self.strategy.costs_wanted(self.space);
            if !wanted.is_empty() {
                let known = costing.within_limits(wanted, datasets);
                self.strategy.know_costs(&known);
            }
        }
    }

    /// Tells the strategy the outcomes in `history` it has not heard yet (other workers'
    /// too), then asks it for a genotype not in `history` (with pre-screening, for several,
    /// and picks one).
    fn propose(
        &mut self,
        history: &[Trial],
        datasets: &mut Datasets,
    ) -> Result<Option<String>, String> {
        for t in history {
            if self.told.contains(&t.id) {
                continue;
            }
            if let Some(o) = outcome(t) {
                let g = self
                    .space
                    .parse_genotype(&t.genotype)
                    .map_err(|e| format!("trial {}: {}", t.id, e.message))?;
                self.strategy.tell(&g, o);
                self.told.insert(t.id);
            }
        }
        let known: HashSet<&str> = history.iter().map(|t| t.genotype.as_str()).collect();
        let wanted = self.prescreen.as_ref().map_or(1, |(k, _)| *k);
        let mut proposed: Vec<String> = Vec::new();
        for _ in 0..MAX_CONSECUTIVE_KNOWN {
            let text = self.strategy.ask(self.space, &mut self.rng).to_text();
            if !known.contains(text.as_str()) && !proposed.contains(&text) {
                proposed.push(text);
                if proposed.len() == wanted {
                    break;
                }
            }
        }
        Ok(match &self.prescreen {
            Some((_, screen)) => prescreen::pick(&proposed, self.space, datasets, screen),
            None => proposed.pop(),
        })
    }
}

/// Beats for trial `id` every [`HEARTBEAT_SECONDS`] until the sender of `alive` is dropped.
fn heartbeat(storage: &dyn Storage, id: i64, alive: std::sync::mpsc::Receiver<()>) {
    let period = Duration::from_secs_f64(HEARTBEAT_SECONDS);
    // Beats until the sender is dropped (the trial's work ended).
    while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = alive.recv_timeout(period) {
        // A missed beat is harmless; the next one follows.
        let _ = storage.beat(id);
    }
}
