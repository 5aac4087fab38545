//! Train / validation / test splits: by class, or by group (speaker).

use super::{Samples, Split};
use edgenas_model::rng::Rng;

/// Shares of each class that go to validation and test; the rest trains.
const VALID_SHARE: f64 = 0.15;
const TEST_SHARE: f64 = 0.15;

/// Which split a sample goes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    /// Training.
    Train,
    /// Validation.
    Valid,
    /// Test.
    Test,
}

/// The part of each sample when every class is split 70/15/15 % after shuffling it with
/// `seed`; a class of fewer than three samples trains only. The same seed gives the same parts.
pub fn stratified_parts(labels: &[u32], classes: usize, seed: u64) -> Vec<Part> {
    let mut rng = Rng::new(seed ^ 0x5EED_5EED);
    let mut parts = vec![Part::Train; labels.len()];
    for class in 0..classes as u32 {
        let mut idx: Vec<usize> = (0..labels.len()).filter(|&i| labels[i] == class).collect();
        shuffle(&mut idx, &mut rng);
        let n = idx.len();
        let (n_valid, n_test) = if n < 3 {
            (0, 0)
        } else {
            let v = ((n as f64 * VALID_SHARE).round() as usize).max(1);
            let t = ((n as f64 * TEST_SHARE).round() as usize).max(1);
            (v, t)
        };
        for (k, &i) in idx.iter().enumerate() {
            if k < n_test {
                parts[i] = Part::Test;
            } else if k < n_test + n_valid {
                parts[i] = Part::Valid;
            }
        }
    }
    parts
}

/// Splits whole groups (speakers): after shuffling the groups with `seed`, test takes groups
/// until it holds 15 % of the samples, validation the next until it holds 15 %, training the
/// rest; each part has at least one group. `None` with fewer than three groups.
pub fn group_parts(groups: &[&str], seed: u64) -> Option<Vec<Part>> {
    let mut names: Vec<&str> = groups.to_vec();
    names.sort_unstable();
    names.dedup();
    if names.len() < 3 {
        return None;
    }
    shuffle(&mut names, &mut Rng::new(seed ^ 0x5EED_5EED));
    let count = |g: &str| groups.iter().filter(|&&x| x == g).count();
    let total = groups.len() as f64;
    let mut part_of = std::collections::HashMap::new();
    let mut next = 0;
    // Each part takes at least one group and stops at its share, leaving `reserve` groups.
    let mut take = |part: Part, share: f64, reserve: usize| {
        let mut held = 0;
        loop {
            held += count(names[next]);
            part_of.insert(names[next], part);
            next += 1;
            if held as f64 >= share * total || names.len() - next <= reserve {
                break;
            }
        }
    };
    take(Part::Test, TEST_SHARE, 2);
    take(Part::Valid, VALID_SHARE, 1);
    Some(
        groups
            .iter()
            .map(|g| part_of.get(g).copied().unwrap_or(Part::Train))
            .collect(),
    )
}

/// The samples of each part, in sample order.
pub fn gather(s: &Samples, parts: &[Part]) -> (Split, Split, Split) {
    let size = s.shape.elements();
    let (mut train, mut valid, mut test) = (Split::default(), Split::default(), Split::default());
    for (i, part) in parts.iter().enumerate() {
        let target = match part {
            Part::Train => &mut train,
            Part::Valid => &mut valid,
            Part::Test => &mut test,
        };
        target.x.extend_from_slice(&s.x[i * size..(i + 1) * size]);
        target.labels.push(s.labels[i]);
    }
    (train, valid, test)
}

fn shuffle<T>(items: &mut [T], rng: &mut Rng) {
    for i in (1..items.len()).rev() {
        items.swap(i, rng.below(i + 1));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use edgenas_model::network::Shape;

    fn stratified(s: &Samples, seed: u64) -> (Split, Split, Split) {
        gather(s, &stratified_parts(&s.labels, s.class_names.len(), seed))
    }

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

    #[test]
    fn no_group_is_in_two_parts_and_each_part_has_one() {
        let groups: Vec<&str> = ["ann", "bob", "cyd", "dee", "eve"]
            .iter()
            .flat_map(|g| std::iter::repeat_n(*g, 100))
            .collect();
        for seed in 0..20 {
            let parts = group_parts(&groups, seed).unwrap();
            let mut counts = [0; 3];
            for g in groups.chunks(100).zip(parts.chunks(100)) {
                assert!(g.1.iter().all(|p| *p == g.1[0]), "{} is split", g.0[0]);
                counts[g.1[0] as usize] += 1;
            }
            assert_eq!(
                counts,
                [3, 1, 1],
                "seed {seed}: train, valid, test speakers"
            );
        }
        assert_eq!(group_parts(&["a", "a", "b"], 1), None);
    }
}
