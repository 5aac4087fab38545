//! The value of a choice or a block parameter.

use std::fmt;

/// A literal value in a space file: an integer, a float, a string or a boolean.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// An integer (channels, kernel sizes, depths).
    Int(i64),
    /// A float (width multipliers).
    Float(f64),
    /// A string (activation names, NB201 edge operations).
    Str(String),
    /// A boolean (switches such as `bn = false`).
    Bool(bool),
}

impl Value {
    /// Converts a TOML value; arrays, tables and dates are not values.
    pub fn from_toml(v: &toml::Value) -> Option<Value> {
        match v {
            toml::Value::Integer(i) => Some(Value::Int(*i)),
            toml::Value::Float(f) => Some(Value::Float(*f)),
            toml::Value::String(s) => Some(Value::Str(s.clone())),
            toml::Value::Boolean(b) => Some(Value::Bool(*b)),
            _ => None,
        }
    }

    /// Converts a JSON value; the inverse of [`Value::to_json`].
    pub fn from_json(v: &serde_json::Value) -> Option<Value> {
        match v {
            serde_json::Value::Number(n) => n
                .as_i64()
                .map(Value::Int)
                .or_else(|| n.as_f64().map(Value::Float)),
            serde_json::Value::String(s) => Some(Value::Str(s.clone())),
            serde_json::Value::Bool(b) => Some(Value::Bool(*b)),
            _ => None,
        }
    }

    /// The JSON form: a number, a string or a boolean.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Value::Int(i) => serde_json::Value::from(*i),
            Value::Float(f) => serde_json::Value::from(*f),
            Value::Str(s) => serde_json::Value::from(s.as_str()),
            Value::Bool(b) => serde_json::Value::from(*b),
        }
    }

    /// Parses the text form written by `Display` (`3`, `0.5`, `relu`, `true`).
    pub fn parse_text(s: &str) -> Value {
        if let Ok(i) = s.parse::<i64>() {
            Value::Int(i)
        } else if let Ok(f) = s.parse::<f64>() {
            Value::Float(f)
        } else if let Ok(b) = s.parse::<bool>() {
            Value::Bool(b)
        } else {
            Value::Str(s.to_string())
        }
    }

    /// The value as a number, if it is one.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(i) => Some(*i as f64),
            Value::Float(f) => Some(*f),
            _ => None,
        }
    }

    /// Whether two values are equal, comparing an integer and a float by number (`1 == 1.0`).
    pub fn same_as(&self, other: &Value) -> bool {
        match (self.as_f64(), other.as_f64()) {
            (Some(a), Some(b)) => a == b,
            _ => self == other,
        }
    }

    /// The name of the value's type, for error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Int(_) => "an integer",
            Value::Float(_) => "a float",
            Value::Str(_) => "a string",
            Value::Bool(_) => "a boolean",
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Int(i) => write!(f, "{i}"),
            Value::Float(x) => write!(f, "{x:?}"),
            Value::Str(s) => write!(f, "{s}"),
            Value::Bool(b) => write!(f, "{b}"),
        }
    }
}
