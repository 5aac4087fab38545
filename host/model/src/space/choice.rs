//! Choice points of a search space.

use super::condition::Condition;
use super::value::Value;

/// The values a choice can take.
#[derive(Clone, Debug, PartialEq)]
pub enum Domain {
    /// A list of values (categorical or ordinal), in the order written.
    Values(Vec<Value>),
    /// Integers `min, min + step, …` up to `max`.
    Range {
        /// The smallest value.
        min: i64,
        /// The largest value allowed (reached only when `max - min` is a multiple of `step`).
        max: i64,
        /// The distance between neighbouring values, at least 1.
        step: i64,
    },
}

impl Domain {
    /// The number of values.
    pub fn len(&self) -> usize {
        match self {
            Domain::Values(v) => v.len(),
            Domain::Range { min, max, step } => ((max - min) / step + 1) as usize,
        }
    }

    /// Whether the domain has no value (never true for a parsed space).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The `i`-th value.
    pub fn get(&self, i: usize) -> Value {
        match self {
            Domain::Values(v) => v[i].clone(),
            Domain::Range { min, step, .. } => Value::Int(min + step * i as i64),
        }
    }

    /// The index of `v` in the domain, if it belongs to it.
    pub fn index_of(&self, v: &Value) -> Option<usize> {
        match self {
            Domain::Values(vals) => vals.iter().position(|x| x.same_as(v)),
            Domain::Range { min, max, step } => {
                let x = v.as_f64()?;
                let i = x as i64;
                let whole = i as f64 == x;
                (whole && i >= *min && i <= *max && (i - min) % step == 0)
                    .then(|| ((i - min) / step) as usize)
            }
        }
    }

    /// All values, in order.
    pub fn values(&self) -> impl Iterator<Item = Value> + '_ {
        (0..self.len()).map(|i| self.get(i))
    }

    /// The values as integers, if they all are.
    fn ints(&self) -> Option<Vec<i64>> {
        self.values()
            .map(|v| match v {
                Value::Int(i) => Some(i),
                _ => None,
            })
            .collect()
    }

    /// The largest integer value, for domains of integers (used for `repeat`).
    pub fn max_int(&self) -> Option<i64> {
        self.ints()?.into_iter().max()
    }

    /// The smallest integer value, for domains of integers.
    pub fn min_int(&self) -> Option<i64> {
        self.ints()?.into_iter().min()
    }

    /// A short description: `{3, 5, 7}` or `1..=4 step 1`.
    pub fn describe(&self) -> String {
        match self {
            Domain::Values(v) => {
                let items: Vec<String> = v.iter().map(Value::to_string).collect();
                format!("{{{}}}", items.join(", "))
            }
            Domain::Range { min, max, step } => format!("{min}..={max} step {step}"),
        }
    }
}

/// A named choice point: a domain and the condition under which the choice exists.
#[derive(Clone, Debug, PartialEq)]
pub struct Choice {
    /// Unique name, such as `resolution`, `s1.depth` or `s1.b2.kernel`.
    pub name: String,
    /// The values it can take.
    pub domain: Domain,
    /// When it exists; a choice whose condition fails is absent from the genotype.
    pub condition: Condition,
}
