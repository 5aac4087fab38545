//! Regularized (aging) evolution (Real et al., 2019).

use std::collections::VecDeque;

use super::{Outcome, Score, Strategy};
use edgenas_model::rng::Rng;
use edgenas_model::space::{Genotype, SearchSpace};

/// Keeps the last `population` feasible genotypes; until it is full it samples at random,
/// then it draws `sample` members, mutates the best of them in one choice, and the oldest
/// member leaves when a new one arrives. Infeasible genotypes never join the population.
#[derive(Clone, Debug)]
pub struct Evolution {
    /// How many genotypes the population holds.
    pub population: usize,
    /// How many members a tournament draws.
    pub sample: usize,
    members: VecDeque<(Genotype, f64)>,
}

impl Default for Evolution {
    fn default() -> Evolution {
        Evolution::new(20, 5)
    }
}

impl Evolution {
    /// An empty population of `population` genotypes with tournaments of `sample`.
    pub fn new(population: usize, sample: usize) -> Evolution {
        Evolution {
            population: population.max(1),
            sample: sample.clamp(1, population.max(1)),
            members: VecDeque::new(),
        }
    }
}

impl Strategy for Evolution {
    fn name(&self) -> &'static str {
        "evolution"
    }

    fn ask(&mut self, space: &SearchSpace, rng: &mut Rng) -> Genotype {
        if self.members.len() < self.population {
            return space.sample(rng);
        }
        let best = (0..self.sample)
            .map(|_| &self.members[rng.below(self.members.len())])
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .expect("the tournament draws at least one member");
        space.mutate(&best.0, rng)
    }

    fn tell(&mut self, genotype: &Genotype, outcome: Outcome) {
        if let Outcome::Feasible(Score { objective, .. }) = outcome {
            self.members.push_back((genotype.clone(), objective));
            if self.members.len() > self.population {
                self.members.pop_front();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use edgenas_model::space::load_space;

    #[test]
    fn the_population_ages_and_infeasible_genotypes_never_join() {
        let space = load_space("nb201").unwrap();
        let mut rng = Rng::new(1);
        let mut e = Evolution::new(5, 2);
        for _ in 0..10 {
            let g = e.ask(&space, &mut rng);
            e.tell(&g, Outcome::Infeasible);
        }
        assert!(e.members.is_empty());
        for i in 0..8 {
            let g = e.ask(&space, &mut rng);
            e.tell(&g, Outcome::feasible(i as f64));
        }
        // The oldest three left: the population holds the last five.
        let kept: Vec<f64> = e.members.iter().map(|m| m.1).collect();
        assert_eq!(kept, vec![3.0, 4.0, 5.0, 6.0, 7.0]);
    }

    #[test]
    fn a_full_population_is_mutated_one_choice_at_a_time() {
        let space = load_space("nb201").unwrap();
        let mut rng = Rng::new(2);
        let mut e = Evolution::new(3, 3);
        let members: Vec<Genotype> = (0..3).map(|_| space.sample(&mut rng)).collect();
        for (i, g) in members.iter().enumerate() {
            e.tell(g, Outcome::feasible(i as f64));
        }
        // Every child is a member changed in exactly one choice.
        let differing =
            |a: &Genotype, b: &Genotype| a.iter().zip(b.iter()).filter(|(x, y)| x != y).count();
        for _ in 0..20 {
            let child = e.ask(&space, &mut rng);
            assert!(members.iter().any(|m| differing(&child, m) == 1), "{child}");
        }
    }
}
