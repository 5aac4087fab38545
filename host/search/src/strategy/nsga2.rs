//! NSGA-II (Deb et al. 2002), steady state: the objective is maximised and latency, RAM and
//! flash minimised together.

use std::collections::HashSet;

use super::pareto::{crowding, fronts};
use super::{Outcome, Score, Strategy};
use edgenas_model::rng::Rng;
use edgenas_model::space::{Genotype, SearchSpace};

/// Keeps the `population` best feasible genotypes by non-dominated rank and crowding
/// distance. Until it is full it samples at random; then each child is a uniform crossover of
/// two parents chosen by binary tournaments (lower rank, then larger crowding distance wins),
/// mutated in one choice with probability `mutation`, and always when the crossover gave a
/// genotype already tried. Infeasible genotypes never join (constrained domination: any
/// feasible genotype beats any infeasible one).
#[derive(Clone, Debug)]
pub struct Nsga2 {
    /// How many genotypes the population holds.
    pub population: usize,
    /// The chance that a child is mutated after the crossover.
    pub mutation: f64,
    evaluated: Vec<(Genotype, Vec<f64>)>,
    tried: HashSet<String>,
    /// The population: indices into `evaluated` with (rank, crowding distance); newcomers
    /// join unranked until the next `select`.
    members: Vec<(usize, usize, f64)>,
    stale: bool,
}

impl Default for Nsga2 {
    fn default() -> Nsga2 {
        Nsga2::new(20, 0.5)
    }
}

impl Nsga2 {
    /// An empty population of `population` genotypes.
    pub fn new(population: usize, mutation: f64) -> Nsga2 {
        Nsga2 {
            population: population.max(2),
            mutation,
            evaluated: Vec::new(),
            tried: HashSet::new(),
            members: Vec::new(),
            stale: false,
        }
    }

    /// Ranks the population by non-dominated front and crowding distance, best first, and
    /// drops the worst members beyond `population` (steady state: each new member joins and
    /// the worst of the population and the newcomer leaves).
    fn select(&mut self) {
        let points: Vec<Vec<f64>> = self
            .members
            .iter()
            .map(|m| self.evaluated[m.0].1.clone())
            .collect();
        let mut ranked = Vec::with_capacity(self.members.len());
        for (rank, front) in fronts(&points).into_iter().enumerate() {
            let distance = crowding(&points, &front);
            let mut level: Vec<(usize, usize, f64)> = front
                .iter()
                .zip(distance)
                .map(|(&i, d)| (self.members[i].0, rank, d))
                .collect();
            level.sort_by(|a, b| b.2.total_cmp(&a.2));
            ranked.extend(level);
        }
        ranked.truncate(self.population);
        self.members = ranked;
        self.stale = false;
    }

    /// The winner of a binary tournament.
    fn tournament(&self, rng: &mut Rng) -> &Genotype {
        let a = &self.members[rng.below(self.members.len())];
        let b = &self.members[rng.below(self.members.len())];
        let better = if (a.1, -a.2) <= (b.1, -b.2) { a } else { b };
        &self.evaluated[better.0].0
    }
}

/// The vector NSGA-II minimises for `score`.
fn minimised(score: &Score) -> Vec<f64> {
    let mut v = vec![-score.objective];
    v.extend(score.costs());
    v
}

impl Strategy for Nsga2 {
    fn name(&self) -> &'static str {
        "nsga2"
    }

    fn ask(&mut self, space: &SearchSpace, rng: &mut Rng) -> Genotype {
        if self.evaluated.len() < self.population {
            return space.sample(rng);
        }
        if self.stale {
            self.select();
        }
        let (p, q) = (self.tournament(rng).clone(), self.tournament(rng).clone());
        let mut child = space.build(|c| {
            let pick = if rng.unit() < 0.5 { &p } else { &q };
            pick.get(&c.name)
                .or_else(|| p.get(&c.name))
                .or_else(|| q.get(&c.name))
                .cloned()
                .unwrap_or_else(|| c.domain.get(rng.below(c.domain.len())))
        });
        if rng.unit() < self.mutation {
            child = space.mutate(&child, rng);
        }
        for _ in 0..20 {
            if !self.tried.contains(&child.to_text()) {
                break;
            }
            child = space.mutate(&child, rng);
        }
        child
    }

    fn tell(&mut self, genotype: &Genotype, outcome: Outcome) {
        self.tried.insert(genotype.to_text());
        if let Outcome::Feasible(score) = outcome {
            self.evaluated.push((genotype.clone(), minimised(&score)));
            self.members.push((self.evaluated.len() - 1, 0, 0.0));
            self.stale = true;
            if self.members.len() > 2 * self.population {
                // A long history told at once: keep the population bounded.
                self.select();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use edgenas_model::space::load_space;

    #[test]
    fn the_population_keeps_the_front() {
        let space = load_space("nb201").unwrap();
        let mut rng = Rng::new(5);
        let mut s = Nsga2::new(4, 0.5);
        // Accuracy and latency both grow with 3×3 convolutions: every count is on the front.
        let convs = |g: &Genotype| {
            g.iter()
                .filter(|(_, v)| v.to_string() == "nor_conv_3x3")
                .count() as f64
        };
        let mut told = Vec::new();
        for _ in 0..60 {
            let g = s.ask(&space, &mut rng);
            let c = convs(&g);
            s.tell(
                &g,
                Outcome::Feasible(Score {
                    objective: c,
                    latency_ms: c,
                    ram_bytes: 0.0,
                    flash_bytes: 0.0,
                }),
            );
            told.push(c);
        }
        s.select();
        assert!(s.members.iter().all(|m| m.1 == 0), "{:?}", s.members);
        // The extremes of the front are kept.
        let kept: Vec<f64> = s.members.iter().map(|m| -s.evaluated[m.0].1[0]).collect();
        let (lo, hi) = told
            .iter()
            .fold((f64::MAX, f64::MIN), |a, &c| (a.0.min(c), a.1.max(c)));
        assert!(kept.contains(&lo) && kept.contains(&hi), "{kept:?}");
    }
}
