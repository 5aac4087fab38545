//! Genotypes: one point of a search space.
//!
//! A genotype holds a value for every *active* choice (one whose condition holds), in the
//! space's declaration order. Its canonical text form is `name=value,name=value`; its JSON form
//! is an object with the same keys in the same order; its hash is FNV-1a (64 bits) of the text.

use std::collections::HashMap;
use std::fmt;

use super::{Choice, GenotypeError, SearchSpace, Value};
use crate::rng::Rng;

/// The values of a space's active choices.
#[derive(Clone, Debug, PartialEq)]
pub struct Genotype {
    values: Vec<(String, Value)>,
}

impl Genotype {
    /// The value of a choice, if it is active.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.values.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    /// `(choice, value)` pairs in declaration order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.values.iter().map(|(n, v)| (n.as_str(), v))
    }

    /// The canonical text form: `name=value` pairs joined by commas.
    pub fn to_text(&self) -> String {
        self.to_string()
    }

    /// The JSON form: an object in declaration order.
    pub fn to_json(&self) -> serde_json::Value {
        let map = self
            .values
            .iter()
            .map(|(n, v)| (n.clone(), v.to_json()))
            .collect::<serde_json::Map<_, _>>();
        serde_json::Value::Object(map)
    }

    /// A stable hash of the canonical text (FNV-1a, 64 bits, 16 hex digits), for
    /// de-duplication.
    pub fn hash(&self) -> String {
        format!("{:016x}", crate::rng::fnv1a(self.to_text().as_bytes()))
    }
}

impl fmt::Display for Genotype {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (n, v)) in self.values.iter().enumerate() {
            if i > 0 {
                write!(f, ",")?;
            }
            write!(f, "{n}={v}")?;
        }
        Ok(())
    }
}

impl SearchSpace {
    /// Walks the choices in order and asks `pick` for the value of each active one (given the
    /// choices decided so far, conditions decide which are active): how strategies that
    /// choose value by value (a policy) build a genotype.
    pub fn build(&self, mut pick: impl FnMut(&Choice) -> Value) -> Genotype {
        // The value of each choice decided so far, by the choice's position.
        let position: HashMap<&str, usize> = self
            .choices
            .iter()
            .enumerate()
            .map(|(i, c)| (c.name.as_str(), i))
            .collect();
        let mut decided: Vec<Option<Value>> = vec![None; self.choices.len()];
        for (i, choice) in self.choices.iter().enumerate() {
            let active = choice
                .condition
                .holds_with(|name| position.get(name).and_then(|&k| decided[k].as_ref()));
            if active {
                decided[i] = Some(pick(choice));
            }
        }
        let values = self
            .choices
            .iter()
            .zip(decided)
            .filter_map(|(c, v)| v.map(|v| (c.name.clone(), v)))
            .collect();
        Genotype { values }
    }

    /// The genotype that takes the first value of every choice.
    pub fn first_genotype(&self) -> Genotype {
        self.build(|c| c.domain.get(0))
    }

    /// A uniformly random value for every active choice.
    pub fn sample(&self, rng: &mut Rng) -> Genotype {
        self.build(|c| c.domain.get(rng.below(c.domain.len())))
    }

    /// Up to `n` distinct genotypes drawn as [`SearchSpace::sample`] draws them, in the order
    /// drawn; after 4n draws it stops with what it has (of a space no larger than n, nearly
    /// all: each genotype of probability p is missed with probability about e^(−4np)).
    pub fn sample_distinct(&self, n: usize, rng: &mut Rng) -> Vec<Genotype> {
        let mut seen = std::collections::HashSet::new();
        let mut out = Vec::new();
        for _ in 0..n.saturating_mul(4) {
            if out.len() == n {
                break;
            }
            let g = self.sample(rng);
            if seen.insert(g.to_text()) {
                out.push(g);
            }
        }
        out
    }

    /// Changes one active choice that has more than one value to another of its values, keeps
    /// every other value, and samples the choices that the change makes active.
    pub fn mutate(&self, g: &Genotype, rng: &mut Rng) -> Genotype {
        let mutable: Vec<&Choice> = self
            .choices
            .iter()
            .filter(|c| g.get(&c.name).is_some() && c.domain.len() > 1)
            .collect();
        if mutable.is_empty() {
            return g.clone();
        }
        let target = mutable[rng.below(mutable.len())];
        let old = target
            .domain
            .index_of(g.get(&target.name).unwrap())
            .unwrap();
        let new = (old + 1 + rng.below(target.domain.len() - 1)) % target.domain.len();
        self.build(|c| {
            if c.name == target.name {
                c.domain.get(new)
            } else if let Some(v) = g.get(&c.name) {
                v.clone()
            } else {
                c.domain.get(rng.below(c.domain.len()))
            }
        })
    }

    /// Every genotype that differs from `g` in the value of exactly one active choice. Choices
    /// that the change makes active take their first value.
    pub fn neighbours(&self, g: &Genotype) -> Vec<Genotype> {
        let mut out = Vec::new();
        for target in self.choices.iter().filter(|c| g.get(&c.name).is_some()) {
            let current = g.get(&target.name).unwrap();
            for v in target.domain.values().filter(|v| !v.same_as(current)) {
                out.push(self.build(|c| {
                    if c.name == target.name {
                        v.clone()
                    } else {
                        g.get(&c.name).cloned().unwrap_or_else(|| c.domain.get(0))
                    }
                }));
            }
        }
        out
    }

    /// Checks `(choice, value)` pairs against the space: every active choice has a value of
    /// its domain, and nothing else is given.
    pub fn genotype_from_pairs(
        &self,
        pairs: &[(String, Value)],
    ) -> Result<Genotype, GenotypeError> {
        let err = |message: String| GenotypeError {
            space: self.name.clone(),
            message,
        };
        for (name, _) in pairs {
            if self.choice(name).is_none() {
                let names: Vec<&str> = self.choices.iter().map(|c| c.name.as_str()).collect();
                return Err(err(format!(
                    "unknown choice `{name}`; the choices are: {}",
                    names.join(", ")
                )));
            }
        }
        let given = |name: &str| pairs.iter().find(|(n, _)| n == name).map(|(_, v)| v);
        let mut problem = None;
        let g = self.build(|c| match given(&c.name) {
            Some(v) if c.domain.index_of(v).is_some() => {
                c.domain.get(c.domain.index_of(v).unwrap())
            }
            Some(v) => {
                problem.get_or_insert(format!(
                    "choice `{}` = {v} is not one of {}",
                    c.name,
                    c.domain.describe()
                ));
                c.domain.get(0)
            }
            None => {
                problem.get_or_insert(format!(
                    "choice `{}` needs a value, one of {}",
                    c.name,
                    c.domain.describe()
                ));
                c.domain.get(0)
            }
        });
        if let Some(p) = problem {
            return Err(err(p));
        }
        if let Some((name, _)) = pairs.iter().find(|(n, _)| g.get(n).is_none()) {
            let cond = &self.choice(name).unwrap().condition;
            return Err(err(format!(
                "choice `{name}` does not exist in this genotype: it exists only when {cond}"
            )));
        }
        Ok(g)
    }

    /// Reads a genotype from its JSON object form.
    pub fn genotype_from_json(&self, json: &serde_json::Value) -> Result<Genotype, GenotypeError> {
        let err = |message: String| GenotypeError {
            space: self.name.clone(),
            message,
        };
        let obj = json.as_object().ok_or_else(|| {
            err("a genotype in JSON is an object such as {\"s1.depth\": 2}".into())
        })?;
        let pairs = obj
            .iter()
            .map(|(k, v)| {
                Value::from_json(v).map(|v| (k.clone(), v)).ok_or_else(|| {
                    err(format!(
                        "choice `{k}` has {v}, not a number, string or boolean"
                    ))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        self.genotype_from_pairs(&pairs)
    }

    /// Reads a genotype from any of its forms: a JSON object, the text form
    /// `name=value,…`, or (for a NAS-Bench-201 space) an architecture string `|op~0|+…`.
    pub fn parse_genotype(&self, text: &str) -> Result<Genotype, GenotypeError> {
        let text = text.trim();
        if text.starts_with('{') {
            let json: serde_json::Value =
                serde_json::from_str(text).map_err(|e| GenotypeError {
                    space: self.name.clone(),
                    message: format!("invalid JSON: {e}"),
                })?;
            return self.genotype_from_json(&json);
        }
        if text.starts_with('|') {
            return super::nb201::parse_arch(self, text);
        }
        let pairs = text
            .split(',')
            .filter(|p| !p.trim().is_empty())
            .map(|p| {
                p.split_once('=')
                    .map(|(k, v)| (k.trim().to_string(), Value::parse_text(v.trim())))
                    .ok_or_else(|| GenotypeError {
                        space: self.name.clone(),
                        message: format!("`{p}` is not `choice=value`"),
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        self.genotype_from_pairs(&pairs)
    }

    /// The number of genotypes in the space, or `None` when counting would take too long
    /// (more than a million branches on choices that other choices depend on).
    pub fn cardinality(&self) -> Option<f64> {
        let controlling: Vec<bool> = self
            .choices
            .iter()
            .map(|c| {
                self.choices
                    .iter()
                    .any(|o| o.condition.choices().any(|n| n == c.name))
            })
            .collect();
        let mut budget = 1_000_000usize;
        let mut values = Vec::new();
        self.count_from(0, &controlling, &mut values, &mut budget)
    }

    fn count_from(
        &self,
        i: usize,
        controlling: &[bool],
        values: &mut Vec<(String, Value)>,
        budget: &mut usize,
    ) -> Option<f64> {
        let Some(choice) = self.choices.get(i) else {
            return Some(1.0);
        };
        *budget = budget.checked_sub(1)?;
        let known: HashMap<&str, &Value> = values.iter().map(|(n, v)| (n.as_str(), v)).collect();
        if !choice.condition.holds(&known) {
            return self.count_from(i + 1, controlling, values, budget);
        }
        if !controlling[i] {
            let rest = self.count_from(i + 1, controlling, values, budget)?;
            return Some(choice.domain.len() as f64 * rest);
        }
        let mut total = 0.0;
        for v in choice.domain.values() {
            values.push((choice.name.clone(), v));
            total += self.count_from(i + 1, controlling, values, budget)?;
            values.pop();
        }
        Some(total)
    }
}
