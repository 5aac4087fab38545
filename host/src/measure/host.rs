//! The tract host meter: real latency of a model on the machine edgenas runs on.

use std::time::{Duration, Instant};

use super::stats::median_relative_bound;
use super::{Kind, Latency, MeasureError, Measurement, Meter};
use crate::export::TractModel;
use crate::rng::Rng;

/// Times a model with tract: loads and optimises it, warms it up, then runs it until the
/// median is stable (the 95 % confidence bound of the median within `bound` of it) or a cap
/// on runs or time is reached.
#[derive(Clone, Debug, PartialEq)]
pub struct TractMeter {
    /// The board name the measurement is reported for.
    pub board: String,
    /// Untimed runs first (at least this many, and at least `warmup_time`).
    pub warmup_runs: usize,
    /// Untimed running first, at least.
    pub warmup_time: Duration,
    /// Timed runs at least.
    pub min_runs: usize,
    /// Timed runs at most.
    pub max_runs: usize,
    /// Time spent timing at most (after the minimum of runs).
    pub max_time: Duration,
    /// The relative confidence bound of the median that ends timing.
    pub bound: f64,
}

impl Default for TractMeter {
    fn default() -> TractMeter {
        TractMeter {
            board: "host".into(),
            warmup_runs: 5,
            warmup_time: Duration::from_millis(30),
            min_runs: 15,
            max_runs: 1000,
            max_time: Duration::from_secs(3),
            bound: 0.01,
        }
    }
}

impl TractMeter {
    /// The same meter, reporting for `board`.
    pub fn on(mut self, board: &str) -> TractMeter {
        self.board = board.to_string();
        self
    }
}

impl Meter for TractMeter {
    fn backend(&self) -> &'static str {
        "tract-host"
    }

    fn measure(&self, bytes: &[u8], what: &str) -> Result<Measurement, MeasureError> {
        let model = TractModel::load(bytes, what).map_err(MeasureError::Model)?;
        let size: usize = model.input_shape().iter().product();
        let mut rng = Rng::new(1);
        let input: Vec<f32> = (0..size).map(|_| rng.unit() as f32 * 2.0 - 1.0).collect();
        let fail = |e: String| MeasureError::Model(format!("{what}: tract cannot run it: {e}"));
        let mut run = model.runner(&input).map_err(fail)?;
        let warming = Instant::now();
        let mut warm = 0;
        while warm < self.warmup_runs || warming.elapsed() < self.warmup_time {
            run().map_err(fail)?;
            warm += 1;
        }
        let started = Instant::now();
        let mut samples = Vec::new();
        while samples.len() < self.max_runs {
            let t = Instant::now();
            run().map_err(fail)?;
            samples.push(t.elapsed().as_secs_f64() * 1e3);
            let enough = samples.len() >= self.min_runs;
            if enough
                && (median_relative_bound(&samples) <= self.bound
                    || started.elapsed() >= self.max_time)
            {
                break;
            }
        }
        let latency = Latency::of(&samples);
        let mut warnings = Vec::new();
        let bound = median_relative_bound(&samples);
        if bound > self.bound {
            warnings.push(format!(
                "the median did not settle within {:.1} % in {} runs (±{:.1} %): the machine is busy",
                100.0 * self.bound,
                samples.len(),
                100.0 * bound
            ));
        }
        Ok(Measurement {
            board: self.board.clone(),
            backend: self.backend().into(),
            kind: Kind::Measured,
            latency_ms: latency,
            cycles: None,
            instructions: None,
            ram_bytes: None,
            flash_bytes: Some(bytes.len() as u64),
            warnings,
        })
    }
}
