//! Strategies that choose among candidates whose latency is known before any training: a
//! Gaussian process over the networks' [`features`](super::features) predicts accuracy, and
//! each ask proposes the open candidate that the acquisition rates highest.
//!
//! - [`Acquisition::Hypervolume`] (`ehvi`, multi-objective): the expected hypervolume
//!   improvement of accuracy × latency. With the latency known exactly, the expectation is a
//!   sum over the steps of the current front: on a stretch of latency where the front reaches
//!   accuracy `c`, a candidate at least as fast as the stretch gains `E[max(0, a − c)]` times
//!   the stretch's length, `a` its predicted accuracy. The hypervolume's reference point is the
//!   median accuracy observed and the median latency of the candidates, so the search aims at
//!   the better half on both axes.
//! - [`Acquisition::Improvement`] (`ei`, single-objective): the expected improvement over the
//!   best accuracy observed.
//!
//! Accuracies below the observations' lower quartile are raised to it before the fit:
//! diverged networks (10 % on CIFAR-10) say nothing about the best ones and would widen every
//! prediction. Candidates over the latency limit are never proposed.
//!
//! They need candidates with known costs ([`Strategy::know_costs`]); without them (or after
//! asking every one) they sample uniformly.

use std::collections::{HashMap, HashSet};

use super::features::FEATURES;
use super::gp::{Factored, factor, normal_cdf, normal_pdf, solve_lower};
use super::pareto::dominates;
use super::{Candidate, Outcome, Strategy};
use edgenas_model::rng::Rng;
use edgenas_model::space::{Genotype, SearchSpace};

/// Candidates drawn at random before the surrogate takes over.
const INITIAL: usize = 5;
/// The lengthscales (of the standardised features) and noise variances (of the standardised
/// accuracy) tried at every fit, chosen by marginal likelihood.
const LENGTHSCALES: [f64; 4] = [0.5, 1.0, 2.0, 4.0];
const NOISES: [f64; 3] = [0.01, 0.05, 0.2];

/// What a proposal maximises; see the module documentation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Acquisition {
    /// Expected hypervolume improvement of accuracy × latency.
    #[default]
    Hypervolume,
    /// Expected improvement of the best accuracy.
    Improvement,
}

/// A strategy over candidates of known cost; see the module documentation.
#[derive(Clone, Debug, Default)]
pub struct KnownCosts {
    /// What a proposal maximises.
    acquisition: Acquisition,
    /// Candidates a proposal is drawn from, at most one per feature vector (the fastest, or
    /// the one asked).
    pool: Vec<Candidate>,
    /// A pool index by feature vector.
    by_features: HashMap<[u64; FEATURES], usize>,
    /// A pool index by genotype text.
    index: HashMap<String, usize>,
    /// Whether each candidate was asked or told.
    done: Vec<bool>,
    /// Pool index and accuracy of every feasible candidate told.
    observed: Vec<(usize, f64)>,
    /// Genotypes whose costs were given or asked for: never asked for again.
    costed: HashSet<String>,
    /// Observed candidates whose neighbours were asked for.
    expanded: HashSet<usize>,
    /// Candidates over this latency are left out (the search's limit).
    latency_limit_ms: Option<f64>,
    /// The median latency of the first candidates (within the limit): the hypervolume's
    /// reference latency.
    median_latency_ms: f64,
}

impl KnownCosts {
    /// A strategy maximising `acquisition` that leaves out candidates slower than
    /// `latency_limit_ms`.
    pub fn new(acquisition: Acquisition, latency_limit_ms: Option<f64>) -> KnownCosts {
        KnownCosts {
            acquisition,
            latency_limit_ms,
            ..KnownCosts::default()
        }
    }

    /// A pool candidate not asked yet, uniformly.
    fn random_open(&self, rng: &mut Rng) -> Option<usize> {
        let open: Vec<usize> = (0..self.pool.len()).filter(|&i| !self.done[i]).collect();
        (!open.is_empty()).then(|| open[rng.below(open.len())])
    }

    /// What rates the open candidates, if the surrogate fits.
    fn rating(&self) -> Option<Rating> {
        let accuracies: Vec<f64> = self.observed.iter().map(|o| o.1).collect();
        let floor = quantile(&accuracies, 0.25);
        let reference = [quantile(&accuracies, 0.5), self.median_latency_ms];
        let features = standardise(self.pool.iter().map(|c| c.features).collect());
        let fitted = fitted(&self.observed);
        let points: Vec<&[f64; FEATURES]> = fitted.iter().map(|o| &features[o.0]).collect();
        let values: Vec<f64> = fitted.iter().map(|o| o.1.max(floor)).collect();
        let surrogate = Surrogate::fit(&points, &values)?;
        let steps = front_steps(
            self.observed
                .iter()
                .map(|&(i, a)| [a, self.pool[i].latency_ms]),
            reference,
        );
        let best = accuracies.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        Some(Rating {
            features,
            surrogate,
            steps,
            best,
        })
    }

    /// What the acquisition rates candidate `i` at, its accuracy normal with `mean` and `std`.
    fn gain(&self, rating: &Rating, i: usize, mean: f64, std: f64) -> f64 {
        match self.acquisition {
            Acquisition::Hypervolume => {
                expected_gain(mean, std, self.pool[i].latency_ms, &rating.steps)
            }
            Acquisition::Improvement => expected_excess(mean, std, rating.best),
        }
    }

    /// The open candidate that the acquisition rates highest (the lowest index among equals),
    /// if the surrogate fits.
    fn best_open(&self) -> Option<usize> {
        let r = self.rating()?;
        let surrogate = &r.surrogate;
        // Both gains grow with the spread, which is at most the prior's: each candidate's gain
        // at that spread bounds its gain, so the exact gain (a solve per candidate, the cost
        // of an ask) is worked out only while a bound exceeds the best gain found.
        let mut bounded: Vec<(f64, usize, f64)> = (0..self.pool.len())
            .filter(|&i| !self.done[i])
            .map(|i| {
                let mean = surrogate.mean(&r.features[i]);
                (self.gain(&r, i, mean, surrogate.spread), i, mean)
            })
            .filter(|&(bound, _, _)| bound > 0.0)
            .collect();
        bounded.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        let mut chosen: Option<(usize, f64)> = None;
        for (bound, i, mean) in bounded {
            if chosen.is_some_and(|(_, g)| g > bound) {
                break;
            }
            let g = self.gain(&r, i, mean, surrogate.std(&r.features[i]));
            let better = match chosen {
                None => g > 0.0,
                Some((at, best)) => g > best || (g == best && i < at),
            };
            if better {
                chosen = Some((i, g));
            }
        }
        chosen.map(|(i, _)| i)
    }
}

/// The surrogate and the figures an acquisition compares with, fitted for one ask.
struct Rating {
    /// The pool's features, standardised.
    features: Vec<[f64; FEATURES]>,
    surrogate: Surrogate,
    /// The observed front's steps ([`front_steps`]).
    steps: Vec<(f64, f64, f64)>,
    /// The best accuracy observed.
    best: f64,
}

impl Strategy for KnownCosts {
    fn name(&self) -> &'static str {
        match self.acquisition {
            Acquisition::Hypervolume => "ehvi",
            Acquisition::Improvement => "ei",
        }
    }

    fn wants_candidates(&self) -> bool {
        true
    }

    fn know_costs(&mut self, candidates: &[Candidate]) {
        let first = self.costed.is_empty();
        let mut within = Vec::new();
        for c in candidates {
            let text = c.genotype.to_text();
            self.costed.insert(text.clone());
            if self.latency_limit_ms.is_some_and(|l| c.latency_ms > l) {
                continue;
            }
            within.push(c.latency_ms);
            // One candidate per feature vector, the fastest: the surrogate cannot tell them
            // apart, and a slower one is never worth more. One asked already stays.
            let key = c.features.map(f64::to_bits);
            match self.by_features.get(&key) {
                Some(&i) if self.done[i] || self.pool[i].latency_ms <= c.latency_ms => {}
                Some(&i) => {
                    self.index.remove(&self.pool[i].genotype.to_text());
                    self.index.insert(text, i);
                    self.pool[i] = c.clone();
                }
                None => {
                    self.by_features.insert(key, self.pool.len());
                    self.index.insert(text, self.pool.len());
                    self.pool.push(c.clone());
                    self.done.push(false);
                }
            }
        }
        if first {
            self.median_latency_ms = quantile(&within, 0.5);
        }
    }

    fn costs_wanted(&mut self, space: &SearchSpace) -> Vec<Genotype> {
        let parents: Vec<usize> = match self.acquisition {
            Acquisition::Hypervolume => front(&self.observed, &self.pool),
            Acquisition::Improvement => {
                let mut best = self.observed.clone();
                best.sort_by(|a, b| b.1.total_cmp(&a.1));
                best.iter().take(PARENTS).map(|o| o.0).collect()
            }
        };
        let mut wanted = Vec::new();
        for p in parents {
            if !self.expanded.insert(p) {
                continue;
            }
            for n in space.neighbours(&self.pool[p].genotype) {
                if self.costed.insert(n.to_text()) {
                    wanted.push(n);
                }
            }
        }
        wanted
    }

    fn ask(&mut self, space: &SearchSpace, rng: &mut Rng) -> Genotype {
        let pick = if self.observed.len() < INITIAL {
            self.random_open(rng)
        } else {
            self.best_open().or_else(|| self.random_open(rng))
        };
        match pick {
            Some(i) => {
                self.done[i] = true;
                self.pool[i].genotype.clone()
            }
            None => space.sample(rng),
        }
    }

    fn tell(&mut self, genotype: &Genotype, outcome: Outcome) {
        let Some(&i) = self.index.get(&genotype.to_text()) else {
            return;
        };
        self.done[i] = true;
        if let Outcome::Feasible(score) = outcome {
            self.observed.push((i, score.objective));
        }
    }
}

/// The best observed candidates whose neighbours `ei` asks the costs of.
const PARENTS: usize = 3;

/// The pool indices of the observed candidates on the accuracy × latency front.
fn front(observed: &[(usize, f64)], pool: &[Candidate]) -> Vec<usize> {
    let point = |&(i, accuracy): &(usize, f64)| [-accuracy, pool[i].latency_ms];
    observed
        .iter()
        .filter(|o| !observed.iter().any(|p| dominates(&point(p), &point(o))))
        .map(|o| o.0)
        .collect()
}

/// Observations the surrogate is fitted on, at most: the most accurate half and the most
/// recent half (a fit costs the cube of its points).
const MAX_FITTED: usize = 150;

/// The observations to fit: all of them, or past [`MAX_FITTED`] the most accurate and the
/// most recent halves of that many.
fn fitted(observed: &[(usize, f64)]) -> Vec<(usize, f64)> {
    if observed.len() <= MAX_FITTED {
        return observed.to_vec();
    }
    let split = observed.len() - MAX_FITTED / 2;
    let mut older = observed[..split].to_vec();
    older.sort_by(|a, b| b.1.total_cmp(&a.1));
    older.truncate(MAX_FITTED - MAX_FITTED / 2);
    older.extend_from_slice(&observed[split..]);
    older
}

/// The `q`-quantile of `values` (the lower of the two middle values for the median of an
/// even count); 0 for none.
fn quantile(values: &[f64], q: f64) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted
        .get(((sorted.len().max(1) - 1) as f64 * q) as usize)
        .copied()
        .unwrap_or(0.0)
}

/// Each feature minus its mean, over its standard deviation (features that never vary: 0).
fn standardise(rows: Vec<[f64; FEATURES]>) -> Vec<[f64; FEATURES]> {
    let n = rows.len().max(1) as f64;
    let mut out = rows.clone();
    for f in 0..FEATURES {
        let mean = rows.iter().map(|r| r[f]).sum::<f64>() / n;
        let sd = (rows.iter().map(|r| (r[f] - mean).powi(2)).sum::<f64>() / n).sqrt();
        for r in &mut out {
            r[f] = if sd > 0.0 { (r[f] - mean) / sd } else { 0.0 };
        }
    }
    out
}

/// The front's steps above `reference` ([accuracy, latency]): `(from, to, accuracy)` for each
/// stretch of latency on which the best accuracy of the points at least that fast is
/// `accuracy` (the reference's accuracy before the first point), up to the reference latency.
fn front_steps(
    points: impl Iterator<Item = [f64; 2]>,
    reference: [f64; 2],
) -> Vec<(f64, f64, f64)> {
    let mut points: Vec<[f64; 2]> = points
        .filter(|p| p[0] > reference[0] && p[1] < reference[1])
        .collect();
    points.sort_by(|a, b| a[1].total_cmp(&b[1]));
    let (mut steps, mut level, mut from) = (Vec::new(), reference[0], 0.0);
    for [accuracy, latency] in points {
        if accuracy > level {
            steps.push((from, latency, level));
            (from, level) = (latency, accuracy);
        }
    }
    steps.push((from, reference[1], level));
    steps
}

/// The expected hypervolume a candidate of `latency` adds to the front of `steps`, its
/// accuracy normal with `mean` and `std`.
fn expected_gain(mean: f64, std: f64, latency: f64, steps: &[(f64, f64, f64)]) -> f64 {
    steps
        .iter()
        .map(|&(from, to, level)| {
            let length = (to - latency.max(from)).max(0.0);
            length * expected_excess(mean, std, level)
        })
        .sum()
}

/// `E[max(0, a − level)]` for `a` normal with `mean` and `std`: the expected improvement.
fn expected_excess(mean: f64, std: f64, level: f64) -> f64 {
    let u = (mean - level) / std;
    std * (u * normal_cdf(u) + normal_pdf(u))
}

/// A Gaussian process over standardised features with the squared-exponential kernel, its
/// lengthscale and noise chosen from a grid by marginal likelihood.
struct Surrogate {
    points: Vec<[f64; FEATURES]>,
    lengthscale: f64,
    mean: f64,
    spread: f64,
    chol: Vec<f64>,
    alpha: Vec<f64>,
}

fn squared_exponential(a: &[f64; FEATURES], b: &[f64; FEATURES], lengthscale: f64) -> f64 {
    let d: f64 = a.iter().zip(b).map(|(x, y)| (x - y).powi(2)).sum();
    (-d / (2.0 * lengthscale * lengthscale)).exp()
}

impl Surrogate {
    fn fit(points: &[&[f64; FEATURES]], values: &[f64]) -> Option<Surrogate> {
        let n = points.len();
        let mean = values.iter().sum::<f64>() / n.max(1) as f64;
        let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n.max(1) as f64;
        let spread = if var > 0.0 { var.sqrt() } else { 1.0 };
        let z: Vec<f64> = values.iter().map(|v| (v - mean) / spread).collect();
        let mut best = None;
        for lengthscale in LENGTHSCALES {
            let k: Vec<f64> = points
                .iter()
                .flat_map(|a| {
                    points
                        .iter()
                        .map(move |b| squared_exponential(a, b, lengthscale))
                })
                .collect();
            for noise in NOISES {
                if let Some(f) = factor(k.clone(), &z, noise)
                    && best
                        .as_ref()
                        .is_none_or(|(b, _): &(Factored, f64)| f.log_likelihood > b.log_likelihood)
                {
                    best = Some((f, lengthscale));
                }
            }
        }
        let (f, lengthscale) = best?;
        Some(Surrogate {
            points: points.iter().map(|p| **p).collect(),
            lengthscale,
            mean,
            spread,
            chol: f.chol,
            alpha: f.alpha,
        })
    }

    /// The kernel between `x` and each fitted point.
    fn kernel_row(&self, x: &[f64; FEATURES]) -> Vec<f64> {
        self.points
            .iter()
            .map(|p| squared_exponential(p, x, self.lengthscale))
            .collect()
    }

    /// The predicted mean at `x`.
    fn mean(&self, x: &[f64; FEATURES]) -> f64 {
        let m: f64 = self
            .kernel_row(x)
            .iter()
            .zip(&self.alpha)
            .map(|(a, b)| a * b)
            .sum();
        self.mean + self.spread * m
    }

    /// The predicted standard deviation at `x`: at most [`Surrogate::spread`], the prior's.
    fn std(&self, x: &[f64; FEATURES]) -> f64 {
        let v = solve_lower(&self.chol, self.points.len(), &self.kernel_row(x));
        let var = (1.0 - v.iter().map(|x| x * x).sum::<f64>()).max(1e-12);
        self.spread * var.sqrt()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use edgenas_model::space::load_space;

    #[test]
    fn only_the_fastest_of_indistinguishable_candidates_under_the_limit_is_proposed() {
        let space = load_space("nb201").unwrap();
        let mut rng = Rng::new(3);
        let candidate = |latency_ms: f64, feature: f64, rng: &mut Rng| Candidate {
            genotype: space.sample(rng),
            latency_ms,
            features: [feature; FEATURES],
        };
        let fast = candidate(5.0, 1.0, &mut rng);
        let slower_twin = candidate(7.0, 1.0, &mut rng);
        let too_slow = candidate(50.0, 2.0, &mut rng);
        let mut s = KnownCosts::new(Acquisition::Hypervolume, Some(20.0));
        s.know_costs(&[slower_twin, too_slow, fast.clone()]);
        assert_eq!(s.pool.len(), 1);
        assert_eq!(s.ask(&space, &mut rng), fast.genotype);
    }

    /// A strategy told `told` of `n` random candidates, scored by a smooth function of their
    /// features.
    fn told(acquisition: Acquisition, n: usize, told: usize) -> (KnownCosts, SearchSpace) {
        let space = load_space("nb201").unwrap();
        let mut rng = Rng::new(11);
        let mut s = KnownCosts::new(acquisition, None);
        let candidates: Vec<Candidate> = (0..n)
            .map(|_| Candidate {
                genotype: space.sample(&mut rng),
                latency_ms: 1.0 + 30.0 * rng.unit(),
                features: std::array::from_fn(|_| rng.unit()),
            })
            .collect();
        s.know_costs(&candidates);
        for c in s.pool.clone().iter().take(told) {
            let accuracy = 90.0 + 5.0 * (c.features[0] - c.features[1]).sin() + c.features[2];
            s.tell(&c.genotype, Outcome::feasible(accuracy));
        }
        (s, space)
    }

    #[test]
    fn the_bounded_search_chooses_the_candidate_the_acquisition_rates_highest() {
        for acquisition in [Acquisition::Hypervolume, Acquisition::Improvement] {
            for told_n in [12, 40, 90] {
                let (s, _) = told(acquisition, 400, told_n);
                let r = s.rating().unwrap();
                // Every open candidate rated exactly; the highest, the first among equals.
                let exhaustive = (0..s.pool.len())
                    .filter(|&i| !s.done[i])
                    .map(|i| {
                        let x = &r.features[i];
                        (i, s.gain(&r, i, r.surrogate.mean(x), r.surrogate.std(x)))
                    })
                    .filter(|&(_, g)| g > 0.0)
                    .fold(None, |best: Option<(usize, f64)>, (i, g)| match best {
                        Some((_, b)) if b >= g => best,
                        _ => Some((i, g)),
                    })
                    .map(|(i, _)| i);
                assert!(exhaustive.is_some());
                assert_eq!(s.best_open(), exhaustive, "{acquisition:?} {told_n}");
            }
        }
    }

    #[test]
    fn it_asks_the_costs_of_its_fronts_neighbours_once_and_keeps_what_it_asked() {
        let (mut s, space) = told(Acquisition::Hypervolume, 50, 20);
        let front = front(&s.observed, &s.pool);
        assert!(!front.is_empty());
        let wanted = s.costs_wanted(&space);
        let expected: HashSet<String> = front
            .iter()
            .flat_map(|&i| space.neighbours(&s.pool[i].genotype))
            .map(|g| g.to_text())
            .filter(|t| !s.index.contains_key(t))
            .collect();
        let texts: HashSet<String> = wanted.iter().map(|g| g.to_text()).collect();
        assert_eq!(texts, expected);
        assert_eq!(texts.len(), wanted.len(), "a genotype asked twice");
        // Asked once: not again, with nothing new told.
        assert!(s.costs_wanted(&space).is_empty());
        // A faster spelling of an asked candidate does not replace it; of an open one, does.
        let asked = s.observed[0].0;
        let open = (0..s.pool.len()).find(|&i| !s.done[i]).unwrap();
        let faster = |i: usize, genotype: Genotype| Candidate {
            genotype,
            latency_ms: s.pool[i].latency_ms / 2.0,
            features: s.pool[i].features,
        };
        let (a, b) = (
            faster(asked, wanted[0].clone()),
            faster(open, wanted[1].clone()),
        );
        let before = s.pool.len();
        s.know_costs(&[a.clone(), b.clone()]);
        assert_eq!(s.pool.len(), before);
        assert_ne!(s.pool[asked].genotype, a.genotype);
        assert_eq!(s.pool[open], b);
        assert_eq!(s.index[&b.genotype.to_text()], open);
    }

    #[test]
    fn the_expected_gain_is_the_area_a_sure_point_adds() {
        // Front: one point at 10 ms / 92 %, reference 90 % and 30 ms.
        let steps = front_steps([[92.0, 10.0]].into_iter(), [90.0, 30.0]);
        assert_eq!(steps, vec![(0.0, 10.0, 90.0), (10.0, 30.0, 92.0)]);
        // A sure 93 % at 5 ms adds 5 × 3 (5–10 ms over 90 %) + 20 × 1 (10–30 ms over 92 %).
        let gain = expected_gain(93.0, 1e-9, 5.0, &steps);
        assert!((gain - 35.0).abs() < 1e-6, "{gain}");
        // A sure point under the front adds nothing; an uncertain one a little.
        assert!(expected_gain(91.0, 1e-9, 20.0, &steps) < 1e-9);
        assert!(expected_gain(91.0, 1.0, 20.0, &steps) > 0.0);
    }
}
