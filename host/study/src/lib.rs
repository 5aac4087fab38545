//! The study: the durable record of a search. Every trial is written before its work starts
//! and updated at each step, so that a search killed at any moment loses at most the work in
//! flight and resumes from the record. Storage sits behind the [`Storage`] trait: SQLite
//! ([`SqliteStudy`], the default) or PostgreSQL ([`PostgresStudy`], many machines sharing one
//! study). Workers take trials with [`Storage::claim`], which both backends run as one
//! exclusive transaction around the same decision, [`claim::decide`].

pub mod claim;
mod columns;
#[cfg(test)]
mod conformance;
mod postgres;
mod sqlite;
mod timed;

pub use claim::{Claim, ClaimRequest, TrialTable};
pub use postgres::PostgresStudy;
pub use sqlite::SqliteStudy;
pub use timed::TimedStorage;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use edgenas_model::cost::DType;
use edgenas_model::error::FileError;
use edgenas_model::named::{Named, StrategyName};
use edgenas_model::space::{SearchSpace, load_space};
use edgenas_model::training::TrainConfig;

/// Where a trial stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TrialState {
    /// Recorded, work not started.
    Pending,
    /// Being measured or trained by the worker named in the trial.
    Running,
    /// Trained and validated.
    Complete,
    /// Broke a hard limit; never trained.
    Infeasible,
    /// Its evaluation failed (the reason says why); not retried.
    Failed,
    /// Stopped by Ctrl-C; run again when the search resumes.
    Interrupted,
    /// Stopped early by the search's fidelity rule ([`Fidelity`]): its learning curve fell
    /// behind at a rung; its accuracy is the best it reached, not a final one. Never resumed.
    Pruned,
}

impl TrialState {
    /// The state's name as stored.
    pub fn name(self) -> &'static str {
        match self {
            TrialState::Pending => "pending",
            TrialState::Running => "running",
            TrialState::Complete => "complete",
            TrialState::Infeasible => "infeasible",
            TrialState::Failed => "failed",
            TrialState::Interrupted => "interrupted",
            TrialState::Pruned => "pruned",
        }
    }

    /// Every state, in the order a trial may pass through them.
    pub const ALL: [TrialState; 7] = [
        TrialState::Pending,
        TrialState::Running,
        TrialState::Complete,
        TrialState::Infeasible,
        TrialState::Failed,
        TrialState::Interrupted,
        TrialState::Pruned,
    ];

    /// The state of a stored name.
    pub fn from_name(name: &str) -> Option<TrialState> {
        TrialState::ALL.into_iter().find(|s| s.name() == name)
    }

    /// Whether the trial's work is over (it is never evaluated again).
    pub fn is_final(self) -> bool {
        matches!(
            self,
            TrialState::Complete | TrialState::Infeasible | TrialState::Failed | TrialState::Pruned
        )
    }

    /// Whether the trial was trained (to the end or in part): it counts towards a search's
    /// `--trials`.
    pub fn was_trained(self) -> bool {
        matches!(
            self,
            TrialState::Complete | TrialState::Failed | TrialState::Pruned
        )
    }
}

/// One trial of a study.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Trial {
    /// The trial's number in the study, from 1 (0 before it is stored).
    pub id: i64,
    /// The genotype's canonical text.
    pub genotype: String,
    /// Where it stands.
    pub state: TrialState,
    /// The seed of its weights, split and sample order.
    pub seed: u64,
    /// Trainable parameters.
    pub params: Option<u64>,
    /// Multiply-accumulates per inference.
    pub macs: Option<u64>,
    /// Peak RAM on the board (arena plus the runtime's own), bytes.
    pub ram_bytes: Option<u64>,
    /// Flash on the board (model plus the runtime's code), bytes.
    pub flash_bytes: Option<u64>,
    /// Latency, milliseconds (median), measured or predicted before training.
    pub latency_ms: Option<f64>,
    /// How the latency was obtained: `measured` or `predicted`, and by what.
    pub latency_kind: Option<String>,
    /// Validation accuracy, percent.
    pub valid_accuracy: Option<f64>,
    /// Test accuracy, percent (finalists only).
    pub test_accuracy: Option<f64>,
    /// Seconds of training.
    pub train_seconds: Option<f64>,
    /// Unix time the trial was recorded.
    pub created: f64,
    /// Unix time its work started.
    pub started: Option<f64>,
    /// Unix time its work ended.
    pub finished: Option<f64>,
    /// The folder of its artefacts (weights; exported models for finalists).
    pub artefacts: Option<String>,
    /// Why it is infeasible, failed or interrupted.
    pub reason: Option<String>,
    /// The worker running it (`host:pid`).
    pub worker: Option<String>,
    /// Unix time of the worker's last sign of life.
    pub heartbeat: Option<f64>,
    /// Its learning curve: validation accuracy after every epoch trained so far, recorded as
    /// each epoch ends (empty before the first; absent in studies of older versions).
    #[serde(default)]
    pub curve: Vec<EpochPoint>,
}

/// Epochs trained by the trials, in all: the points of their learning curves (a trial run
/// again after an interruption counts its last run; studies of older versions recorded none).
pub fn epochs_trained(trials: &[Trial]) -> usize {
    trials.iter().map(|t| t.curve.len()).sum()
}

/// One point of a trial's learning curve.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpochPoint {
    /// The epoch, from 1.
    pub epoch: usize,
    /// Validation accuracy after it, percent.
    pub valid_accuracy: f64,
    /// Seconds of training up to its end.
    pub seconds: f64,
}

impl Trial {
    /// A pending trial of `genotype`.
    pub fn pending(genotype: String, seed: u64) -> Trial {
        Trial {
            id: 0,
            genotype,
            state: TrialState::Pending,
            seed,
            params: None,
            macs: None,
            ram_bytes: None,
            flash_bytes: None,
            latency_ms: None,
            latency_kind: None,
            valid_accuracy: None,
            test_accuracy: None,
            train_seconds: None,
            created: now(),
            started: None,
            finished: None,
            artefacts: None,
            reason: None,
            worker: None,
            heartbeat: None,
            curve: Vec::new(),
        }
    }
}

/// The hard limits of a search (absent: no limit beyond the board's memory).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Limits {
    /// Latency, milliseconds.
    pub max_latency_ms: Option<f64>,
    /// Peak RAM, kilobytes (1024 bytes).
    pub max_ram_kb: Option<f64>,
    /// Flash, kilobytes (1024 bytes).
    pub max_flash_kb: Option<f64>,
    /// Multiply-accumulates per inference.
    pub max_macs: Option<u64>,
}

/// How much training each trial gets.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "rule", rename_all = "kebab-case")]
pub enum Fidelity {
    /// Every trial trains for all the study's epochs.
    #[default]
    Full,
    /// The median stopping rule (Optuna's `MedianPruner`): from epoch `min_epochs` on, a
    /// trial whose best accuracy so far is below the median of the other trials' at the
    /// same epoch is pruned, once at least five others have reached it.
    Median {
        /// Epochs every trial trains before it may be pruned.
        min_epochs: usize,
    },
    /// Asynchronous successive halving (ASHA, Li et al. 2020): rungs at `min_epochs` ×
    /// `eta`^k epochs (below the study's epochs); a trial reaching a rung goes on only if its
    /// best accuracy so far is among the best 1/`eta` of every trial's at that rung (itself
    /// included, so the first to arrive goes on), and is pruned otherwise. Decided when the
    /// trial reaches the rung, from the study: any number of workers, no waiting.
    Asha {
        /// The first rung, in epochs.
        min_epochs: usize,
        /// The reduction factor between rungs (at least 2).
        eta: usize,
    },
    /// Hyperband (Li et al. 2018) over ASHA: trials are dealt in turn (by trial number) to
    /// brackets whose first rungs are `min_epochs` × `eta`^b, b = 0, 1, …, as long as the
    /// rung is below the study's epochs; each bracket runs ASHA among its own trials, so
    /// the later brackets prune later and less.
    Hyperband {
        /// The first rung of the first bracket, in epochs.
        min_epochs: usize,
        /// The reduction factor between rungs and between brackets (at least 2).
        eta: usize,
    },
}

/// Rungs at `first` × `eta`^k epochs, below `epochs`.
fn rungs_from(first: usize, eta: usize, epochs: usize) -> Vec<usize> {
    std::iter::successors(Some(first.max(1)), |&r| r.checked_mul(eta.max(2)))
        .take_while(|&r| r < epochs)
        .collect()
}

impl Fidelity {
    /// The epochs after which trial `id` of a study of `epochs` epochs may be pruned (for
    /// the median rule, every epoch from its warm-up on).
    pub fn rungs(self, epochs: usize, id: i64) -> Vec<usize> {
        match self {
            Fidelity::Full => Vec::new(),
            Fidelity::Median { min_epochs } => (min_epochs.max(1)..epochs).collect(),
            Fidelity::Asha { min_epochs, eta } => rungs_from(min_epochs, eta, epochs),
            Fidelity::Hyperband { eta, .. } => {
                let first = self.brackets(epochs)[self.bracket(epochs, id)];
                rungs_from(first, eta, epochs)
            }
        }
    }

    /// Hyperband's brackets: the first rung of each (one bracket of `min_epochs` for the
    /// other rules).
    pub fn brackets(self, epochs: usize) -> Vec<usize> {
        match self {
            Fidelity::Hyperband { min_epochs, eta } => {
                let all = rungs_from(min_epochs, eta, epochs);
                if all.is_empty() {
                    vec![min_epochs.max(1)]
                } else {
                    all
                }
            }
            _ => vec![1],
        }
    }

    /// The bracket of trial `id`: dealt in turn by trial number.
    pub fn bracket(self, epochs: usize, id: i64) -> usize {
        (id.max(1) - 1) as usize % self.brackets(epochs).len()
    }

    /// In words, for messages and the report (`asha: rungs at 1, 3 epochs, eta 3`).
    pub fn describe(self, epochs: usize) -> String {
        let list = |v: Vec<usize>| {
            v.iter()
                .map(|r| r.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        };
        match self {
            Fidelity::Full => "full".into(),
            Fidelity::Median { min_epochs } => {
                format!("median: from epoch {}", min_epochs.max(1))
            }
            Fidelity::Asha { eta, .. } => {
                format!(
                    "asha: rungs at {} epochs, eta {eta}",
                    list(self.rungs(epochs, 1))
                )
            }
            Fidelity::Hyperband { eta, .. } => format!(
                "hyperband: brackets from {} epochs, eta {eta}",
                list(self.brackets(epochs))
            ),
        }
    }
}

/// A zero-cost proxy: a score of an untrained network that may rank candidates as training
/// would (computed by `edgenas_search::proxy`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProxyName {
    /// NASWOT: how differently the rectified units switch for the samples of one batch.
    Naswot,
    /// Synflow: the signal the absolute-valued network passes, from an input of ones.
    Synflow,
    /// Grad-norm: the size of the loss's gradient on one batch.
    GradNorm,
}

impl Named for ProxyName {
    /// In the order the docs and benchmarks list them.
    const ALL: &'static [ProxyName] = &[ProxyName::Naswot, ProxyName::Synflow, ProxyName::GradNorm];

    /// The name on the command line and in JSON.
    fn name(self) -> &'static str {
        match self {
            ProxyName::Naswot => "naswot",
            ProxyName::Synflow => "synflow",
            ProxyName::GradNorm => "grad-norm",
        }
    }

    fn help(self) -> &'static str {
        match self {
            ProxyName::Naswot => {
                "NASWOT: how differently the rectified units switch for the samples of one batch"
            }
            ProxyName::Synflow => {
                "Synflow: the signal the absolute-valued network passes, from an input of ones"
            }
            ProxyName::GradNorm => "Grad-norm: the size of the loss's gradient on one batch",
        }
    }
}

/// A proxy's name that is not one of [`ProxyName`]'s.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown proxy `{0}` ({names})", names = ProxyName::listed())]
pub struct UnknownProxy(pub String);

impl std::str::FromStr for ProxyName {
    type Err = UnknownProxy;

    fn from_str(text: &str) -> Result<ProxyName, UnknownProxy> {
        ProxyName::from_name(text).ok_or_else(|| UnknownProxy(text.to_string()))
    }
}

/// Zero-cost pre-screening: of `candidates` genotypes the strategy proposes, only the one
/// within the static limits that `proxy` scores best is trained.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Prescreen {
    /// The score that ranks the proposals.
    pub proxy: ProxyName,
    /// Proposals ranked per trained trial (at least 2).
    pub candidates: usize,
}

/// What a study searches: fixed when it is created; a resumed search must agree.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    /// The space's name.
    pub space: String,
    /// The space as given (a shipped name or a file's path): how `export` finds it again.
    #[serde(default)]
    pub space_file: String,
    /// The board's name.
    pub board: String,
    /// The board as given (a shipped name or a file's path).
    #[serde(default)]
    pub board_file: String,
    /// The data set as given (`digits`, `csv:PATH`).
    pub data: String,
    /// The hard limits.
    pub limits: Limits,
    /// What RAM, flash and latency are computed for (stored as `int8` or `f32`).
    #[serde(with = "edgenas_model::named::dtype_by_name")]
    pub dtype: DType,
    /// Epochs per training.
    pub epochs: usize,
    /// How every trial trains (absent in studies of older versions).
    #[serde(default)]
    pub training: Option<TrainConfig>,
    /// The search's seed.
    pub seed: u64,
    /// The strategy (may change between runs).
    pub strategy: StrategyName,
    /// The edgenas version that created the study.
    pub edgenas_version: String,
    /// Trials to train (complete, failed or pruned) in the study: where its workers stop.
    /// Set by each `search`; absent in studies of older versions.
    #[serde(default)]
    pub trials: Option<usize>,
    /// How much training each trial gets (full in studies of older versions).
    #[serde(default)]
    pub fidelity: Fidelity,
    /// Zero-cost pre-screening (may change between runs; the study's workers follow the
    /// last search's choice). None in studies of older versions.
    #[serde(default)]
    pub prescreen: Option<Prescreen>,
    /// Genotypes drawn as candidates of known cost for `ehvi` and `ei` (may change between
    /// runs, like `prescreen`); `None`: the search's default.
    #[serde(default)]
    pub candidates: Option<usize>,
}

impl Settings {
    /// Settings with every field set, limits at their edges: what the storage contract
    /// round-trips and the study fuzz target starts from.
    pub fn example() -> Settings {
        Settings {
            space: "mlp".into(),
            space_file: "search-spaces/mlp.toml".into(),
            board: "host".into(),
            board_file: "host".into(),
            data: "digits".into(),
            limits: Limits {
                max_latency_ms: Some(1.5),
                max_ram_kb: None,
                max_flash_kb: Some(64.0),
                max_macs: Some(u64::MAX),
            },
            dtype: DType::F32,
            epochs: 3,
            training: Some(Default::default()),
            seed: u64::MAX,
            strategy: StrategyName::Nsga2,
            edgenas_version: "0.0.0".into(),
            trials: Some(9),
            fidelity: Default::default(),
            prescreen: None,
            candidates: Some(300),
        }
    }

    /// The study's space, read again from the shipped name or file it was given as. An error
    /// if it cannot be read, or if that file now holds another space.
    pub fn load_space(&self) -> Result<SearchSpace, FileError> {
        let file = if self.space_file.is_empty() {
            &self.space
        } else {
            &self.space_file
        };
        let space = load_space(file)?;
        if space.name != self.space {
            return Err(FileError::file(
                file,
                format!(
                    "is now space `{}`, the study searched `{}`",
                    space.name, self.space
                ),
            ));
        }
        Ok(space)
    }

    /// The board as the study was given it: its file's path, or its shipped name.
    pub fn board_source(&self) -> &str {
        match self.board_file.is_empty() {
            true => &self.board,
            false => &self.board_file,
        }
    }

    /// What differs between these settings and `other` in what a resumed search must keep
    /// (everything but the strategy, the version and the number of trials), as
    /// `name: stored in the study, given given` lines, each limit by its flag.
    pub fn conflicts(&self, other: &Settings) -> Vec<String> {
        let mut out = Vec::new();
        let mut check = |name: &str, a: String, b: String| {
            if a != b {
                out.push(format!("{name}: {a} in the study, {b} given"));
            }
        };
        check("space", self.space.clone(), other.space.clone());
        check("board", self.board.clone(), other.board.clone());
        check("data", self.data.clone(), other.data.clone());
        let shown = |v: Option<String>| v.unwrap_or_else(|| "none".into());
        let (a, b) = (&self.limits, &other.limits);
        for (name, x, y) in [
            ("--max-latency-ms", a.max_latency_ms, b.max_latency_ms),
            ("--max-ram-kb", a.max_ram_kb, b.max_ram_kb),
            ("--max-flash-kb", a.max_flash_kb, b.max_flash_kb),
        ] {
            check(
                name,
                shown(x.map(|v| v.to_string())),
                shown(y.map(|v| v.to_string())),
            );
        }
        check(
            "--max-macs",
            shown(a.max_macs.map(|v| v.to_string())),
            shown(b.max_macs.map(|v| v.to_string())),
        );
        check(
            "dtype",
            self.dtype.name().to_string(),
            other.dtype.name().to_string(),
        );
        check("epochs", self.epochs.to_string(), other.epochs.to_string());
        check(
            "training",
            serde_json::to_string(&self.training).unwrap_or_default(),
            serde_json::to_string(&other.training).unwrap_or_default(),
        );
        check("seed", self.seed.to_string(), other.seed.to_string());
        check(
            "--fidelity",
            self.fidelity.describe(self.epochs),
            other.fidelity.describe(other.epochs),
        );
        out
    }
}

/// Why a study cannot be read or written.
#[derive(Debug, thiserror::Error)]
pub enum StudyError {
    /// The file exists and is not an edgenas study.
    #[error("{0} is not an edgenas study")]
    NotAStudy(String),
    /// The file does not exist (and was not to be created).
    #[error("{0} does not exist")]
    Missing(String),
    /// The study holds what this edgenas cannot use (say, a genotype of another space).
    #[error("study {path}: {message}")]
    Rejected {
        /// The study.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// The database failed.
    #[error("study {path}: {message}")]
    Database {
        /// The study.
        path: String,
        /// What failed.
        message: String,
    },
}

/// Where a study lives. Implementations are shared between the search and its heartbeat
/// thread, so they synchronise themselves.
pub trait Storage: Send + Sync {
    /// Where the study is (a path or a URL), for messages.
    fn location(&self) -> String;
    /// The folder that the artefact paths recorded in the study are relative to: a SQLite
    /// study's own folder, so that the study and its artefacts move together; none for a
    /// study shared through a server (its paths are absolute). See [`artefacts_text`].
    fn folder(&self) -> Option<PathBuf>;
    /// The study's settings, once set.
    fn settings(&self) -> Result<Option<Settings>, StudyError>;
    /// Sets the settings (when the study is created, or to record a new strategy).
    fn set_settings(&self, settings: &Settings) -> Result<(), StudyError>;
    /// Every trial, by id.
    fn trials(&self) -> Result<Vec<Trial>, StudyError>;
    /// Stores a new trial and returns its id. Fails if its genotype is in the study already.
    fn insert(&self, trial: &Trial) -> Result<i64, StudyError>;
    /// Writes every field of a stored trial.
    fn update(&self, trial: &Trial) -> Result<(), StudyError>;
    /// Records that the worker of trial `id` is alive.
    fn beat(&self, id: i64) -> Result<(), StudyError>;
    /// Gives `request.worker` the next trial, as [`claim::decide`] chooses, in a transaction
    /// that no other worker of the study runs at the same time: two workers never get the
    /// same trial, and `propose` sees every genotype claimed before it.
    fn claim(
        &self,
        request: &ClaimRequest,
        propose: &mut claim::Propose,
    ) -> Result<Claim, StudyError>;
}

/// How the artefact folder `dir` of a trial is recorded in `storage`: relative to the study's
/// folder when it lies inside it (`trials/3`), else absolute. A study moved or copied with its
/// folder, or read from another working directory, still finds its artefacts.
pub fn artefacts_text(storage: &dyn Storage, dir: &Path) -> String {
    let dir = full_path(dir);
    storage
        .folder()
        .and_then(|folder| {
            dir.strip_prefix(full_path(&folder))
                .ok()
                .map(Path::to_path_buf)
        })
        .unwrap_or(dir)
        .display()
        .to_string()
}

/// The artefact folder of trial `t`, if it has one: its recorded path resolved against the
/// study's folder ([`artefacts_text`]). Studies of older versions recorded paths relative to
/// the directory the search ran in: such a path is taken as it is when it exists there and
/// not beside the study.
pub fn artefacts_dir(storage: &dyn Storage, t: &Trial) -> Option<PathBuf> {
    let recorded = Path::new(t.artefacts.as_deref()?);
    let beside = storage.folder().map(|folder| folder.join(recorded));
    match beside {
        Some(dir) if dir.exists() || !recorded.exists() => Some(dir),
        _ => Some(recorded.to_path_buf()),
    }
}

/// `path` made absolute, with symbolic links and `..` resolved where it exists.
fn full_path(path: &Path) -> PathBuf {
    path.canonicalize()
        .or_else(|_| std::path::absolute(path))
        .unwrap_or_else(|_| path.to_path_buf())
}

/// Opens the study at `location`: a `postgres://` (or `postgresql://`) URL with a `study=NAME`
/// parameter, or the path of a SQLite file. `create` creates a missing study.
pub fn open(location: &str, create: bool) -> Result<Box<dyn Storage>, StudyError> {
    if PostgresStudy::is_url(location) {
        Ok(Box::new(PostgresStudy::open(location, create)?))
    } else {
        Ok(Box::new(SqliteStudy::open(Path::new(location), create)?))
    }
}

/// The names of a trial row's columns, in the schema's order, `id` first (for tools that
/// read or repair a study's table directly).
pub fn trial_columns() -> impl Iterator<Item = &'static str> {
    columns::COLUMNS.iter().map(|(name, _)| *name)
}

/// Seconds since the Unix epoch.
pub fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// This process as a worker name: `host:pid`, or `NAME@host:pid` when it was given a name.
/// The `host:pid` part lets a worker of the same machine see that another has died.
pub fn worker_name(name: Option<&str>) -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into());
    let me = format!("{host}:{}", std::process::id());
    match name {
        Some(n) => format!("{n}@{me}"),
        None => me,
    }
}

/// The `(host, pid)` of a worker name made by [`worker_name`].
fn worker_process(worker: &str) -> Option<(&str, &str)> {
    worker
        .rsplit_once('@')
        .map_or(worker, |(_, p)| p)
        .rsplit_once(':')
}

/// Seconds without a heartbeat after which a running trial's worker is taken for dead, by
/// default. Workers beat every two seconds.
pub const HEARTBEAT_TIMEOUT_SECONDS: f64 = 60.0;

/// Whether a `running` trial was abandoned: its worker has not beaten for `timeout` seconds,
/// or is a process of this machine that no longer exists.
pub fn abandoned(trial: &Trial, now: f64, timeout: f64) -> bool {
    if trial.state != TrialState::Running {
        return false;
    }
    if trial.heartbeat.is_none_or(|h| now - h > timeout) {
        return true;
    }
    let me = worker_name(None);
    let host = worker_process(&me).map(|(h, _)| h);
    match trial.worker.as_deref().and_then(worker_process) {
        Some((h, pid)) if Some(h) == host && std::path::Path::new("/proc/self").exists() => {
            !std::path::Path::new(&format!("/proc/{pid}")).exists()
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_proxy_is_parsed_by_its_name_and_an_unknown_one_is_named() {
        for &p in ProxyName::ALL {
            assert_eq!(p.name().parse::<ProxyName>(), Ok(p));
        }
        let err = "gradnorm".parse::<ProxyName>().unwrap_err();
        assert_eq!(err, UnknownProxy("gradnorm".into()));
        assert_eq!(
            err.to_string(),
            "unknown proxy `gradnorm` (naswot, synflow or grad-norm)"
        );
    }

    fn running(worker: &str, heartbeat: f64) -> Trial {
        let mut t = Trial::pending("g".into(), 0);
        t.state = TrialState::Running;
        t.worker = Some(worker.into());
        t.heartbeat = Some(heartbeat);
        t
    }

    #[test]
    fn a_trial_is_abandoned_when_its_worker_stops_beating_or_its_process_is_gone() {
        let me = worker_name(Some("w1"));
        let now = now();
        assert!(!abandoned(&running(&me, now - 1.0), now, 10.0));
        assert!(abandoned(&running(&me, now - 11.0), now, 10.0));
        // Another machine's worker: only its heartbeat tells.
        assert!(!abandoned(&running("w2@elsewhere:1", now - 9.0), now, 10.0));
        assert!(abandoned(&running("w2@elsewhere:1", now - 11.0), now, 10.0));
        // A process of this machine that does not exist (pids stay below 2^22 on Linux).
        let host = worker_process(&me).unwrap().0;
        let dead = format!("w3@{host}:4999999");
        assert!(abandoned(&running(&dead, now), now, 10.0));
        let mut done = running(&dead, now);
        done.state = TrialState::Complete;
        assert!(!abandoned(&done, now, 10.0));
    }

    #[test]
    fn conflicting_settings_are_named_by_their_flags_in_words() {
        let stored = Settings::example();
        let mut given = stored.clone();
        given.limits.max_latency_ms = Some(2.0);
        given.limits.max_ram_kb = Some(32.0);
        given.strategy = StrategyName::Bayes;
        assert_eq!(
            stored.conflicts(&given),
            [
                "--max-latency-ms: 1.5 in the study, 2 given",
                "--max-ram-kb: none in the study, 32 given",
            ],
            "the strategy may change between runs"
        );
    }
}
