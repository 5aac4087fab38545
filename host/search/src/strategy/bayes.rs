//! Bayesian optimisation with a local acquisition: a Gaussian process over genotypes with a
//! kernel weight per choice (see [`super::gp`]) chooses, by expected improvement times the
//! estimated chance of meeting the limits, which neighbour of the current centre to evaluate
//! next; the centre moves to the first neighbour that beats it, and when every neighbour of a
//! centre has been tried the search restarts from the best of a random pool under the same
//! acquisition.
//!
//! This is trust-region Bayesian optimisation for categorical spaces (CASMOPOLITAN, Wan et
//! al. 2021) with a trust region of one choice: on NAS benchmarks a surrogate proposing
//! far-away genotypes loses to local search (White et al., "Local search is state of the art
//! for NAS benchmarks", 2020), while the surrogate still orders the neighbours and picks the
//! restarts.

use std::collections::HashSet;

use super::feasibility::Feasibility;
use super::gp::{Encoding, Gp, encode};
use super::{Outcome, Score, Strategy};
use edgenas_model::rng::Rng;
use edgenas_model::space::{Genotype, SearchSpace};

/// Observations the surrogate is fitted on at most: the best half and the most recent half
/// of this many (the fit is cubic in it; this keeps `ask` within milliseconds).
const MAX_FITTED: usize = 100;
/// The surrogate's hyperparameters are searched on the grid again after this many new
/// observations (between, the per-choice weights climb one step per fit).
const REGRID_EVERY: usize = 10;

/// The Bayesian strategy.
#[derive(Clone, Debug)]
pub struct Bayes {
    /// Random genotypes evaluated before the surrogate is used.
    pub initial: usize,
    /// Random genotypes scored to choose a restart.
    pub pool: usize,
    /// Feasible observations: genotype and objective.
    observed: Vec<(Genotype, f64)>,
    /// The encodings of the first observations (encoding needs the space, which `tell` does
    /// not have: `ask` encodes what arrived since).
    encoded: Vec<Encoding>,
    /// Genotypes told since the last ask, and whether each was feasible.
    unlearnt: Vec<(Genotype, bool)>,
    /// What the checks so far say about the limits.
    feasibility: Feasibility,
    tried: HashSet<String>,
    /// The genotype the local search moves from, and its objective (−∞ if infeasible).
    centre: Option<(Genotype, f64)>,
    /// A restart was asked: its outcome becomes the centre.
    restarting: Option<String>,
    model: Option<Gp>,
    fitted_at: usize,
}

impl Default for Bayes {
    fn default() -> Bayes {
        Bayes {
            initial: 5,
            pool: 300,
            observed: Vec::new(),
            encoded: Vec::new(),
            unlearnt: Vec::new(),
            feasibility: Feasibility::default(),
            tried: HashSet::new(),
            centre: None,
            restarting: None,
            model: None,
            fitted_at: 0,
        }
    }
}

impl Bayes {
    /// Encodes what was told since the last ask, and refits the surrogate when observations
    /// arrived since the last fit.
    fn refresh(&mut self, space: &SearchSpace) {
        for (g, ok) in std::mem::take(&mut self.unlearnt) {
            self.feasibility.add(&encode(space, &g), ok);
        }
        for i in self.encoded.len()..self.observed.len() {
            self.encoded.push(encode(space, &self.observed[i].0));
        }
        let n = self.observed.len();
        if self.model.is_some() && self.fitted_at == n {
            return;
        }
        let mut chosen: Vec<usize> = (0..n).collect();
        if n > MAX_FITTED {
            let mut by_value = chosen.clone();
            by_value.sort_by(|&a, &b| self.observed[b].1.total_cmp(&self.observed[a].1));
            let mut keep: HashSet<usize> = by_value[..MAX_FITTED / 2].iter().copied().collect();
            keep.extend(n - MAX_FITTED / 2..n);
            chosen = keep.into_iter().collect();
            chosen.sort_unstable();
        }
        let points: Vec<Encoding> = chosen.iter().map(|&i| self.encoded[i].clone()).collect();
        let values: Vec<f64> = chosen.iter().map(|&i| self.observed[i].1).collect();
        let regrid = self.model.is_none() || n / REGRID_EVERY != self.fitted_at / REGRID_EVERY;
        let previous = self.model.as_ref().map(|m| m.hyper.clone());
        // Previous hyperparameters that no longer fit (not positive definite) give way to
        // the grid's.
        self.model = Gp::fit(points.clone(), &values, previous, regrid)
            .or_else(|| Gp::fit(points, &values, None, true));
        self.fitted_at = n;
    }

    /// The candidate with the best expected improvement times the chance of meeting the
    /// limits, among those more likely than not to meet them if there are any: bigger
    /// networks are both better and likelier to break a limit, so without that rule the
    /// improvement expected from an infeasible neighbour outweighs its small chance.
    fn best_of(&self, space: &SearchSpace, candidates: Vec<Genotype>) -> Option<Genotype> {
        let model = self.model.as_ref()?;
        let feasibility = &self.feasibility;
        candidates
            .into_iter()
            .map(|g| {
                let x = encode(space, &g);
                let p = feasibility.probability(&x);
                (g, (p >= 0.5, model.predict(&x).expected_improvement * p))
            })
            .max_by(|a, b| a.1.0.cmp(&b.1.0).then(a.1.1.total_cmp(&b.1.1)))
            .map(|(g, _)| g)
    }

    /// A random genotype not tried yet (or any, after many attempts: the space is nearly
    /// exhausted).
    fn fresh_sample(&self, space: &SearchSpace, rng: &mut Rng) -> Genotype {
        let mut g = space.sample(rng);
        for _ in 0..100 {
            if !self.tried.contains(&g.to_text()) {
                break;
            }
            g = space.sample(rng);
        }
        g
    }
}

impl Strategy for Bayes {
    fn name(&self) -> &'static str {
        "bayes"
    }

    fn ask(&mut self, space: &SearchSpace, rng: &mut Rng) -> Genotype {
        if self.observed.len() < self.initial {
            return self.fresh_sample(space, rng);
        }
        self.refresh(space);
        if self.centre.is_none() {
            self.centre = self
                .observed
                .iter()
                .max_by(|a, b| a.1.total_cmp(&b.1))
                .cloned();
        }
        let centre = self.centre.as_ref().map(|c| &c.0).expect("set above");
        let untried: Vec<Genotype> = space
            .neighbours(centre)
            .into_iter()
            .filter(|g| !self.tried.contains(&g.to_text()))
            .collect();
        if let Some(g) = self.best_of(space, untried) {
            return g;
        }
        // Every neighbour tried: restart.
        let pool: Vec<Genotype> = (0..self.pool)
            .map(|_| space.sample(rng))
            .filter(|g| !self.tried.contains(&g.to_text()))
            .collect();
        let g = self
            .best_of(space, pool)
            .unwrap_or_else(|| self.fresh_sample(space, rng));
        self.restarting = Some(g.to_text());
        g
    }

    fn tell(&mut self, genotype: &Genotype, outcome: Outcome) {
        let text = genotype.to_text();
        let value = match outcome {
            Outcome::Feasible(s) => s.objective,
            Outcome::Infeasible => f64::NEG_INFINITY,
        };
        if let Outcome::Feasible(Score { objective: v, .. }) = outcome {
            self.observed.push((genotype.clone(), v));
        }
        self.unlearnt
            .push((genotype.clone(), matches!(outcome, Outcome::Feasible(_))));
        self.tried.insert(text.clone());
        let restart = self.restarting.as_deref() == Some(text.as_str());
        if restart {
            self.restarting = None;
        }
        if restart || self.centre.as_ref().is_some_and(|c| value > c.1) {
            self.centre = Some((genotype.clone(), value));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use edgenas_model::space::load_space;

    /// A smooth objective on NB-201: the number of 3×3 convolutions.
    fn convs(g: &Genotype) -> f64 {
        g.iter()
            .filter(|(_, v)| v.to_string() == "nor_conv_3x3")
            .count() as f64
    }

    #[test]
    fn it_climbs_a_smooth_objective_without_asking_twice() {
        let space = load_space("nb201").unwrap();
        let mut rng = Rng::new(3);
        let mut b = Bayes::default();
        let mut seen = HashSet::new();
        let mut best: f64 = 0.0;
        for _ in 0..40 {
            let g = b.ask(&space, &mut rng);
            assert!(seen.insert(g.to_text()), "asked twice: {g}");
            best = best.max(convs(&g));
            b.tell(&g, Outcome::feasible(convs(&g)));
        }
        // Random search finds all six in 40 draws with probability 40/5^6 ≈ 0.3 %.
        assert_eq!(best, 6.0);
    }

    #[test]
    fn it_learns_to_avoid_infeasible_genotypes() {
        let space = load_space("nb201").unwrap();
        let mut rng = Rng::new(4);
        let mut b = Bayes::default();
        // Infeasible: any 3×3 convolution on the first edge. Objective: convolutions.
        let infeasible = |g: &Genotype| g.get("e0").unwrap().to_string() == "nor_conv_3x3";
        let mut late_infeasible = 0;
        for i in 0..60 {
            let g = b.ask(&space, &mut rng);
            if infeasible(&g) {
                late_infeasible += usize::from(i >= 30);
                b.tell(&g, Outcome::Infeasible);
            } else {
                b.tell(&g, Outcome::feasible(convs(&g)));
            }
        }
        // Uniform sampling would propose e0 = 3×3 one time in five (6 of 30).
        assert!(late_infeasible <= 3, "{late_infeasible}");
        let best = b.observed.iter().map(|o| o.1).fold(0.0, f64::max);
        assert_eq!(best, 5.0, "the best feasible genotype has five");
    }
}
