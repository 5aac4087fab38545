//! The chance that a genotype meets the hard limits, learnt from the genotypes checked so
//! far: a naive Bayes classifier over the choices' values (with add-one smoothing). The
//! limits are on costs that grow choice by choice (channels, kernels, depth), so which
//! values of which choices break them is what there is to learn, and a per-value count
//! learns it from a handful of checks where a distance-based estimate cannot tell one choice
//! from another.

/// Counts of each choice's values among feasible and infeasible genotypes.
#[derive(Clone, Debug, Default)]
pub struct Feasibility {
    /// Per choice: value → (feasible count, infeasible count).
    counts: Vec<std::collections::HashMap<u16, (f64, f64)>>,
    feasible: f64,
    infeasible: f64,
}

impl Feasibility {
    /// Learns from one more check.
    pub fn add(&mut self, x: &[u16], ok: bool) {
        if self.counts.len() < x.len() {
            self.counts.resize_with(x.len(), Default::default);
        }
        for (d, v) in x.iter().enumerate() {
            let c = self.counts[d].entry(*v).or_default();
            if ok {
                c.0 += 1.0;
            } else {
                c.1 += 1.0;
            }
        }
        if ok {
            self.feasible += 1.0;
        } else {
            self.infeasible += 1.0;
        }
    }

    /// Whether any check failed (if none did, every genotype is taken to be feasible).
    pub fn any_infeasible(&self) -> bool {
        self.infeasible > 0.0
    }

    /// The estimated probability that `x` is feasible.
    pub fn probability(&self, x: &[u16]) -> f64 {
        if !self.any_infeasible() {
            return 1.0;
        }
        // Log-odds: prior plus each value's likelihood ratio, add-one smoothed.
        let mut log_odds = ((self.feasible + 1.0) / (self.infeasible + 1.0)).ln();
        for (d, v) in x.iter().enumerate() {
            let (ok, bad) = self
                .counts
                .get(d)
                .and_then(|m| m.get(v))
                .copied()
                .unwrap_or((0.0, 0.0));
            let values = self.counts.get(d).map_or(1, |m| m.len()).max(1) as f64 + 1.0;
            log_odds += ((ok + 1.0) / (self.feasible + values)).ln()
                - ((bad + 1.0) / (self.infeasible + values)).ln();
        }
        1.0 / (1.0 + (-log_odds).exp())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_that_always_breaks_the_limits_is_learnt() {
        let checks: Vec<(Vec<u16>, bool)> = (0..100u16)
            .map(|i| (vec![i % 4, i % 3], i % 4 != 2))
            .collect();
        let mut f = Feasibility::default();
        let mut none = Feasibility::default();
        for (x, ok) in &checks {
            f.add(x, *ok);
            none.add(x, true);
        }
        assert!(f.probability(&[2, 0]) < 0.1, "{}", f.probability(&[2, 0]));
        assert!(f.probability(&[1, 0]) > 0.9, "{}", f.probability(&[1, 0]));
        assert_eq!(none.probability(&[2, 0]), 1.0);
    }
}
