//! The fidelity rule: whether a trial that has just finished an epoch is pruned
//! ([`edgenas_study::Fidelity`]). Asynchronous successive halving decides at each rung from the
//! learning curves in the study, so that workers need not wait for one another.

use edgenas_study::{EpochPoint, Fidelity, Trial};

/// The best validation accuracy of a learning curve (0 for an empty one): a pruned trial's
/// accuracy.
pub fn best(curve: &[EpochPoint]) -> f64 {
    value_at(curve, curve.len()).unwrap_or(0.0).max(0.0)
}

/// A trial's value at a rung: its best validation accuracy up to and including epoch `rung`,
/// if its curve reaches it.
fn value_at(curve: &[EpochPoint], rung: usize) -> Option<f64> {
    (curve.len() >= rung).then(|| {
        curve[..rung]
            .iter()
            .map(|p| p.valid_accuracy)
            .fold(f64::NEG_INFINITY, f64::max)
    })
}

/// Other trials at an epoch before the median rule prunes (Optuna's `n_startup_trials`).
const MEDIAN_STARTUP: usize = 5;

/// Why trial `id`, whose curve so far is `curve` and which trains for `epochs` epochs, is
/// pruned now under `fidelity`, given every trial of the study (`trials`, read only at one of
/// the trial's rungs; its own row is ignored; `None` when they cannot be read); `None` when it
/// goes on. Only the end of one of its rungs can prune it.
pub fn pruned(
    fidelity: Fidelity,
    epochs: usize,
    id: i64,
    curve: &[EpochPoint],
    trials: impl FnOnce() -> Option<Vec<Trial>>,
) -> Option<String> {
    let rung = curve.last()?.epoch;
    if !fidelity.rungs(epochs, id).contains(&rung) {
        return None;
    }
    let value = value_at(curve, rung)?;
    let trials = trials()?;
    let rivals = trials.iter().filter(|t| t.id != id);
    match fidelity {
        Fidelity::Full => None,
        Fidelity::Median { .. } => {
            let others: Vec<f64> = rivals.filter_map(|t| value_at(&t.curve, rung)).collect();
            below_median(value, others, rung)
        }
        Fidelity::Asha { eta, .. } => {
            let others = rivals.filter_map(|t| value_at(&t.curve, rung));
            not_promoted(value, others.collect(), eta, rung, "")
        }
        Fidelity::Hyperband { eta, .. } => {
            let bracket = fidelity.bracket(epochs, id);
            let others = rivals
                .filter(|t| fidelity.bracket(epochs, t.id) == bracket)
                .filter_map(|t| value_at(&t.curve, rung));
            let which = format!(" of bracket {}", bracket + 1);
            not_promoted(value, others.collect(), eta, rung, &which)
        }
    }
}

/// The median stopping rule at epoch `epoch`: pruned when `value` is below the median of
/// `others`, once there are [`MEDIAN_STARTUP`] of them.
fn below_median(value: f64, mut others: Vec<f64>, epoch: usize) -> Option<String> {
    if others.len() < MEDIAN_STARTUP {
        return None;
    }
    others.sort_by(f64::total_cmp);
    let n = others.len();
    let median = match n % 2 {
        1 => others[n / 2],
        _ => (others[n / 2 - 1] + others[n / 2]) / 2.0,
    };
    (value < median).then(|| {
        format!(
            "at epoch {epoch}: {value:.2} % is below the median {median:.2} % of the {n} other \
             trials there"
        )
    })
}

/// ASHA's promotion test, as Optuna's successive-halving pruner runs it: of the `n` trials
/// whose curves reached the rung (this one, worth `value`, and `others`), the best
/// ⌊n / eta⌋ (at least one) go on.
fn not_promoted(
    value: f64,
    mut values: Vec<f64>,
    eta: usize,
    rung: usize,
    which: &str,
) -> Option<String> {
    values.push(value);
    values.sort_by(|a, b| b.total_cmp(a));
    let keep = (values.len() / eta.max(2)).max(1);
    let needed = values[keep - 1];
    (value < needed).then(|| {
        format!(
            "at the {rung}-epoch rung{which}: {value:.2} % is not among the best {keep} of the \
             {} trials there ({needed:.2} % needed)",
            values.len()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn curve(values: &[f64]) -> Vec<EpochPoint> {
        values
            .iter()
            .enumerate()
            .map(|(i, &v)| EpochPoint {
                epoch: i + 1,
                valid_accuracy: v,
                seconds: i as f64,
            })
            .collect()
    }

    /// [`pruned`] with the study's trials at hand.
    fn judged(
        fidelity: Fidelity,
        epochs: usize,
        id: i64,
        curve: &[EpochPoint],
        trials: &[Trial],
    ) -> Option<String> {
        pruned(fidelity, epochs, id, curve, || Some(trials.to_vec()))
    }

    fn trial(id: i64, values: &[f64]) -> Trial {
        let mut t = Trial::pending(format!("g{id}"), 0);
        t.id = id;
        t.curve = curve(values);
        t
    }

    #[test]
    fn asha_keeps_the_best_third_at_each_rung_and_the_first_to_arrive() {
        let asha = Fidelity::Asha {
            min_epochs: 1,
            eta: 3,
        };
        assert_eq!(asha.rungs(9, 1), vec![1, 3]);
        assert_eq!(asha.rungs(10, 1), vec![1, 3, 9]);
        assert_eq!(Fidelity::Full.rungs(9, 1), Vec::<usize>::new());
        // The first trial at a rung goes on.
        assert_eq!(judged(asha, 9, 1, &curve(&[50.0]), &[]), None);
        // Five others at the first rung: of six, the best two go on.
        let others: Vec<Trial> = [40.0, 60.0, 70.0, 80.0, 90.0]
            .iter()
            .enumerate()
            .map(|(i, &v)| trial(i as i64 + 2, &[v]))
            .collect();
        assert_eq!(judged(asha, 9, 1, &curve(&[85.0]), &others), None);
        let why = judged(asha, 9, 1, &curve(&[75.0]), &others).unwrap();
        assert!(
            why.contains("1-epoch rung: 75.00 % is not among the best 2 of the 6 trials")
                && why.contains("80.00 % needed"),
            "{why}"
        );
        // Not a rung: never pruned; the value at a rung is the best so far.
        assert_eq!(judged(asha, 9, 1, &curve(&[10.0, 10.0]), &others), None);
        // Off a rung the study is not even read.
        let unread = || -> Option<Vec<Trial>> { panic!("the study was read off a rung") };
        assert_eq!(pruned(asha, 9, 1, &curve(&[10.0, 10.0]), unread), None);
        let late = [trial(2, &[90.0, 90.0, 95.0]), trial(3, &[90.0, 91.0, 92.0])];
        assert_eq!(
            judged(asha, 9, 1, &curve(&[94.0, 96.0, 93.0]), &late),
            None,
            "96 % at epoch 2 counts at the 3-epoch rung"
        );
        // Full fidelity prunes nothing, and a trial's own stored row is not a rival.
        assert_eq!(judged(Fidelity::Full, 9, 1, &curve(&[1.0]), &others), None);
        let itself = [trial(1, &[99.0])];
        assert_eq!(judged(asha, 9, 1, &curve(&[20.0]), &itself), None);
    }

    #[test]
    fn the_median_rule_waits_for_five_rivals_then_prunes_below_their_median() {
        let median = Fidelity::Median { min_epochs: 2 };
        assert_eq!(median.rungs(5, 1), vec![2, 3, 4]);
        let four: Vec<Trial> = (2..6).map(|i| trial(i, &[50.0, 60.0 + i as f64])).collect();
        assert_eq!(judged(median, 5, 1, &curve(&[10.0, 10.0]), &four), None);
        let five: Vec<Trial> = (2..7).map(|i| trial(i, &[50.0, 60.0 + i as f64])).collect();
        let why = judged(median, 5, 1, &curve(&[10.0, 10.0]), &five).unwrap();
        assert!(
            why.contains("at epoch 2: 10.00 % is below the median 64.00 %"),
            "{why}"
        );
        assert_eq!(judged(median, 5, 1, &curve(&[10.0, 70.0]), &five), None);
        // Epoch 1 is the warm-up.
        assert_eq!(judged(median, 5, 1, &curve(&[1.0]), &five), None);
    }

    #[test]
    fn hyperband_deals_trials_to_brackets_that_run_asha_among_themselves() {
        let hyperband = Fidelity::Hyperband {
            min_epochs: 1,
            eta: 3,
        };
        assert_eq!(hyperband.brackets(9), vec![1, 3]);
        assert_eq!(hyperband.rungs(9, 1), vec![1, 3]);
        assert_eq!(hyperband.rungs(9, 2), vec![3]);
        assert_eq!(hyperband.rungs(9, 3), vec![1, 3]);
        // Trial 5 (bracket 1) competes with trials 1 and 3 only, not with trial 2.
        let rivals = [trial(1, &[90.0]), trial(2, &[99.0]), trial(3, &[95.0])];
        assert_eq!(judged(hyperband, 9, 5, &curve(&[96.0]), &rivals), None);
        let why = judged(hyperband, 9, 5, &curve(&[91.0]), &rivals).unwrap();
        assert!(
            why.contains("rung of bracket 1: 91.00 % is not among the best 1 of the 3"),
            "{why}"
        );
        // Trial 4 (bracket 2) is never judged at epoch 1.
        assert_eq!(judged(hyperband, 9, 4, &curve(&[1.0]), &rivals), None);
    }
}
