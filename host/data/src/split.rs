//! Stratified train / validation / test splits.

use super::{Samples, Split};
use edgenas_model::rng::Rng;

/// Shares of each class that go to validation and test; the rest trains.
const VALID_SHARE: f64 = 0.15;
const TEST_SHARE: f64 = 0.15;

/// Splits every class 70/15/15 % after shuffling it with `seed`; a class of fewer than three
/// samples trains only. The same seed gives the same splits.
pub fn stratified(s: &Samples, seed: u64) -> (Split, Split, Split) {
    let mut rng = Rng::new(seed ^ 0x5EED_5EED);
    let size = s.shape.elements();
    let (mut train, mut valid, mut test) = (Split::default(), Split::default(), Split::default());
    for class in 0..s.class_names.len() as u32 {
        let mut idx: Vec<usize> = (0..s.labels.len())
            .filter(|&i| s.labels[i] == class)
            .collect();
        for i in (1..idx.len()).rev() {
            idx.swap(i, rng.below(i + 1));
        }
        let n = idx.len();
        let (n_valid, n_test) = if n < 3 {
            (0, 0)
        } else {
            let v = ((n as f64 * VALID_SHARE).round() as usize).max(1);
            let t = ((n as f64 * TEST_SHARE).round() as usize).max(1);
            (v, t)
        };
        for (k, &i) in idx.iter().enumerate() {
            let target = if k < n_test {
                &mut test
            } else if k < n_test + n_valid {
                &mut valid
            } else {
                &mut train
            };
            target.x.extend_from_slice(&s.x[i * size..(i + 1) * size]);
            target.labels.push(class);
        }
    }
    (train, valid, test)
}

#[cfg(test)]
mod tests {
    use super::*;
    use edgenas_model::network::Shape;

    #[test]
    fn every_class_is_split_in_proportion_and_nothing_is_lost() {
        let labels: Vec<u32> = (0..300).map(|i| if i < 200 { 0 } else { 1 }).collect();
        let s = Samples {
            shape: Shape::Vector(1),
            x: (0..300).map(|i| i as f32).collect(),
            labels,
            class_names: vec!["a".into(), "b".into()],
        };
        let (tr, va, te) = stratified(&s, 1);
        assert_eq!(tr.len() + va.len() + te.len(), 300);
        assert_eq!(te.labels.iter().filter(|&&l| l == 0).count(), 30);
        assert_eq!(te.labels.iter().filter(|&&l| l == 1).count(), 15);
        assert_eq!(va.len(), 45);
        let mut all: Vec<f32> = [tr.x, va.x, te.x].concat();
        all.sort_by(f32::total_cmp);
        assert_eq!(
            all,
            (0..300).map(|i| i as f32).collect::<Vec<_>>(),
            "each sample exactly once"
        );
        let again = stratified(&s, 1);
        assert_eq!(again.2.x, stratified(&s, 1).2.x);
        assert_ne!(again.2.x, stratified(&s, 2).2.x);
    }
}
