//! Latency statistics of repeated runs: median and percentiles, and the confidence bound of
//! the median that stops the timing loop.

use serde::{Deserialize, Serialize};

/// Latency of repeated runs, in milliseconds.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Latency {
    /// The median.
    pub median: f64,
    /// The 10th percentile.
    pub p10: f64,
    /// The 90th percentile.
    pub p90: f64,
    /// How many timed runs (0 for a prediction).
    pub runs: usize,
}

impl Latency {
    /// Statistics of `samples` (milliseconds; not empty).
    pub fn of(samples: &[f64]) -> Latency {
        let mut s = samples.to_vec();
        s.sort_by(f64::total_cmp);
        Latency {
            median: percentile(&s, 50.0),
            p10: percentile(&s, 10.0),
            p90: percentile(&s, 90.0),
            runs: s.len(),
        }
    }

    /// A single predicted value.
    pub fn predicted(ms: f64) -> Latency {
        Latency {
            median: ms,
            p10: ms,
            p90: ms,
            runs: 0,
        }
    }
}

/// The `p`-th percentile of sorted values, interpolated linearly.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    let at = p / 100.0 * (sorted.len() - 1) as f64;
    let (lo, hi) = (at.floor() as usize, at.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (at - lo as f64)
}

/// Half the width of a 95 % confidence interval of the median (from order statistics),
/// relative to the median: timing stops when it is small enough.
pub fn median_relative_bound(samples: &[f64]) -> f64 {
    let mut s = samples.to_vec();
    s.sort_by(f64::total_cmp);
    let n = s.len() as f64;
    let spread = 0.98 * n.sqrt();
    let lo = ((n / 2.0 - spread).floor().max(0.0)) as usize;
    let hi = ((n / 2.0 + spread).ceil() as usize).min(s.len() - 1);
    let median = percentile(&s, 50.0);
    if median <= 0.0 {
        return 0.0;
    }
    (s[hi] - s[lo]) / 2.0 / median
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_and_median() {
        let l = Latency::of(&[5.0, 1.0, 3.0, 2.0, 4.0]);
        assert_eq!((l.median, l.runs), (3.0, 5));
        assert!((l.p10 - 1.4).abs() < 1e-12 && (l.p90 - 4.6).abs() < 1e-12);
    }

    #[test]
    fn the_median_bound_shrinks_with_agreeing_runs() {
        let steady: Vec<f64> = (0..50).map(|i| 10.0 + (i % 3) as f64 * 0.01).collect();
        let noisy: Vec<f64> = (0..50).map(|i| 10.0 + (i % 7) as f64).collect();
        assert!(median_relative_bound(&steady) < 0.01);
        assert!(median_relative_bound(&noisy) > 0.05);
    }
}
