//! The one table of a trial's columns, which both backends use: the list they select, the
//! update they run, and the mapping between a [`Trial`] and a row's values. A new field of
//! [`Trial`] is added here once (and to each schema's migration).

use super::{Trial, TrialState};

/// What kind of SQL value a column holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Text.
    Text,
    /// A 64-bit integer.
    Int,
    /// A double.
    Real,
}

/// One column's value, NULL as `None`.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Value {
    /// A text column.
    Text(Option<String>),
    /// An integer column.
    Int(Option<i64>),
    /// A real column.
    Real(Option<f64>),
}

/// The trial columns in row order: `id` first, then every other field of [`Trial`].
pub(crate) const COLUMNS: [(&str, Kind); 21] = [
    ("id", Kind::Int),
    ("genotype", Kind::Text),
    ("state", Kind::Text),
    ("seed", Kind::Int),
    ("params", Kind::Int),
    ("macs", Kind::Int),
    ("ram_bytes", Kind::Int),
    ("flash_bytes", Kind::Int),
    ("latency_ms", Kind::Real),
    ("latency_kind", Kind::Text),
    ("valid_accuracy", Kind::Real),
    ("test_accuracy", Kind::Real),
    ("train_seconds", Kind::Real),
    ("created", Kind::Real),
    ("started", Kind::Real),
    ("finished", Kind::Real),
    ("artefacts", Kind::Text),
    ("reason", Kind::Text),
    ("worker", Kind::Text),
    ("heartbeat", Kind::Real),
    ("curve", Kind::Text),
];

/// The columns as a select list: `id, genotype, …`.
pub(crate) fn select_list() -> String {
    COLUMNS.map(|(name, _)| name).join(", ")
}

/// `SET` clauses for every column but `id`, the value of column `i` written by
/// `placeholder(i)`: `genotype = ?2, state = ?3, …`.
pub(crate) fn assignments(placeholder: impl Fn(usize) -> String) -> String {
    COLUMNS
        .iter()
        .enumerate()
        .skip(1)
        .map(|(i, (name, _))| format!("{name} = {}", placeholder(i)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The row of `t`, in [`COLUMNS`] order. Unsigned counts are stored as signed 64-bit
/// integers (SQL has no unsigned type); they round-trip.
pub(crate) fn row(t: &Trial) -> [Value; 21] {
    let count = |v: Option<u64>| Value::Int(v.map(|v| v as i64));
    let text = |v: &Option<String>| Value::Text(v.clone());
    [
        Value::Int(Some(t.id)),
        Value::Text(Some(t.genotype.clone())),
        Value::Text(Some(t.state.name().to_string())),
        Value::Int(Some(t.seed as i64)),
        count(t.params),
        count(t.macs),
        count(t.ram_bytes),
        count(t.flash_bytes),
        Value::Real(t.latency_ms),
        text(&t.latency_kind),
        Value::Real(t.valid_accuracy),
        Value::Real(t.test_accuracy),
        Value::Real(t.train_seconds),
        Value::Real(Some(t.created)),
        Value::Real(t.started),
        Value::Real(t.finished),
        text(&t.artefacts),
        text(&t.reason),
        text(&t.worker),
        Value::Real(t.heartbeat),
        // The learning curve as JSON text (NULL before the first epoch ends).
        Value::Text(
            (!t.curve.is_empty()).then(|| serde_json::to_string(&t.curve).expect("serialisable")),
        ),
    ]
}

/// What is wrong with a row that does not read as a trial.
#[derive(Debug, thiserror::Error)]
pub(crate) enum RowError {
    /// Not one value a column.
    #[error("a trial row of {0} columns, not 21")]
    Width(usize),
    /// A value of another kind than its column's.
    #[error("{found:?} where {expected} belongs")]
    Kind {
        /// The value.
        found: Value,
        /// What the column holds, in words.
        expected: &'static str,
    },
    /// NULL in a column a trial cannot do without.
    #[error("a trial without `{0}`")]
    Missing(&'static str),
    /// A state this edgenas does not know.
    #[error("unknown trial state `{0}`")]
    State(String),
    /// A learning curve that is not JSON of one.
    #[error("a learning curve that is not one: {0}")]
    Curve(serde_json::Error),
}

/// What failed in reading or writing trials, before the backend names its study in a
/// [`crate::StudyError::Database`].
#[derive(Debug, thiserror::Error)]
pub(crate) enum TrialsError {
    /// The database's words.
    #[error("{0}")]
    Database(String),
    /// A row that is not a trial.
    #[error(transparent)]
    Row(#[from] RowError),
    /// An update of a trial the study does not have.
    #[error("no trial {0}")]
    NoTrial(i64),
}

/// The trial in a row read in [`COLUMNS`] order, or what is wrong with the row.
pub(crate) fn trial(row: Vec<Value>) -> Result<Trial, RowError> {
    let row: [Value; 21] = row
        .try_into()
        .map_err(|r: Vec<Value>| RowError::Width(r.len()))?;
    let [
        id,
        genotype,
        state,
        seed,
        params,
        macs,
        ram_bytes,
        flash_bytes,
        latency_ms,
        latency_kind,
        valid_accuracy,
        test_accuracy,
        train_seconds,
        created,
        started,
        finished,
        artefacts,
        reason,
        worker,
        heartbeat,
        curve,
    ] = row;
    let state = required(text(state)?, "state")?;
    let count = |v: Value| Ok::<_, RowError>(int(v)?.map(|v| v as u64));
    Ok(Trial {
        id: required(int(id)?, "id")?,
        genotype: required(text(genotype)?, "genotype")?,
        state: TrialState::from_name(&state).ok_or(RowError::State(state))?,
        seed: required(int(seed)?, "seed")? as u64,
        params: count(params)?,
        macs: count(macs)?,
        ram_bytes: count(ram_bytes)?,
        flash_bytes: count(flash_bytes)?,
        latency_ms: real(latency_ms)?,
        latency_kind: text(latency_kind)?,
        valid_accuracy: real(valid_accuracy)?,
        test_accuracy: real(test_accuracy)?,
        train_seconds: real(train_seconds)?,
        created: required(real(created)?, "created")?,
        started: real(started)?,
        finished: real(finished)?,
        artefacts: text(artefacts)?,
        reason: text(reason)?,
        worker: text(worker)?,
        heartbeat: real(heartbeat)?,
        curve: match text(curve)? {
            None => Vec::new(),
            Some(json) => serde_json::from_str(&json).map_err(RowError::Curve)?,
        },
    })
}

fn text(v: Value) -> Result<Option<String>, RowError> {
    match v {
        Value::Text(v) => Ok(v),
        found => Err(RowError::Kind {
            found,
            expected: "text",
        }),
    }
}

fn int(v: Value) -> Result<Option<i64>, RowError> {
    match v {
        Value::Int(v) => Ok(v),
        found => Err(RowError::Kind {
            found,
            expected: "an integer",
        }),
    }
}

fn real(v: Value) -> Result<Option<f64>, RowError> {
    match v {
        Value::Real(v) => Ok(v),
        found => Err(RowError::Kind {
            found,
            expected: "a number",
        }),
    }
}

fn required<T>(v: Option<T>, name: &'static str) -> Result<T, RowError> {
    v.ok_or(RowError::Missing(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_round_trips_every_field() {
        let mut t = Trial::pending("a|b".into(), u64::MAX);
        t.id = 7;
        t.params = Some(u64::MAX - 1);
        t.latency_ms = Some(1.5);
        t.latency_kind = Some("measured".into());
        t.reason = Some("why".into());
        t.heartbeat = Some(3.25);
        let values = row(&t);
        for ((name, kind), value) in COLUMNS.iter().zip(&values) {
            let matches = matches!(
                (kind, value),
                (Kind::Text, Value::Text(_))
                    | (Kind::Int, Value::Int(_))
                    | (Kind::Real, Value::Real(_))
            );
            assert!(matches, "column {name} is {kind:?} but holds {value:?}");
        }
        assert_eq!(trial(values.to_vec()).unwrap(), t);
    }

    #[test]
    fn both_schemas_create_every_column() {
        for schema in [crate::sqlite::SCHEMA, crate::postgres::SCHEMA] {
            for (name, _) in COLUMNS {
                assert!(
                    schema.contains(&format!("{name} ")) || schema.contains(&format!("{name},")),
                    "column {name} missing from\n{schema}"
                );
            }
        }
    }

    #[test]
    fn a_bad_row_is_an_error_not_a_panic() {
        assert!(matches!(trial(vec![]), Err(RowError::Width(0))));
        let good = row(&Trial::pending("g".into(), 1)).to_vec();
        let mut values = good.clone();
        values[2] = Value::Text(Some("sleeping".into()));
        let err = trial(values).unwrap_err();
        assert!(
            matches!(&err, RowError::State(s) if s == "sleeping"),
            "{err:?}"
        );
        assert_eq!(err.to_string(), "unknown trial state `sleeping`");
        let mut values = good.clone();
        values[1] = Value::Int(Some(3));
        assert!(matches!(
            trial(values),
            Err(RowError::Kind {
                expected: "text",
                ..
            })
        ));
        let mut values = good;
        values[13] = Value::Real(None);
        assert!(matches!(trial(values), Err(RowError::Missing("created"))));
    }
}
