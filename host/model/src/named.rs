//! Settings chosen by name: on the command line, in a study, in JSON. Each is an enum with
//! [`Named`], so the names are written once, beside the values; the command line lists them
//! with their help, and a study stores them by serde under the same names.

use std::fmt;

use serde::{Deserialize, Serialize};

/// An enum whose values have names.
pub trait Named: Copy + Sized + 'static {
    /// Every value, in the order `--help` lists them.
    const ALL: &'static [Self];
    /// The value's name.
    fn name(self) -> &'static str;
    /// One line on what the value means, for `--help`.
    fn help(self) -> &'static str;
    /// The value of that name.
    fn from_name(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|v| v.name() == name)
    }
    /// Every name, for messages: `a, b or c`.
    fn listed() -> String {
        let names: Vec<&str> = Self::ALL.iter().map(|v| v.name()).collect();
        match names.split_last() {
            Some((last, [])) => last.to_string(),
            Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
            None => String::new(),
        }
    }
}

/// The search strategies by name (`edgenas-search` builds them).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StrategyName {
    /// Uniform over the space.
    Random,
    /// Regularized (aging) evolution.
    Evolution,
    /// A policy-gradient controller.
    Reinforce,
    /// Bayesian optimisation.
    Bayes,
    /// NSGA-II.
    Nsga2,
    /// Expected hypervolume improvement over candidates of known cost.
    Ehvi,
    /// Expected improvement over candidates of known cost.
    Ei,
}

impl Named for StrategyName {
    const ALL: &'static [StrategyName] = &[
        StrategyName::Random,
        StrategyName::Evolution,
        StrategyName::Reinforce,
        StrategyName::Bayes,
        StrategyName::Nsga2,
        StrategyName::Ehvi,
        StrategyName::Ei,
    ];

    fn name(self) -> &'static str {
        match self {
            StrategyName::Random => "random",
            StrategyName::Evolution => "evolution",
            StrategyName::Reinforce => "reinforce",
            StrategyName::Bayes => "bayes",
            StrategyName::Nsga2 => "nsga2",
            StrategyName::Ehvi => "ehvi",
            StrategyName::Ei => "ei",
        }
    }

    fn help(self) -> &'static str {
        match self {
            StrategyName::Random => "Uniform over the space",
            StrategyName::Evolution => {
                "Regularized (aging) evolution: tournament selection and one-choice mutation"
            }
            StrategyName::Reinforce => {
                "A policy-gradient controller: a softmax per choice, moving-average baseline, \
                 entropy bonus"
            }
            StrategyName::Bayes => {
                "Bayesian optimisation: a Gaussian process over genotypes picks, by expected \
                 improvement and the chance of meeting the limits, which neighbour of the current \
                 best to try next, and where to restart"
            }
            StrategyName::Nsga2 => {
                "NSGA-II: a population kept by non-dominated rank and crowding distance over the \
                 objective and the costs (latency, RAM, flash), uniform crossover and mutation"
            }
            StrategyName::Ehvi => {
                "Expected hypervolume improvement of accuracy × latency: a Gaussian process over \
                 the networks' depth, layers and MACs predicts accuracy, and each query goes to \
                 the candidate whose predicted latency and accuracy add most to the front (a \
                 search first prices --candidates genotypes with the board's simulator and never \
                 proposes one over a limit); the default"
            }
            StrategyName::Ei => {
                "Expected improvement of accuracy over the candidates that meet the limits, by \
                 the same Gaussian process over the networks' depth, layers and MACs and the \
                 same priced candidates as ehvi"
            }
        }
    }
}

impl fmt::Display for StrategyName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Named for edgenas_engine::DType {
    const ALL: &'static [edgenas_engine::DType] =
        &[edgenas_engine::DType::Int8, edgenas_engine::DType::F32];

    fn name(self) -> &'static str {
        edgenas_engine::DType::name(self)
    }

    fn help(self) -> &'static str {
        match self {
            edgenas_engine::DType::Int8 => "8-bit integers: what a microcontroller deploys",
            edgenas_engine::DType::F32 => "32-bit floats",
        }
    }
}

/// Serde by name for the engine's datum type (`int8`, `f32`): `#[serde(with = ...)]`. Any other
/// name is an error, never a silent default.
pub mod dtype_by_name {
    use edgenas_engine::DType;
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    /// Writes the datum type's name.
    pub fn serialize<S: Serializer>(dtype: &DType, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(dtype.name())
    }

    /// Reads `int8` or `f32`.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DType, D::Error> {
        let name = String::deserialize(d)?;
        <DType as super::Named>::from_name(&name)
            .ok_or_else(|| D::Error::custom(format!("datum type `{name}`: expected int8 or f32")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_names_are_the_command_line_names() {
        for &s in StrategyName::ALL {
            let json = serde_json::to_string(&s).unwrap();
            assert_eq!(json, format!("\"{}\"", s.name()));
            assert_eq!(StrategyName::from_name(s.name()), Some(s));
        }
        assert_eq!(StrategyName::from_name("Bayes"), None);
    }
}
