//! Conditions under which a choice or a block exists: `s1.depth >= 3 && act == "relu"`.

use std::collections::HashMap;
use std::fmt;

use super::value::Value;

/// A comparison operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CmpOp {
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

impl CmpOp {
    const ALL: [(&'static str, CmpOp); 6] = [
        ("==", CmpOp::Eq),
        ("!=", CmpOp::Ne),
        ("<=", CmpOp::Le),
        (">=", CmpOp::Ge),
        ("<", CmpOp::Lt),
        (">", CmpOp::Gt),
    ];

    fn symbol(self) -> &'static str {
        Self::ALL.iter().find(|(_, op)| *op == self).unwrap().0
    }
}

/// `choice OP value`.
#[derive(Clone, Debug, PartialEq)]
pub struct Term {
    /// The name of the choice compared.
    pub choice: String,
    /// The comparison.
    pub op: CmpOp,
    /// The value compared with.
    pub value: Value,
}

/// A conjunction of terms; the empty condition always holds.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Condition {
    /// All of these must hold.
    pub terms: Vec<Term>,
}

/// A condition [`Condition::parse`] cannot read, naming the term.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConditionError {
    /// A term without a comparison operator.
    #[error("`{0}` is not a comparison such as `s1.depth >= 3` (operators: == != < <= > >=)")]
    NotAComparison(String),
    /// A comparison without a choice or a value.
    #[error("`{0}` needs a choice name on the left and a value on the right")]
    MissingSide(String),
}

impl Condition {
    /// Parses `a >= 2 && b == "x"`. Values are numbers, `true`/`false`, or strings (quoted or
    /// bare words).
    pub fn parse(text: &str) -> Result<Condition, ConditionError> {
        let mut terms = Vec::new();
        for part in text.split("&&") {
            let part = part.trim();
            let (at, symbol, op) = CmpOp::ALL
                .iter()
                .filter_map(|(sym, op)| part.find(sym).map(|at| (at, *sym, *op)))
                .min_by_key(|(at, sym, _)| (*at, std::cmp::Reverse(sym.len())))
                .ok_or_else(|| ConditionError::NotAComparison(part.to_string()))?;
            let choice = part[..at].trim();
            let value = part[at + symbol.len()..].trim().trim_matches('"');
            if choice.is_empty() || value.is_empty() {
                return Err(ConditionError::MissingSide(part.to_string()));
            }
            terms.push(Term {
                choice: choice.to_string(),
                op,
                value: Value::parse_text(value),
            });
        }
        Ok(Condition { terms })
    }

    /// Whether the condition holds for these choice values. A term on a choice that is absent
    /// (inactive) is false.
    pub fn holds(&self, values: &HashMap<&str, &Value>) -> bool {
        self.holds_with(|name| values.get(name).copied())
    }

    /// [`Condition::holds`] with the values looked up by `value_of`.
    pub fn holds_with<'v>(&self, value_of: impl Fn(&str) -> Option<&'v Value>) -> bool {
        self.terms
            .iter()
            .all(|t| match value_of(t.choice.as_str()) {
                None => false,
                Some(v) => compare(v, t.op, &t.value),
            })
    }

    /// Both conditions at once.
    pub fn and(&self, other: &Condition) -> Condition {
        let mut terms = self.terms.clone();
        terms.extend(other.terms.iter().cloned());
        Condition { terms }
    }

    /// The names of the choices the condition reads.
    pub fn choices(&self) -> impl Iterator<Item = &str> {
        self.terms.iter().map(|t| t.choice.as_str())
    }
}

fn compare(a: &Value, op: CmpOp, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => match op {
            CmpOp::Eq => x == y,
            CmpOp::Ne => x != y,
            CmpOp::Lt => x < y,
            CmpOp::Le => x <= y,
            CmpOp::Gt => x > y,
            CmpOp::Ge => x >= y,
        },
        _ => match op {
            CmpOp::Eq => a.to_string() == b.to_string(),
            CmpOp::Ne => a.to_string() != b.to_string(),
            _ => false,
        },
    }
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, t) in self.terms.iter().enumerate() {
            if i > 0 {
                write!(f, " && ")?;
            }
            write!(f, "{} {} {}", t.choice, t.op.symbol(), t.value)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_evaluates_conjunctions() {
        let c = Condition::parse("s1.depth >= 3 && act == \"relu\"").unwrap();
        assert_eq!(c.terms.len(), 2);
        assert_eq!(c.terms[0].op, CmpOp::Ge);
        let (three, relu, two) = (Value::Int(3), Value::Str("relu".into()), Value::Int(2));
        let ok = HashMap::from([("s1.depth", &three), ("act", &relu)]);
        assert!(c.holds(&ok));
        let short = HashMap::from([("s1.depth", &two), ("act", &relu)]);
        assert!(!c.holds(&short));
        let absent = HashMap::from([("act", &relu)]);
        assert!(!c.holds(&absent), "a term on an inactive choice is false");
        assert_eq!(c.to_string(), "s1.depth >= 3 && act == relu");
    }

    #[test]
    fn rejects_text_without_a_comparison() {
        assert_eq!(
            Condition::parse("depth three"),
            Err(ConditionError::NotAComparison("depth three".into()))
        );
        assert_eq!(
            Condition::parse(">= 3"),
            Err(ConditionError::MissingSide(">= 3".into()))
        );
    }
}
