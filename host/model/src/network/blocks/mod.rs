//! The block registry: the building blocks that space files name in `type = "…"`.
//!
//! A block type is a name, its parameters (with kinds and defaults, which the space parser
//! checks) and a function that appends its layers to a [`Builder`]. Adding a block type is one
//! new file and one line in [`BLOCKS`].

mod basic_residual;
mod classifier;
mod conv;
mod dense;
mod dwsep;
mod inverted_residual;
mod nb201;
mod norm_act;
mod pool;

use super::layers::ActivationKind;
use super::{Builder, DecodeError};
use crate::space::Value;

/// Every block type, in the order `edgenas spaces --blocks` lists them.
pub static BLOCKS: &[&BlockKind] = &[
    &conv::CONV,
    &dwsep::DWSEP,
    &inverted_residual::INVERTED_RESIDUAL,
    &basic_residual::BASIC_RESIDUAL,
    &pool::POOL,
    &dense::DENSE,
    &norm_act::NORM_ACT,
    &classifier::CLASSIFIER,
    &nb201::CELL,
    &nb201::REDUCTION,
];

/// The block type with this name.
pub fn find(name: &str) -> Option<&'static BlockKind> {
    BLOCKS.iter().copied().find(|b| b.name == name)
}

/// The names of all block types, comma-separated, for error messages.
pub fn names() -> String {
    BLOCKS.iter().map(|b| b.name).collect::<Vec<_>>().join(", ")
}

/// What values a parameter takes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ParamKind {
    /// An integer of at least `min`.
    Int {
        /// The smallest allowed value.
        min: i64,
    },
    /// A channel count (at least 1), scaled by the space's width multiplier.
    Channels,
    /// A number above `min`, at most `max`.
    Float {
        /// Values must be greater than this.
        min: f64,
        /// And at most this.
        max: f64,
    },
    /// `true` or `false`.
    Bool,
    /// One of these words.
    Word(&'static [&'static str]),
}

/// The largest integer a parameter takes: the device format stores every dimension in 16 bits,
/// and larger figures would overflow the costs computed from them.
pub const MAX_INT: i64 = u16::MAX as i64;

impl ParamKind {
    /// Checks a value against the kind; the error says what is expected.
    pub fn check(&self, v: &Value) -> Result<(), ParamMismatch> {
        let ok = match (self, v) {
            (ParamKind::Int { min }, Value::Int(i)) => i >= min && *i <= MAX_INT,
            (ParamKind::Channels, Value::Int(i)) => (1..=MAX_INT).contains(i),
            (ParamKind::Float { min, max }, v) => v.as_f64().is_some_and(|x| x > *min && x <= *max),
            (ParamKind::Bool, Value::Bool(_)) => true,
            (ParamKind::Word(words), Value::Str(s)) => words.contains(&s.as_str()),
            _ => false,
        };
        if ok {
            return Ok(());
        }
        Err(ParamMismatch {
            expected: *self,
            found: v.clone(),
        })
    }

    /// What a value of the kind is, in words: "an integer from 1 to 65535".
    fn expected(&self) -> String {
        match self {
            ParamKind::Int { min } => format!("an integer from {min} to {MAX_INT}"),
            ParamKind::Channels => format!("a channel count (an integer from 1 to {MAX_INT})"),
            ParamKind::Float { min, max } => format!("a number above {min}, at most {max}"),
            ParamKind::Bool => "true or false".to_string(),
            ParamKind::Word(words) => format!("one of {}", words.join(", ")),
        }
    }
}

/// A value that is not of its parameter's kind ([`ParamKind::check`]).
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("expected {}, found {} ({found})", expected.expected(), found.type_name())]
pub struct ParamMismatch {
    /// The parameter's kind.
    pub expected: ParamKind,
    /// The value given.
    pub found: Value,
}

/// One parameter of a block type.
#[derive(Debug)]
pub struct ParamDef {
    /// The key in the space file.
    pub name: &'static str,
    /// What values it takes.
    pub kind: ParamKind,
    /// Its value when the file leaves it out (`None`: the file must give it).
    pub default: Option<&'static str>,
    /// One line for documentation and error messages.
    pub doc: &'static str,
}

/// A block type of the registry.
#[derive(Debug)]
pub struct BlockKind {
    /// The name used in `type = "…"`.
    pub name: &'static str,
    /// What the block builds, in one line.
    pub doc: &'static str,
    /// Its parameters.
    pub params: &'static [ParamDef],
    /// Appends the block's layers after the builder's current node and makes the last one
    /// current.
    pub build: fn(&mut Builder, &BlockArgs) -> Result<(), DecodeError>,
}

impl BlockKind {
    /// The default value of a parameter, if it has one.
    pub fn default_of(&self, key: &str) -> Option<Value> {
        self.params
            .iter()
            .find(|p| p.name == key)
            .and_then(|p| p.default)
            .map(Value::parse_text)
    }
}

/// The resolved parameter values of one block instance.
#[derive(Debug)]
pub struct BlockArgs {
    name: String,
    values: Vec<(&'static str, Value)>,
    width_multiplier: f64,
}

impl BlockArgs {
    /// Arguments of the instance `name`; channel parameters are scaled by `width_multiplier`.
    pub fn new(name: &str, values: Vec<(&'static str, Value)>, width_multiplier: f64) -> BlockArgs {
        BlockArgs {
            name: name.to_string(),
            values,
            width_multiplier,
        }
    }

    fn get(&self, key: &str) -> &Value {
        // The parser gives every parameter a value or a default, and the decoder resolves all.
        &self
            .values
            .iter()
            .find(|(k, _)| *k == key)
            .unwrap_or_else(|| panic!("block {}: parameter `{key}` was not resolved", self.name))
            .1
    }

    /// An integer parameter.
    pub fn int(&self, key: &str) -> usize {
        match self.get(key) {
            Value::Int(i) => *i as usize,
            other => unreachable!("`{key}` = {other} was checked to be an integer"),
        }
    }

    /// A boolean parameter.
    pub fn bool(&self, key: &str) -> bool {
        matches!(self.get(key), Value::Bool(true))
    }

    /// A word parameter.
    pub fn word(&self, key: &str) -> &str {
        match self.get(key) {
            Value::Str(s) => s,
            other => unreachable!("`{key}` = {other} was checked to be a word"),
        }
    }

    /// An activation parameter (`relu`, `relu6` or `none`).
    pub fn act(&self, key: &str) -> Option<ActivationKind> {
        ActivationKind::parse(self.word(key)).flatten()
    }

    /// A channel parameter, scaled by the width multiplier as MobileNet does: rounded to a
    /// multiple of 8, at least 8, and never more than 10 % below the exact product. With a
    /// multiplier of 1 the value is kept as written.
    pub fn channels(&self, key: &str) -> usize {
        let c = self.int(key);
        if self.width_multiplier == 1.0 {
            return c;
        }
        let exact = c as f64 * self.width_multiplier;
        let mut rounded = (((exact + 4.0) / 8.0).floor() as usize * 8).max(8);
        if (rounded as f64) < 0.9 * exact {
            rounded += 8;
        }
        rounded
    }
}

/// `out`: output channels, required, scaled by the width multiplier.
const fn out(doc: &'static str) -> ParamDef {
    ParamDef {
        name: "out",
        kind: ParamKind::Channels,
        default: None,
        doc,
    }
}

/// `kernel`: a kernel size of at least 1, 3 by default.
const fn kernel(doc: &'static str) -> ParamDef {
    ParamDef {
        name: "kernel",
        kind: ParamKind::Int { min: 1 },
        default: Some("3"),
        doc,
    }
}

/// `stride`: a stride of at least 1, 1 by default.
const fn stride(doc: &'static str) -> ParamDef {
    ParamDef {
        name: "stride",
        kind: ParamKind::Int { min: 1 },
        default: Some("1"),
        doc,
    }
}

/// `act`: `relu`, `relu6` or `none`, with a default.
const fn act(default: &'static str, doc: &'static str) -> ParamDef {
    ParamDef {
        name: "act",
        kind: ParamKind::Word(ActivationKind::NAMES),
        default: Some(default),
        doc,
    }
}

/// `bn`: whether a batch norm follows, with a default.
const fn bn(default: &'static str, doc: &'static str) -> ParamDef {
    ParamDef {
        name: "bn",
        kind: ParamKind::Bool,
        default: Some(default),
        doc,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_of_another_kind_is_a_mismatch_that_says_what_was_expected() {
        let channels = ParamKind::Channels;
        assert_eq!(channels.check(&Value::Int(16)), Ok(()));
        let err = channels.check(&Value::Int(0)).unwrap_err();
        assert_eq!(err.found, Value::Int(0));
        assert_eq!(
            err.to_string(),
            "expected a channel count (an integer from 1 to 65535), found an integer (0)"
        );
        let act = ParamKind::Word(&["relu", "none"]);
        let err = act.check(&Value::Str("gelu".into())).unwrap_err();
        assert_eq!(err.expected, act);
        assert_eq!(
            err.to_string(),
            "expected one of relu, none, found a string (gelu)"
        );
    }
}
