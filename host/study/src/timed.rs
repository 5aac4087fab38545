//! A storage that adds up the time its calls take: the coordination overhead of a worker.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use super::claim::{Claim, ClaimRequest, Propose};
use super::{Settings, Storage, StudyError, Trial};

/// Wraps a storage and counts the nanoseconds spent in it (claims, updates and heartbeats),
/// less the time the strategy spends proposing inside a claim.
pub struct TimedStorage<'a> {
    inner: &'a dyn Storage,
    nanos: AtomicU64,
}

impl<'a> TimedStorage<'a> {
    /// Times the calls to `inner`.
    pub fn new(inner: &'a dyn Storage) -> TimedStorage<'a> {
        TimedStorage {
            inner,
            nanos: AtomicU64::new(0),
        }
    }

    /// Seconds spent in the storage so far.
    pub fn seconds(&self) -> f64 {
        self.nanos.load(Ordering::Relaxed) as f64 * 1e-9
    }

    fn timed<T>(&self, f: impl FnOnce() -> T) -> T {
        let start = Instant::now();
        let out = f();
        self.add(start.elapsed().as_nanos() as i128);
        out
    }

    fn add(&self, nanos: i128) {
        let n = nanos.max(0) as u64;
        self.nanos.fetch_add(n, Ordering::Relaxed);
    }
}

impl Storage for TimedStorage<'_> {
    fn location(&self) -> String {
        self.inner.location()
    }
    fn folder(&self) -> Option<std::path::PathBuf> {
        self.inner.folder()
    }
    fn settings(&self) -> Result<Option<Settings>, StudyError> {
        self.timed(|| self.inner.settings())
    }
    fn set_settings(&self, settings: &Settings) -> Result<(), StudyError> {
        self.timed(|| self.inner.set_settings(settings))
    }
    fn trials(&self) -> Result<Vec<Trial>, StudyError> {
        self.timed(|| self.inner.trials())
    }
    fn insert(&self, trial: &Trial) -> Result<i64, StudyError> {
        self.timed(|| self.inner.insert(trial))
    }
    fn update(&self, trial: &Trial) -> Result<(), StudyError> {
        self.timed(|| self.inner.update(trial))
    }
    fn beat(&self, id: i64) -> Result<(), StudyError> {
        self.timed(|| self.inner.beat(id))
    }
    fn claim(&self, request: &ClaimRequest, propose: &mut Propose) -> Result<Claim, StudyError> {
        let mut proposing = 0i128;
        let mut timed_propose = |history: &[Trial]| {
            let start = Instant::now();
            let out = propose(history);
            proposing += start.elapsed().as_nanos() as i128;
            out
        };
        let start = Instant::now();
        let out = self.inner.claim(request, &mut timed_propose);
        self.add(start.elapsed().as_nanos() as i128 - proposing);
        out
    }
}
