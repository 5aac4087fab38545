//! The timing loop: warm a model up, then time runs until the median is stable or a cap on
//! runs or time is reached. The host's tract meter and the agent on a board run this same loop.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::stats::{Latency, median_relative_bound};
use crate::tract::{TractFailure, TractModel};

/// How a model is timed: untimed warm-up runs, then timed runs until the 95 % confidence bound
/// of the median is within `bound` of it, or `max_runs` or `max_time` is reached.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Timer {
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

impl Default for Timer {
    fn default() -> Timer {
        Timer {
            warmup_runs: 5,
            warmup_time: Duration::from_millis(30),
            min_runs: 15,
            max_runs: 1000,
            max_time: Duration::from_secs(3),
            bound: 0.01,
        }
    }
}

/// What timing a model gave.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Timed {
    /// Latency of the timed runs.
    pub latency: Latency,
    /// The relative 95 % confidence bound of the median that timing ended with.
    pub median_bound: f64,
    /// What the user should know (a median that did not settle).
    pub warnings: Vec<String>,
}

impl Timer {
    /// Times `model` on a fixed input. Latency does not depend on the input's values, so the
    /// input is a fixed pattern in [-1, 1).
    pub fn time(&self, model: &TractModel) -> Result<Timed, TractFailure> {
        let size: usize = model.input_shape().iter().product();
        let input: Vec<f32> = (0..size)
            .map(|i| (i * 7919 % 200) as f32 / 100.0 - 1.0)
            .collect();
        let mut run = model.runner(&input)?;
        let warming = Instant::now();
        let mut warm = 0;
        while warm < self.warmup_runs || warming.elapsed() < self.warmup_time {
            run()?;
            warm += 1;
        }
        let started = Instant::now();
        let mut samples = Vec::new();
        while samples.len() < self.max_runs.max(1) {
            let t = Instant::now();
            run()?;
            samples.push(t.elapsed().as_secs_f64() * 1e3);
            if samples.len() >= self.min_runs
                && (median_relative_bound(&samples) <= self.bound
                    || started.elapsed() >= self.max_time)
            {
                break;
            }
        }
        let median_bound = median_relative_bound(&samples);
        let mut warnings = Vec::new();
        if median_bound > self.bound {
            warnings.push(format!(
                "the median did not settle within {:.1} % in {} runs (±{:.1} %): the machine is busy",
                100.0 * self.bound,
                samples.len(),
                100.0 * median_bound
            ));
        }
        Ok(Timed {
            latency: Latency::of(&samples),
            median_bound,
            warnings,
        })
    }
}
