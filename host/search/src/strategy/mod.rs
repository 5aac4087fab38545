//! Search strategies behind one small ask/tell trait, all seeded.
//!
//! A strategy proposes a genotype (`ask`) and learns the outcome of every genotype it
//! proposed (`tell`): an objective to maximise, or that the genotype broke a hard limit and
//! was never trained. So far: [`Random`], regularized [`Evolution`], the policy-gradient
//! [`Reinforce`], the Bayesian [`Bayes`] and the multi-objective [`Nsga2`].

mod bayes;
mod evolution;
mod feasibility;
pub mod features;
pub(crate) mod gp;
mod known_costs;
mod nsga2;
pub mod pareto;
mod random;
mod reinforce;
pub mod replay;

pub use bayes::Bayes;
pub use evolution::Evolution;
pub use known_costs::{Acquisition, KnownCosts};
pub use nsga2::Nsga2;
pub use random::Random;
pub use reinforce::Reinforce;

use edgenas_model::rng::Rng;
use edgenas_model::space::{Genotype, SearchSpace};

/// What an evaluated genotype scored: the objective to maximise and the costs to minimise.
/// Single-objective strategies read the objective; the Pareto strategy reads all four.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Score {
    /// Higher is better (validation accuracy).
    pub objective: f64,
    /// Latency in milliseconds (0 where it is not an objective).
    pub latency_ms: f64,
    /// Peak RAM in bytes (0 where it is not an objective).
    pub ram_bytes: f64,
    /// Flash in bytes (0 where it is not an objective).
    pub flash_bytes: f64,
}

impl Score {
    /// The costs, in the order latency, RAM, flash.
    pub fn costs(&self) -> [f64; 3] {
        [self.latency_ms, self.ram_bytes, self.flash_bytes]
    }
}

/// What became of a genotype a strategy proposed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Outcome {
    /// Evaluated.
    Feasible(Score),
    /// Broke a hard limit: never trained.
    Infeasible,
}

impl Outcome {
    /// Evaluated with `objective` alone (no cost is an objective).
    pub fn feasible(objective: f64) -> Outcome {
        Outcome::Feasible(Score {
            objective,
            latency_ms: 0.0,
            ram_bytes: 0.0,
            flash_bytes: 0.0,
        })
    }
}

/// A genotype whose costs are known before any training: what a strategy may choose among
/// ([`Strategy::know_costs`]).
#[derive(Clone, Debug, PartialEq)]
pub struct Candidate {
    /// The genotype.
    pub genotype: Genotype,
    /// Its latency in milliseconds.
    pub latency_ms: f64,
    /// Its network's [`features::network_features`].
    pub features: [f64; features::FEATURES],
}

/// A search strategy.
pub trait Strategy {
    /// The strategy's name (`random`, `evolution`).
    fn name(&self) -> &'static str;
    /// Whether the strategy chooses among candidates of known cost ([`Strategy::know_costs`]):
    /// a search then works them out before its first ask.
    fn wants_candidates(&self) -> bool {
        false
    }
    /// Candidates whose costs are known (a table's rows in a replay, genotypes whose latency a
    /// search predicted), before the first ask. Only [`KnownCosts`] uses them; the others
    /// ignore them.
    fn know_costs(&mut self, _candidates: &[Candidate]) {}
    /// Genotypes whose costs the strategy would like to know before its next ask (those near
    /// its best so far); the caller works them out and passes those within the limits to
    /// [`Strategy::know_costs`]. Each is asked for once.
    fn costs_wanted(&mut self, _space: &SearchSpace) -> Vec<Genotype> {
        Vec::new()
    }
    /// The next genotype to evaluate.
    fn ask(&mut self, space: &SearchSpace, rng: &mut Rng) -> Genotype;
    /// The outcome of a genotype (asked before, or read from a study's history).
    fn tell(&mut self, genotype: &Genotype, outcome: Outcome);
}

pub use edgenas_model::named::StrategyName;

/// A fresh strategy of that name with its default settings. `latency_target_ms` (the search's
/// latency limit) is the target of REINFORCE's MnasNet reward and leaves the slower candidates
/// out of [`KnownCosts`]; the others ignore it.
pub fn strategy(name: StrategyName, latency_target_ms: Option<f64>) -> Box<dyn Strategy> {
    match name {
        StrategyName::Random => Box::new(Random),
        StrategyName::Evolution => Box::new(Evolution::default()),
        StrategyName::Reinforce => {
            let mut r = Reinforce::default();
            r.latency_target_ms = latency_target_ms;
            Box::new(r)
        }
        StrategyName::Bayes => Box::new(Bayes::default()),
        StrategyName::Nsga2 => Box::new(Nsga2::default()),
        StrategyName::Ehvi => {
            Box::new(KnownCosts::new(Acquisition::Hypervolume, latency_target_ms))
        }
        StrategyName::Ei => Box::new(KnownCosts::new(Acquisition::Improvement, latency_target_ms)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use edgenas_model::named::Named;
    use edgenas_model::space::load_space;

    /// Asks `n` genotypes of `space` from `name` seeded with `seed`, telling each one an
    /// outcome (every third infeasible) and, first, one genotype it never asked.
    fn session(name: StrategyName, space: &SearchSpace, seed: u64, n: usize) -> Vec<String> {
        let mut s = strategy(name, Some(3.0));
        let mut rng = Rng::new(seed);
        let stranger = space.sample(&mut Rng::new(seed + 1000));
        s.tell(&stranger, Outcome::feasible(1.0));
        (0..n)
            .map(|i| {
                let g = s.ask(space, &mut rng);
                let text = g.to_text();
                let parsed = space
                    .parse_genotype(&text)
                    .expect("a genotype of the space");
                assert_eq!(parsed.to_text(), text);
                let outcome = if i % 3 == 2 {
                    Outcome::Infeasible
                } else {
                    Outcome::Feasible(Score {
                        objective: (text.len() % 17) as f64,
                        latency_ms: (text.len() % 5) as f64,
                        ram_bytes: 1.0,
                        flash_bytes: 1.0,
                    })
                };
                s.tell(&g, outcome);
                text
            })
            .collect()
    }

    #[test]
    fn every_strategy_keeps_the_ask_tell_contract_and_is_seeded() {
        for space in ["nb201", "mobilenetv2-tiny"] {
            let space = load_space(space).unwrap();
            for &name in StrategyName::ALL {
                let a = session(name, &space, 7, 60);
                assert_eq!(a, session(name, &space, 7, 60), "{name:?} is not seeded");
                assert_ne!(a, session(name, &space, 8, 60), "{name:?} ignores its seed");
            }
        }
    }
}
