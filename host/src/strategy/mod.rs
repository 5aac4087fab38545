//! Search strategies behind one small ask/tell trait, all seeded.
//!
//! A strategy proposes a genotype (`ask`) and learns the outcome of every genotype it
//! proposed (`tell`): an objective to maximise, or that the genotype broke a hard limit and
//! was never trained. So far: [`Random`], regularized [`Evolution`], the policy-gradient
//! [`Reinforce`] and the Bayesian [`Bayes`]; the Pareto strategy follows.

mod bayes;
mod evolution;
mod feasibility;
mod gp;
mod random;
mod reinforce;
pub mod replay;

pub use bayes::Bayes;
pub use evolution::Evolution;
pub use random::Random;
pub use reinforce::Reinforce;

use crate::rng::Rng;
use crate::space::{Genotype, SearchSpace};

/// What became of a genotype a strategy proposed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Outcome {
    /// Evaluated: the objective, higher is better (validation accuracy).
    Feasible(f64),
    /// Broke a hard limit: never trained.
    Infeasible,
}

/// A search strategy.
pub trait Strategy {
    /// The strategy's name (`random`, `evolution`).
    fn name(&self) -> &'static str;
    /// The next genotype to evaluate.
    fn ask(&mut self, space: &SearchSpace, rng: &mut Rng) -> Genotype;
    /// The outcome of a genotype (asked before, or read from a study's history).
    fn tell(&mut self, genotype: &Genotype, outcome: Outcome);
}

/// The strategies by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum StrategyName {
    /// Uniform over the space.
    Random,
    /// Regularized (aging) evolution: tournament selection and one-choice mutation.
    Evolution,
    /// A policy-gradient controller: a softmax per choice, moving-average baseline, entropy
    /// bonus.
    Reinforce,
    /// Bayesian optimisation: a Gaussian process over genotypes picks, by expected
    /// improvement and the chance of meeting the limits, which neighbour of the current best
    /// to try next, and where to restart.
    Bayes,
}

/// A fresh strategy of that name with its default settings.
pub fn strategy(name: StrategyName) -> Box<dyn Strategy> {
    match name {
        StrategyName::Random => Box::new(Random),
        StrategyName::Evolution => Box::new(Evolution::default()),
        StrategyName::Reinforce => Box::new(Reinforce::default()),
        StrategyName::Bayes => Box::new(Bayes::default()),
    }
}
