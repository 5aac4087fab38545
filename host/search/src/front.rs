//! The Pareto front of a study's complete trials.

use edgenas_study::{Trial, TrialState};

use crate::strategy::Score;
use crate::strategy::pareto::fronts;

/// The Pareto front of the complete trials over validation accuracy (maximised) and latency,
/// RAM and flash (minimised), best accuracy first.
pub fn pareto_front(trials: &[Trial]) -> Vec<i64> {
    let complete: Vec<&Trial> = trials
        .iter()
        .filter(|t| t.state == TrialState::Complete)
        .collect();
    let points: Vec<Vec<f64>> = complete
        .iter()
        .map(|t| {
            let s = score(t);
            vec![-s.objective, s.latency_ms, s.ram_bytes, s.flash_bytes]
        })
        .collect();
    let mut front: Vec<&Trial> = fronts(&points)
        .first()
        .map(|f| f.iter().map(|&i| complete[i]).collect())
        .unwrap_or_default();
    front.sort_by(|a, b| {
        b.valid_accuracy
            .unwrap_or(0.0)
            .total_cmp(&a.valid_accuracy.unwrap_or(0.0))
            .then(a.id.cmp(&b.id))
    });
    front.iter().map(|t| t.id).collect()
}

/// The score a complete trial tells the strategy.
pub(crate) fn score(t: &Trial) -> Score {
    Score {
        objective: t.valid_accuracy.unwrap_or(0.0),
        latency_ms: t.latency_ms.unwrap_or(0.0),
        ram_bytes: t.ram_bytes.unwrap_or(0) as f64,
        flash_bytes: t.flash_bytes.unwrap_or(0) as f64,
    }
}
