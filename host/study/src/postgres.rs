//! Studies in a PostgreSQL database, shared by workers on many machines: several studies per
//! database, told apart by name (`postgres://user@host/db?study=NAME`). edgenas creates and
//! migrates its tables itself (`edgenas_schema`, `edgenas_studies`, `edgenas_trials`).
//!
//! A claim is one transaction holding a per-study advisory lock (`pg_advisory_xact_lock`):
//! claims of one study are serialised, so the strategy inside sees every trial claimed
//! before it. Row locks alone (`SELECT … FOR UPDATE SKIP LOCKED`) would keep two workers off
//! one *existing* row, but not keep two concurrent proposals from picking the same new
//! genotype, which is most claims.

use std::sync::Mutex;
use std::time::Duration;

use bytes::BytesMut;
use postgres::types::{IsNull, ToSql, Type};
use postgres::{Client, Config, NoTls, Row};

use super::claim::{self, Claim, ClaimRequest, TrialTable};
use super::columns::{self, COLUMNS, Kind, TrialsError, Value};
use super::{Settings, Storage, StudyError, Trial, now};

/// The schema version this edgenas writes: 2 added the trials' learning curves.
const SCHEMA_VERSION: i32 = 2;

/// How long a lost connection is tried again before the study fails (a server restart takes
/// seconds; a server gone for longer ends the worker, whose trial another then takes over).
const RECONNECT_FOR: Duration = Duration::from_secs(30);

/// The first key of edgenas's advisory locks (`EDGE`); the second is the study's id, or 0
/// for the schema.
const LOCK_NAMESPACE: i32 = 0x4544_4745;

pub(crate) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS edgenas_schema (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS edgenas_studies (
    id SERIAL PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    settings TEXT,
    created DOUBLE PRECISION NOT NULL
);
CREATE TABLE IF NOT EXISTS edgenas_trials (
    study INTEGER NOT NULL REFERENCES edgenas_studies (id) ON DELETE CASCADE,
    id BIGINT NOT NULL,
    genotype TEXT NOT NULL,
    state TEXT NOT NULL,
    seed BIGINT NOT NULL,
    params BIGINT, macs BIGINT, ram_bytes BIGINT, flash_bytes BIGINT,
    latency_ms DOUBLE PRECISION, latency_kind TEXT,
    valid_accuracy DOUBLE PRECISION, test_accuracy DOUBLE PRECISION,
    train_seconds DOUBLE PRECISION,
    created DOUBLE PRECISION NOT NULL, started DOUBLE PRECISION, finished DOUBLE PRECISION,
    artefacts TEXT, reason TEXT, worker TEXT, heartbeat DOUBLE PRECISION,
    curve TEXT,
    PRIMARY KEY (study, id),
    UNIQUE (study, genotype)
);
CREATE INDEX IF NOT EXISTS edgenas_trials_state ON edgenas_trials (study, state);";

/// One study in a PostgreSQL database.
pub struct PostgresStudy {
    /// The URL without its password, for messages.
    shown: String,
    /// The study's row in `edgenas_studies`.
    study: i32,
    /// How to connect again when the connection is lost.
    config: Config,
    client: Mutex<Client>,
}

/// A URL split into what the PostgreSQL client reads and the study's name.
struct StudyUrl {
    connection: String,
    name: String,
    shown: String,
}

/// A PostgreSQL URL without the study's name.
#[derive(Debug, thiserror::Error)]
#[error("{0}: a PostgreSQL study needs its name: add ?study=NAME to the URL")]
struct NoStudyName(String);

fn parse_url(url: &str) -> Result<StudyUrl, NoStudyName> {
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let mut name = None;
    let mut rest = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=') {
            Some(("study", n)) if !n.is_empty() => name = Some(n.to_string()),
            _ => rest.push(pair),
        }
    }
    let name = name.ok_or_else(|| NoStudyName(url.to_string()))?;
    let connection = if rest.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{}", rest.join("&"))
    };
    // postgres://user:password@host/db → postgres://user:***@host/db
    let shown = match base.split_once("://") {
        Some((scheme, tail)) => match tail.split_once('@') {
            Some((user, host)) if user.contains(':') => {
                let user = user.split_once(':').map_or(user, |(u, _)| u);
                format!("{scheme}://{user}:***@{host}?study={name}")
            }
            _ => format!("{base}?study={name}"),
        },
        None => format!("{base}?study={name}"),
    };
    Ok(StudyUrl {
        connection,
        name,
        shown,
    })
}

impl PostgresStudy {
    /// Whether `location` names a PostgreSQL study rather than a SQLite file.
    pub fn is_url(location: &str) -> bool {
        location.starts_with("postgres://") || location.starts_with("postgresql://")
    }

    /// Connects to the database of `url`, creates or migrates edgenas's tables, and opens the
    /// study its `study=NAME` parameter names, creating it when `create` is set.
    pub fn open(url: &str, create: bool) -> Result<PostgresStudy, StudyError> {
        let parsed = parse_url(url).map_err(|e| StudyError::Database {
            path: url.split('?').next().unwrap_or(url).into(),
            message: e.to_string(),
        })?;
        let db = |message: String| StudyError::Database {
            path: parsed.shown.clone(),
            message,
        };
        let mut config: Config = parsed
            .connection
            .parse()
            .map_err(|e| db(format!("not a PostgreSQL URL: {e}")))?;
        config.connect_timeout(Duration::from_secs(10));
        // The study in the name: `pg_stat_activity` shows which study a connection serves.
        config.application_name(&format!("edgenas {}", parsed.name));
        let mut client = config
            .connect(NoTls)
            .map_err(|e| db(format!("cannot connect: {}", describe(&e))))?;
        migrate(&mut client).map_err(|e| db(describe(&e)))?;
        let found: Option<i32> = client
            .query_opt(
                "SELECT id FROM edgenas_studies WHERE name = $1",
                &[&parsed.name],
            )
            .map_err(|e| db(describe(&e)))?
            .map(|r| r.get(0));
        let study = match (found, create) {
            (Some(id), _) => id,
            (None, false) => return Err(StudyError::Missing(parsed.shown)),
            (None, true) => client
                .query_one(
                    "INSERT INTO edgenas_studies (name, created) VALUES ($1, $2)
                     ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name RETURNING id",
                    &[&parsed.name, &now()],
                )
                .map_err(|e| db(describe(&e)))?
                .get(0),
        };
        Ok(PostgresStudy {
            shown: parsed.shown,
            study,
            config,
            client: Mutex::new(client),
        })
    }

    fn error(&self, message: impl std::fmt::Display) -> StudyError {
        StudyError::Database {
            path: self.shown.clone(),
            message: message.to_string(),
        }
    }

    /// Runs `op` on the connection. A connection that was lost (the server restarted, an
    /// administrator ended it, the network dropped) is opened again first, and `op` runs once
    /// more when the connection was lost during it: every operation here is an idempotent
    /// update or runs in a transaction, which the lost connection rolled back.
    fn connected<T>(
        &self,
        mut op: impl FnMut(&mut Client) -> Result<T, StudyError>,
    ) -> Result<T, StudyError> {
        let mut client = self.client.lock().map_err(|e| self.error(e))?;
        if client.is_closed() {
            self.reconnect(&mut client)?;
        }
        match op(&mut client) {
            Err(_) if client.is_closed() => {
                self.reconnect(&mut client)?;
                op(&mut client)
            }
            done => done,
        }
    }

    /// Opens the connection again, trying for [`RECONNECT_FOR`] with waits that double from
    /// a tenth of a second up to two seconds: a server that restarts (a second or so) is
    /// waited for; one that stays away ends the caller with the last error.
    fn reconnect(&self, client: &mut Client) -> Result<(), StudyError> {
        let start = std::time::Instant::now();
        let mut wait = Duration::from_millis(100);
        loop {
            match self.config.connect(NoTls) {
                Ok(c) => {
                    *client = c;
                    return Ok(());
                }
                Err(e) if start.elapsed() + wait > RECONNECT_FOR => {
                    return Err(self.error(format!(
                        "the connection was lost and could not be opened again within {} s: {}",
                        RECONNECT_FOR.as_secs(),
                        describe(&e)
                    )));
                }
                Err(_) => {
                    std::thread::sleep(wait);
                    wait = (wait * 2).min(Duration::from_secs(2));
                }
            }
        }
    }

    fn with<T>(
        &self,
        mut f: impl FnMut(&mut Client) -> Result<T, postgres::Error>,
    ) -> Result<T, StudyError> {
        self.connected(|client| f(client).map_err(|e| self.error(describe(&e))))
    }

    /// Runs `f` in a transaction that holds this study's advisory lock.
    fn locked<T>(
        &self,
        mut f: impl FnMut(&mut PostgresTrials) -> Result<T, StudyError>,
    ) -> Result<T, StudyError> {
        self.connected(|client| {
            let pg = |e: postgres::Error| self.error(describe(&e));
            let mut transaction = client.transaction().map_err(pg)?;
            transaction
                .execute(
                    "SELECT pg_advisory_xact_lock($1, $2)",
                    &[&LOCK_NAMESPACE, &self.study],
                )
                .map_err(pg)?;
            let mut table = PostgresTrials {
                transaction: &mut transaction,
                study: self,
            };
            let out = f(&mut table)?;
            transaction.commit().map_err(pg)?;
            Ok(out)
        })
    }
}

/// A PostgreSQL error with its server message, which `Display` leaves out.
fn describe(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{e}: {}", db.message()),
        None => e.to_string(),
    }
}

/// PostgreSQL's error as a [`TrialsError`], in [`describe`]'s words.
fn sql(e: postgres::Error) -> TrialsError {
    TrialsError::Database(describe(&e))
}

/// Creates edgenas's tables if they are missing and checks the schema version, under the
/// schema's advisory lock (workers starting together would race on `CREATE TABLE`).
fn migrate(client: &mut Client) -> Result<(), postgres::Error> {
    let mut t = client.transaction()?;
    t.execute("SELECT pg_advisory_xact_lock($1, 0)", &[&LOCK_NAMESPACE])?;
    t.batch_execute(SCHEMA)?;
    let version: Option<i32> = t
        .query_opt("SELECT max(version) FROM edgenas_schema", &[])?
        .and_then(|r| r.get(0));
    match version {
        None => {
            t.execute(
                "INSERT INTO edgenas_schema (version) VALUES ($1)",
                &[&SCHEMA_VERSION],
            )?;
        }
        Some(v) if v > SCHEMA_VERSION => {
            // Raised as a database error so that the caller reports it with the URL.
            t.batch_execute(&format!(
                "DO $$ BEGIN RAISE EXCEPTION 'schema version {v} is newer than this edgenas''s ({SCHEMA_VERSION}): upgrade edgenas'; END $$"
            ))?;
        }
        Some(v) if v < SCHEMA_VERSION => {
            // Version 1 → 2: the learning curves (a table of version 1 lacks the column).
            t.batch_execute("ALTER TABLE edgenas_trials ADD COLUMN IF NOT EXISTS curve TEXT")?;
            t.execute(
                "INSERT INTO edgenas_schema (version) VALUES ($1)",
                &[&SCHEMA_VERSION],
            )?;
        }
        Some(_) => {}
    }
    t.commit()
}

fn read_trial(r: &Row) -> Result<Trial, TrialsError> {
    let values = COLUMNS
        .iter()
        .enumerate()
        .map(|(i, (_, kind))| {
            Ok(match kind {
                Kind::Text => Value::Text(r.try_get(i)?),
                Kind::Int => Value::Int(r.try_get(i)?),
                Kind::Real => Value::Real(r.try_get(i)?),
            })
        })
        .collect::<Result<Vec<Value>, postgres::Error>>()
        .map_err(sql)?;
    Ok(columns::trial(values)?)
}

impl ToSql for Value {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self {
            Value::Text(v) => v.to_sql(ty, out),
            Value::Int(v) => v.to_sql(ty, out),
            Value::Real(v) => v.to_sql(ty, out),
        }
    }

    fn accepts(ty: &Type) -> bool {
        <Option<String>>::accepts(ty) || <Option<i64>>::accepts(ty) || <Option<f64>>::accepts(ty)
    }

    postgres::types::to_sql_checked!();
}

fn read_trials(
    client: &mut impl postgres::GenericClient,
    study: i32,
) -> Result<Vec<Trial>, TrialsError> {
    let rows = client
        .query(
            &format!(
                "SELECT {} FROM edgenas_trials WHERE study = $1 ORDER BY id",
                columns::select_list()
            ),
            &[&study],
        )
        .map_err(sql)?;
    rows.iter().map(read_trial).collect()
}

/// Writes every field of trial `t.id`; an error if there is no such trial.
fn update_trial(
    client: &mut impl postgres::GenericClient,
    study: i32,
    t: &Trial,
) -> Result<(), TrialsError> {
    // $1 is the study; column i (the id first) is $(i + 2).
    let set = columns::assignments(|i| format!("${}", i + 2));
    let row = columns::row(t);
    let mut values: Vec<&(dyn ToSql + Sync)> = vec![&study];
    values.extend(row.iter().map(|v| v as &(dyn ToSql + Sync)));
    let changed = client
        .execute(
            &format!("UPDATE edgenas_trials SET {set} WHERE study = $1 AND id = $2"),
            &values,
        )
        .map_err(sql)?;
    match changed {
        0 => Err(TrialsError::NoTrial(t.id)),
        _ => Ok(()),
    }
}

/// The study's trials inside a transaction that holds its advisory lock.
struct PostgresTrials<'a, 'c> {
    transaction: &'a mut postgres::Transaction<'c>,
    study: &'a PostgresStudy,
}

impl TrialTable for PostgresTrials<'_, '_> {
    fn trials(&mut self) -> Result<Vec<Trial>, StudyError> {
        read_trials(self.transaction, self.study.study).map_err(|e| self.study.error(e))
    }

    fn insert(&mut self, t: &Trial) -> Result<i64, StudyError> {
        let study = self.study.study;
        let pg = |e: postgres::Error| self.study.error(describe(&e));
        let id: i64 = self
            .transaction
            .query_one(
                "INSERT INTO edgenas_trials (study, id, genotype, state, seed, created)
                 SELECT $1, COALESCE(MAX(id), 0) + 1, $2, $3, $4, $5
                 FROM edgenas_trials WHERE study = $1 RETURNING id",
                &[
                    &study,
                    &t.genotype,
                    &t.state.name(),
                    &(t.seed as i64),
                    &t.created,
                ],
            )
            .map_err(pg)?
            .get(0);
        let mut stored = t.clone();
        stored.id = id;
        self.update(&stored)?;
        Ok(id)
    }

    fn update(&mut self, t: &Trial) -> Result<(), StudyError> {
        update_trial(self.transaction, self.study.study, t).map_err(|e| self.study.error(e))
    }
}

impl Storage for PostgresStudy {
    fn location(&self) -> String {
        self.shown.clone()
    }

    fn folder(&self) -> Option<std::path::PathBuf> {
        None
    }

    fn settings(&self) -> Result<Option<Settings>, StudyError> {
        let text: Option<String> = self.with(|c| {
            c.query_one(
                "SELECT settings FROM edgenas_studies WHERE id = $1",
                &[&self.study],
            )
            .map(|r| r.get(0))
        })?;
        text.map(|t| serde_json::from_str(&t).map_err(|e| self.error(e)))
            .transpose()
    }

    fn set_settings(&self, settings: &Settings) -> Result<(), StudyError> {
        let text = serde_json::to_string(settings).map_err(|e| self.error(e))?;
        self.with(|c| {
            c.execute(
                "UPDATE edgenas_studies SET settings = $2 WHERE id = $1",
                &[&self.study, &text],
            )
        })?;
        Ok(())
    }

    fn trials(&self) -> Result<Vec<Trial>, StudyError> {
        self.connected(|client| read_trials(client, self.study).map_err(|e| self.error(e)))
    }

    fn insert(&self, t: &Trial) -> Result<i64, StudyError> {
        self.locked(|table| table.insert(t))
    }

    fn update(&self, t: &Trial) -> Result<(), StudyError> {
        self.connected(|client| update_trial(client, self.study, t).map_err(|e| self.error(e)))
    }

    fn beat(&self, id: i64) -> Result<(), StudyError> {
        self.with(|c| {
            c.execute(
                "UPDATE edgenas_trials SET heartbeat = $3 WHERE study = $1 AND id = $2",
                &[&self.study, &id, &now()],
            )
        })?;
        Ok(())
    }

    fn claim(
        &self,
        request: &ClaimRequest,
        propose: &mut claim::Propose,
    ) -> Result<Claim, StudyError> {
        let location = self.location();
        self.locked(|table| claim::decide(table, request, propose, &location))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{TimedStorage, conformance};

    /// A fresh study on the test server (`EDGENAS_TEST_POSTGRES`, which `.ci/run` starts), or
    /// `None`, said on stderr, without one; in CI the server must be there.
    fn fresh_study(test: &str) -> Option<PostgresStudy> {
        let Ok(base) = std::env::var("EDGENAS_TEST_POSTGRES") else {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI must run the PostgreSQL tests: EDGENAS_TEST_POSTGRES is not set"
            );
            eprintln!("skipped {test}: EDGENAS_TEST_POSTGRES is not set");
            return None;
        };
        let sep = if base.contains('?') { '&' } else { '?' };
        let name = format!("{test}-{}-{}", std::process::id(), now());
        Some(PostgresStudy::open(&format!("{base}{sep}study={name}"), true).unwrap())
    }

    #[test]
    fn postgres_keeps_the_storage_contract() {
        if let Some(study) = fresh_study("conformance") {
            conformance::check(&study);
        }
    }

    #[test]
    fn timed_postgres_keeps_the_storage_contract() {
        if let Some(study) = fresh_study("conformance-timed") {
            conformance::check(&TimedStorage::new(&study));
        }
    }

    #[test]
    fn the_study_name_comes_out_of_the_url_and_the_password_out_of_messages() {
        let u =
            parse_url("postgres://me:secret@db.example/edgenas?study=kws&sslmode=disable").unwrap();
        assert_eq!(u.name, "kws");
        assert_eq!(
            u.connection,
            "postgres://me:secret@db.example/edgenas?sslmode=disable"
        );
        assert_eq!(u.shown, "postgres://me:***@db.example/edgenas?study=kws");
        let u = parse_url("postgresql://me@localhost:5433/db?study=a").unwrap();
        assert_eq!(u.connection, "postgresql://me@localhost:5433/db");
        assert_eq!(u.shown, "postgresql://me@localhost:5433/db?study=a");
        let err = parse_url("postgres://me@localhost/db").err().unwrap();
        assert_eq!(err.0, "postgres://me@localhost/db");
        assert!(err.to_string().contains("?study=NAME"), "{err}");
        assert!(PostgresStudy::is_url("postgresql://x/y?study=z"));
        assert!(!PostgresStudy::is_url("study.db"));
    }

    #[test]
    fn an_unreachable_server_is_an_error_naming_the_study() {
        // Port 1 on loopback: nothing listens there.
        let err = PostgresStudy::open("postgres://me:pw@127.0.0.1:1/db?study=s", false)
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.starts_with("study postgres://me:***@127.0.0.1:1/db?study=s: cannot connect"),
            "{err}"
        );
        assert!(!err.contains("pw"), "{err}");
    }
}
