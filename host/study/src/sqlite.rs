//! A study in one SQLite file (WAL mode, so a report can read it while a search writes;
//! several local workers share it, each claim an immediate transaction, each writer waiting
//! up to 30 s for the lock).

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::claim::{self, Claim, ClaimRequest, TrialTable};
use super::columns::{self, COLUMNS, Kind, TrialsError, Value};
use super::{Settings, Storage, StudyError, Trial, now};

/// The schema version this edgenas writes: 2 added the trials' learning curves.
const SCHEMA_VERSION: i64 = 2;

pub(crate) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS trials (
    id INTEGER PRIMARY KEY,
    genotype TEXT NOT NULL UNIQUE,
    state TEXT NOT NULL,
    seed INTEGER NOT NULL,
    params INTEGER, macs INTEGER, ram_bytes INTEGER, flash_bytes INTEGER,
    latency_ms REAL, latency_kind TEXT,
    valid_accuracy REAL, test_accuracy REAL, train_seconds REAL,
    created REAL NOT NULL, started REAL, finished REAL,
    artefacts TEXT, reason TEXT, worker TEXT, heartbeat REAL,
    curve TEXT
);";

/// A study in a SQLite file.
pub struct SqliteStudy {
    path: PathBuf,
    connection: Mutex<Connection>,
}

impl SqliteStudy {
    /// Opens the study at `path`, creating it when `create` is set and the file does not
    /// exist. A file that is not an edgenas study is an error, and is left untouched.
    pub fn open(path: &Path, create: bool) -> Result<SqliteStudy, StudyError> {
        let shown = path.display().to_string();
        let exists = path.exists();
        if !exists && !create {
            return Err(StudyError::Missing(shown));
        }
        let db = |e: rusqlite::Error| StudyError::Database {
            path: shown.clone(),
            message: with_hint(&e),
        };
        let mut connection = Connection::open(path).map_err(db)?;
        connection
            .busy_timeout(std::time::Duration::from_secs(30))
            .map_err(db)?;
        if exists {
            let is_study: Option<String> = connection
                .query_row("SELECT value FROM meta WHERE key = 'format'", [], |r| {
                    r.get(0)
                })
                .optional()
                .unwrap_or(None);
            if is_study.as_deref() != Some("edgenas-study") {
                return Err(StudyError::NotAStudy(shown));
            }
            let version: i64 = connection
                .query_row(
                    "SELECT value FROM meta WHERE key = 'schema_version'",
                    [],
                    |r| r.get::<_, String>(0),
                )
                .map_err(db)?
                .parse()
                .unwrap_or(0);
            if version > SCHEMA_VERSION {
                return Err(StudyError::Database {
                    path: shown,
                    message: format!(
                        "schema version {version} is newer than this edgenas's ({SCHEMA_VERSION}): upgrade edgenas"
                    ),
                });
            }
        }
        if exists {
            migrate(&mut connection).map_err(db)?;
        }
        connection
            .pragma_update(None, "journal_mode", "WAL")
            .map_err(db)?;
        connection.execute_batch(SCHEMA).map_err(db)?;
        connection
            .execute(
                "INSERT OR IGNORE INTO meta (key, value) VALUES ('format', 'edgenas-study'), ('schema_version', ?1)",
                [SCHEMA_VERSION.to_string()],
            )
            .map_err(db)?;
        Ok(SqliteStudy {
            path: path.to_path_buf(),
            connection: Mutex::new(connection),
        })
    }

    fn error(&self, e: impl std::fmt::Display) -> StudyError {
        StudyError::Database {
            path: self.path.display().to_string(),
            message: with_hint(&e),
        }
    }

    fn with<T, E: std::fmt::Display>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, E>,
    ) -> Result<T, StudyError> {
        let connection = self.connection.lock().map_err(|e| self.error(e))?;
        f(&connection).map_err(|e| self.error(e))
    }
}

fn read_trial(r: &rusqlite::Row) -> rusqlite::Result<Trial> {
    let values = COLUMNS
        .iter()
        .enumerate()
        .map(|(i, (_, kind))| {
            Ok(match kind {
                Kind::Text => Value::Text(r.get(i)?),
                Kind::Int => Value::Int(r.get(i)?),
                Kind::Real => Value::Real(r.get(i)?),
            })
        })
        .collect::<rusqlite::Result<Vec<Value>>>()?;
    columns::trial(values).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Null, e.into())
    })
}

impl rusqlite::ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        match self {
            Value::Text(v) => v.to_sql(),
            Value::Int(v) => v.to_sql(),
            Value::Real(v) => v.to_sql(),
        }
    }
}

/// Brings a study of an older schema up to this one, in one exclusive transaction, so that two
/// processes opening it together migrate it once. Version 1 → 2 added the learning curves.
/// A study of the current schema is only read (it may be read-only).
fn migrate(connection: &mut Connection) -> rusqlite::Result<()> {
    let version = |c: &Connection| {
        c.query_row(
            "SELECT value FROM meta WHERE key = 'schema_version'",
            [],
            |r| r.get::<_, String>(0),
        )
        .map(|v| v.parse::<i64>().unwrap_or(0))
    };
    if version(connection)? >= SCHEMA_VERSION {
        return Ok(());
    }
    let t = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    if version(&t)? < 2 {
        t.execute_batch(
            "ALTER TABLE trials ADD COLUMN curve TEXT;
             UPDATE meta SET value = '2' WHERE key = 'schema_version';",
        )?;
    }
    t.commit()
}

impl Storage for SqliteStudy {
    fn location(&self) -> String {
        self.path.display().to_string()
    }

    fn folder(&self) -> Option<PathBuf> {
        let parent = self.path.parent()?;
        Some(match parent.as_os_str().is_empty() {
            true => PathBuf::from("."),
            false => parent.to_path_buf(),
        })
    }

    fn settings(&self) -> Result<Option<Settings>, StudyError> {
        let text: Option<String> = self.with(|c| {
            c.query_row("SELECT value FROM meta WHERE key = 'settings'", [], |r| {
                r.get(0)
            })
            .optional()
        })?;
        text.map(|t| serde_json::from_str(&t).map_err(|e| self.error(e)))
            .transpose()
    }

    fn set_settings(&self, settings: &Settings) -> Result<(), StudyError> {
        let text = serde_json::to_string(settings).map_err(|e| self.error(e))?;
        self.with(|c| {
            c.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('settings', ?1)",
                [text],
            )
        })?;
        Ok(())
    }

    fn trials(&self) -> Result<Vec<Trial>, StudyError> {
        self.with(read_trials)
    }

    fn insert(&self, t: &Trial) -> Result<i64, StudyError> {
        self.with(|c| insert_trial(c, t))
    }

    fn update(&self, t: &Trial) -> Result<(), StudyError> {
        self.with(|c| update_trial(c, t))
    }

    fn beat(&self, id: i64) -> Result<(), StudyError> {
        self.with(|c| {
            c.execute(
                "UPDATE trials SET heartbeat = ?2 WHERE id = ?1",
                params![id, now()],
            )
        })?;
        Ok(())
    }

    fn claim(
        &self,
        request: &ClaimRequest,
        propose: &mut claim::Propose,
    ) -> Result<Claim, StudyError> {
        let mut connection = self.connection.lock().map_err(|e| self.error(e))?;
        let transaction = connection
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| self.error(e))?;
        let mut table = SqliteTrials {
            connection: &transaction,
            study: self,
        };
        let claim = claim::decide(&mut table, request, propose, &self.location())?;
        transaction.commit().map_err(|e| self.error(e))?;
        Ok(claim)
    }
}

/// The trials inside a transaction.
struct SqliteTrials<'a> {
    connection: &'a Connection,
    study: &'a SqliteStudy,
}

impl TrialTable for SqliteTrials<'_> {
    fn trials(&mut self) -> Result<Vec<Trial>, StudyError> {
        read_trials(self.connection).map_err(|e| self.study.error(e))
    }

    fn insert(&mut self, t: &Trial) -> Result<i64, StudyError> {
        insert_trial(self.connection, t).map_err(|e| self.study.error(e))
    }

    fn update(&mut self, t: &Trial) -> Result<(), StudyError> {
        update_trial(self.connection, t).map_err(|e| self.study.error(e))
    }
}

fn read_trials(c: &Connection) -> rusqlite::Result<Vec<Trial>> {
    let select = columns::select_list();
    let mut statement = c.prepare_cached(&format!("SELECT {select} FROM trials ORDER BY id"))?;
    let rows = statement.query_map([], read_trial)?;
    rows.collect()
}

fn insert_trial(c: &Connection, t: &Trial) -> Result<i64, TrialsError> {
    c.execute(
        "INSERT INTO trials (genotype, state, seed, created) VALUES (?1, ?2, ?3, ?4)",
        params![t.genotype, t.state.name(), t.seed as i64, t.created],
    )
    .map_err(sql)?;
    let mut stored = t.clone();
    stored.id = c.last_insert_rowid();
    update_trial(c, &stored)?;
    Ok(stored.id)
}

/// Writes every field of trial `t.id`; an error if there is no such trial.
fn update_trial(c: &Connection, t: &Trial) -> Result<(), TrialsError> {
    let set = columns::assignments(|i| format!("?{}", i + 1));
    let changed = c
        .execute(
            &format!("UPDATE trials SET {set} WHERE id = ?1"),
            rusqlite::params_from_iter(columns::row(t)),
        )
        .map_err(sql)?;
    match changed {
        0 => Err(TrialsError::NoTrial(t.id)),
        _ => Ok(()),
    }
}

/// SQLite's error as a [`TrialsError`].
fn sql(e: rusqlite::Error) -> TrialsError {
    TrialsError::Database(e.to_string())
}

/// SQLite's words for a write that found no room ("disk I/O error", "database or disk is
/// full"), with what to do about it; other errors as they are.
fn with_hint(e: &dyn std::fmt::Display) -> String {
    let message = e.to_string();
    if message.contains("disk I/O error") || message.contains("disk is full") {
        format!(
            "{message}: is the disk full, or a file-size limit (`ulimit -f`) reached? What the \
             study holds is kept; run the command again once there is room"
        )
    } else {
        message
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{TimedStorage, TrialState, conformance};

    #[test]
    fn sqlite_keeps_the_storage_contract() {
        let dir = tempfile::tempdir().unwrap();
        let study = SqliteStudy::open(&dir.path().join("study.db"), true).unwrap();
        conformance::check(&study);
    }

    #[test]
    fn timed_storage_keeps_the_storage_contract() {
        let dir = tempfile::tempdir().unwrap();
        let study = SqliteStudy::open(&dir.path().join("study.db"), true).unwrap();
        let timed = TimedStorage::new(&study);
        conformance::check(&timed);
        assert!(timed.seconds() > 0.0, "the time in the storage is counted");
    }

    #[test]
    fn trials_round_trip_and_genotypes_are_unique() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        let study = SqliteStudy::open(&path, true).unwrap();
        let mut t = Trial::pending("e0=none".into(), 7);
        t.id = study.insert(&t).unwrap();
        t.state = TrialState::Complete;
        t.valid_accuracy = Some(91.5);
        t.ram_bytes = Some(12_345);
        study.update(&t).unwrap();
        assert!(study.insert(&Trial::pending("e0=none".into(), 8)).is_err());
        drop(study);
        let again = SqliteStudy::open(&path, false).unwrap();
        assert_eq!(again.trials().unwrap(), vec![t]);
    }

    #[test]
    fn a_file_that_is_not_a_study_is_refused_and_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let text = dir.path().join("notes.txt");
        std::fs::write(&text, "hello").unwrap();
        let err = SqliteStudy::open(&text, true).err().unwrap();
        assert!(matches!(err, StudyError::NotAStudy(_)), "{err}");
        assert_eq!(std::fs::read_to_string(&text).unwrap(), "hello");
        let other = dir.path().join("other.db");
        Connection::open(&other)
            .unwrap()
            .execute_batch("CREATE TABLE x (y INTEGER)")
            .unwrap();
        assert!(matches!(
            SqliteStudy::open(&other, true),
            Err(StudyError::NotAStudy(_))
        ));
        assert!(matches!(
            SqliteStudy::open(&dir.path().join("none.db"), false),
            Err(StudyError::Missing(_))
        ));
    }

    #[test]
    fn artefact_paths_are_recorded_beside_the_study_and_found_after_a_move() {
        let dir = tempfile::tempdir().unwrap();
        let run = dir.path().join("run");
        std::fs::create_dir_all(run.join("trials/1")).unwrap();
        let study = SqliteStudy::open(&run.join("study.db"), true).unwrap();
        assert_eq!(
            crate::artefacts_text(&study, &run.join("trials/1")),
            "trials/1"
        );
        // A folder outside the study's is recorded whole.
        let outside = dir.path().join("elsewhere");
        std::fs::create_dir_all(&outside).unwrap();
        let text = crate::artefacts_text(&study, &outside);
        assert!(Path::new(&text).is_absolute(), "{text}");
        let mut t = Trial::pending("g".into(), 1);
        t.artefacts = Some("trials/1".into());
        drop(study);
        let moved = dir.path().join("moved");
        std::fs::rename(&run, &moved).unwrap();
        let study = SqliteStudy::open(&moved.join("study.db"), false).unwrap();
        assert_eq!(
            crate::artefacts_dir(&study, &t),
            Some(moved.join("trials/1"))
        );
        // A path recorded whole is taken as it is (as is one an older version recorded
        // relative to where its search ran, where it exists and not beside the study).
        let legacy = dir.path().join("legacy");
        std::fs::create_dir_all(&legacy).unwrap();
        t.artefacts = Some(legacy.display().to_string());
        assert_eq!(crate::artefacts_dir(&study, &t), Some(legacy));
    }

    #[test]
    fn a_study_of_schema_version_1_is_migrated_and_keeps_its_trials() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v1.db");
        let v1 = Connection::open(&path).unwrap();
        v1.execute_batch(&SCHEMA.replace(",\n    curve TEXT", ""))
            .unwrap();
        assert!(!SCHEMA.replace(",\n    curve TEXT", "").contains("curve"));
        v1.execute_batch(
            "INSERT INTO meta (key, value) VALUES ('format', 'edgenas-study'), ('schema_version', '1');
             INSERT INTO trials (id, genotype, state, seed, valid_accuracy, created)
                 VALUES (1, 'e0=none', 'complete', 7, 93.5, 1.0);",
        )
        .unwrap();
        drop(v1);
        let study = SqliteStudy::open(&path, false).unwrap();
        let trials = study.trials().unwrap();
        assert_eq!(trials.len(), 1);
        assert_eq!(trials[0].valid_accuracy, Some(93.5));
        assert!(trials[0].curve.is_empty());
        let mut t = trials[0].clone();
        t.curve.push(crate::EpochPoint {
            epoch: 1,
            valid_accuracy: 93.5,
            seconds: 2.0,
        });
        study.update(&t).unwrap();
        drop(study);
        // Opened again (now version 2): nothing more to migrate, the curve is there.
        let again = SqliteStudy::open(&path, false).unwrap();
        assert_eq!(again.trials().unwrap(), vec![t]);
        let version: String = Connection::open(&path)
            .unwrap()
            .query_row(
                "SELECT value FROM meta WHERE key = 'schema_version'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(version, "2");
    }
}
