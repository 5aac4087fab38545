//! The arguments that pick one candidate: a space and a genotype (given or random).

use anyhow::Result;
use edgenas::rng::Rng;
use edgenas::space::{Genotype, SearchSpace, load_space};

/// `--space` with `--genotype G` or `--random [--seed N]`.
#[derive(Debug, clap::Args)]
#[command(group = clap::ArgGroup::new("which").required(true).args(["genotype", "random"]))]
pub struct CandidateArgs {
    /// The search space: a shipped name or a path to a `.toml` file.
    #[arg(long)]
    pub space: String,
    /// The genotype: a JSON object (`{"s1.depth": 2, …}`), the text form (`s1.depth=2,…`), or
    /// an NB201 architecture string for the nb201 space.
    #[arg(long)]
    pub genotype: Option<String>,
    /// Take a random genotype instead (see --seed).
    #[arg(long)]
    pub random: bool,
    /// Seed of the random genotype (`train` also seeds the split, the initial weights and the
    /// sample order with it: the same seed repeats a run on one machine).
    #[arg(long, default_value_t = 0, value_parser = super::numbers::seed)]
    pub seed: u64,
}

impl CandidateArgs {
    /// Reads the space and the genotype.
    pub fn load(&self) -> Result<(SearchSpace, Genotype)> {
        let space = load_space(&self.space)?;
        let genotype = match &self.genotype {
            Some(text) => space.parse_genotype(text)?,
            None => space.sample(&mut Rng::new(self.seed)),
        };
        Ok((space, genotype))
    }
}
