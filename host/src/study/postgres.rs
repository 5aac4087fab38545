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

use postgres::types::ToSql;
use postgres::{Client, Config, NoTls, Row};

use super::claim::{self, Claim, ClaimRequest, TrialTable};
use super::{Settings, Storage, StudyError, Trial, TrialState, now};

/// The schema version this edgenas writes.
const SCHEMA_VERSION: i32 = 1;

/// The first key of edgenas's advisory locks (`EDGE`); the second is the study's id, or 0
/// for the schema.
const LOCK_NAMESPACE: i32 = 0x4544_4745;

const SCHEMA: &str = "
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
    PRIMARY KEY (study, id),
    UNIQUE (study, genotype)
);
CREATE INDEX IF NOT EXISTS edgenas_trials_state ON edgenas_trials (study, state);";

const COLUMNS: &str = "id, genotype, state, seed, params, macs, ram_bytes, flash_bytes, \
    latency_ms, latency_kind, valid_accuracy, test_accuracy, train_seconds, created, started, \
    finished, artefacts, reason, worker, heartbeat";

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

fn parse_url(url: &str) -> Result<StudyUrl, String> {
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let mut name = None;
    let mut rest = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=') {
            Some(("study", n)) if !n.is_empty() => name = Some(n.to_string()),
            _ => rest.push(pair),
        }
    }
    let name = name.ok_or_else(|| {
        format!("{url}: a PostgreSQL study needs its name: add ?study=NAME to the URL")
    })?;
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
        let parsed = parse_url(url).map_err(|message| StudyError::Database {
            path: url.split('?').next().unwrap_or(url).into(),
            message,
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

    fn reconnect(&self, client: &mut Client) -> Result<(), StudyError> {
        *client = self.config.connect(NoTls).map_err(|e| {
            self.error(format!(
                "the connection was lost and cannot be opened again: {}",
                describe(&e)
            ))
        })?;
        Ok(())
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
        mut f: impl FnMut(&mut Table) -> Result<T, StudyError>,
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
            let mut table = Table {
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
        Some(_) => {}
    }
    t.commit()
}

fn read_trial(r: &Row) -> Result<Trial, String> {
    let state: String = r.get(2);
    let unsigned = |i: usize| r.get::<_, Option<i64>>(i).map(|v| v as u64);
    Ok(Trial {
        id: r.get(0),
        genotype: r.get(1),
        state: TrialState::from_name(&state)
            .ok_or_else(|| format!("unknown trial state `{state}`"))?,
        seed: r.get::<_, i64>(3) as u64,
        params: unsigned(4),
        macs: unsigned(5),
        ram_bytes: unsigned(6),
        flash_bytes: unsigned(7),
        latency_ms: r.get(8),
        latency_kind: r.get(9),
        valid_accuracy: r.get(10),
        test_accuracy: r.get(11),
        train_seconds: r.get(12),
        created: r.get(13),
        started: r.get(14),
        finished: r.get(15),
        artefacts: r.get(16),
        reason: r.get(17),
        worker: r.get(18),
        heartbeat: r.get(19),
    })
}

fn read_trials(
    client: &mut impl postgres::GenericClient,
    study: i32,
) -> Result<Vec<Trial>, String> {
    let rows = client
        .query(
            &format!("SELECT {COLUMNS} FROM edgenas_trials WHERE study = $1 ORDER BY id"),
            &[&study],
        )
        .map_err(|e| describe(&e))?;
    rows.iter().map(read_trial).collect()
}

/// Writes every field of trial `t.id`; an error if there is no such trial.
fn update_trial(
    client: &mut impl postgres::GenericClient,
    study: i32,
    t: &Trial,
) -> Result<(), String> {
    let signed = |v: Option<u64>| v.map(|v| v as i64);
    let (params, macs, ram, flash) = (
        signed(t.params),
        signed(t.macs),
        signed(t.ram_bytes),
        signed(t.flash_bytes),
    );
    let state = t.state.name();
    let seed = t.seed as i64;
    let values: [&(dyn ToSql + Sync); 21] = [
        &study,
        &t.id,
        &t.genotype,
        &state,
        &seed,
        &params,
        &macs,
        &ram,
        &flash,
        &t.latency_ms,
        &t.latency_kind,
        &t.valid_accuracy,
        &t.test_accuracy,
        &t.train_seconds,
        &t.created,
        &t.started,
        &t.finished,
        &t.artefacts,
        &t.reason,
        &t.worker,
        &t.heartbeat,
    ];
    let changed = client
        .execute(
            "UPDATE edgenas_trials SET genotype = $3, state = $4, seed = $5, params = $6,
             macs = $7, ram_bytes = $8, flash_bytes = $9, latency_ms = $10, latency_kind = $11,
             valid_accuracy = $12, test_accuracy = $13, train_seconds = $14, created = $15,
             started = $16, finished = $17, artefacts = $18, reason = $19, worker = $20,
             heartbeat = $21 WHERE study = $1 AND id = $2",
            &values,
        )
        .map_err(|e| describe(&e))?;
    if changed == 0 {
        return Err(format!("no trial {}", t.id));
    }
    Ok(())
}

/// The study's trials inside a transaction that holds its advisory lock.
struct Table<'a, 'c> {
    transaction: &'a mut postgres::Transaction<'c>,
    study: &'a PostgresStudy,
}

impl TrialTable for Table<'_, '_> {
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
        assert!(err.contains("?study=NAME"), "{err}");
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
