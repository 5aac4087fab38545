//! Random search: uniform over the space.

use super::{Outcome, Strategy};
use edgenas_model::rng::Rng;
use edgenas_model::space::{Genotype, SearchSpace};

/// Samples every genotype uniformly (choice by choice), ignoring outcomes.
#[derive(Clone, Copy, Debug, Default)]
pub struct Random;

impl Strategy for Random {
    fn name(&self) -> &'static str {
        "random"
    }

    fn ask(&mut self, space: &SearchSpace, rng: &mut Rng) -> Genotype {
        space.sample(rng)
    }

    fn tell(&mut self, _genotype: &Genotype, _outcome: Outcome) {}
}
