//! The fidelity rule: whether a trial that has just finished an epoch is pruned
//! ([`edgenas_study::Fidelity`]). Asynchronous successive halving decides at each rung from the
//! learning curves in the study, so that workers need not wait for one another.

use edgenas_study::{EpochPoint, Fidelity, Trial};

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

/// Why trial `id`, whose curve so far is `curve` and which trains for `epochs` epochs, is
/// pruned now under `fidelity`, given every trial of the study (`trials`; its own row is
/// ignored); `None` when it goes on. Only the end of a rung epoch can prune.
///
/// ASHA's promotion test, as Optuna's successive-halving pruner runs it: of the `n` trials
/// whose curves reached the rung (this one included), the best ⌊n / eta⌋ (at least one) go on.
pub fn pruned(
    fidelity: Fidelity,
    epochs: usize,
    id: i64,
    curve: &[EpochPoint],
    trials: &[Trial],
) -> Option<String> {
    let Fidelity::Asha { eta, .. } = fidelity else {
        return None;
    };
    let rung = curve.last()?.epoch;
    if !fidelity.rungs(epochs).contains(&rung) {
        return None;
    }
    let value = value_at(curve, rung)?;
    let mut values: Vec<f64> = trials
        .iter()
        .filter(|t| t.id != id)
        .filter_map(|t| value_at(&t.curve, rung))
        .chain([value])
        .collect();
    values.sort_by(|a, b| b.total_cmp(a));
    let keep = (values.len() / eta.max(2)).max(1);
    let needed = values[keep - 1];
    (value < needed).then(|| {
        format!(
            "at the {rung}-epoch rung: {value:.2} % is not among the best {keep} of the {} \
             trials there ({needed:.2} % needed)",
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
        assert_eq!(asha.rungs(9), vec![1, 3]);
        assert_eq!(asha.rungs(10), vec![1, 3, 9]);
        assert_eq!(Fidelity::Full.rungs(9), Vec::<usize>::new());
        // The first trial at a rung goes on.
        assert_eq!(pruned(asha, 9, 1, &curve(&[50.0]), &[]), None);
        // Five others at the first rung: of six, the best two go on.
        let others: Vec<Trial> = [40.0, 60.0, 70.0, 80.0, 90.0]
            .iter()
            .enumerate()
            .map(|(i, &v)| trial(i as i64 + 2, &[v]))
            .collect();
        assert_eq!(pruned(asha, 9, 1, &curve(&[85.0]), &others), None);
        let why = pruned(asha, 9, 1, &curve(&[75.0]), &others).unwrap();
        assert!(
            why.contains("1-epoch rung: 75.00 % is not among the best 2 of the 6 trials")
                && why.contains("80.00 % needed"),
            "{why}"
        );
        // Not a rung: never pruned; the value at a rung is the best so far.
        assert_eq!(pruned(asha, 9, 1, &curve(&[10.0, 10.0]), &others), None);
        let late = [trial(2, &[90.0, 90.0, 95.0]), trial(3, &[90.0, 91.0, 92.0])];
        assert_eq!(
            pruned(asha, 9, 1, &curve(&[94.0, 96.0, 93.0]), &late),
            None,
            "96 % at epoch 2 counts at the 3-epoch rung"
        );
        // Full fidelity prunes nothing, and a trial's own stored row is not a rival.
        assert_eq!(pruned(Fidelity::Full, 9, 1, &curve(&[1.0]), &others), None);
        let itself = [trial(1, &[99.0])];
        assert_eq!(pruned(asha, 9, 1, &curve(&[20.0]), &itself), None);
    }
}
