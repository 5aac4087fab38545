//! Many `edgenas worker` processes on one study, in PostgreSQL and in a SQLite file: every
//! trial runs exactly once, the study ends with the trials it asked for, a worker killed with
//! SIGKILL mid-trial loses nothing (its trial is run again by another worker), and a hung
//! worker's trial is taken over after the heartbeat timeout.
//!
//! The PostgreSQL half needs a server: `.ci/run` starts one (`.ci/start-postgres`) and sets
//! `EDGENAS_TEST_POSTGRES`. Without it that half says that it skipped, except in CI, where it
//! fails. The evaluator is cheap: MLPs on `digits`, latency from the simulator.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use edgenas::study::{Prescreen, ProxyName, Trial, TrialState};
use serde_json::Value;

use crate::common::{ok, study_trials};

fn edgenas(args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_edgenas"));
    c.args(args);
    c
}

/// The studies to test on: a SQLite file in `dir`, and a PostgreSQL study when a server is
/// given. Study names are unique to this run.
fn studies(dir: &Path, test: &str) -> Vec<String> {
    let mut out = vec![dir.join(format!("{test}.db")).display().to_string()];
    match std::env::var("EDGENAS_TEST_POSTGRES") {
        Ok(base) => {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos();
            let sep = if base.contains('?') { '&' } else { '?' };
            out.push(format!(
                "{base}{sep}study={test}-{}-{nanos}",
                std::process::id()
            ));
        }
        Err(_) => {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI must run the PostgreSQL tests: EDGENAS_TEST_POSTGRES is not set"
            );
            eprintln!("skipped the PostgreSQL half: EDGENAS_TEST_POSTGRES is not set");
        }
    }
    out
}

/// `edgenas search` on `study` for `trials` MLP trials of `epochs` epochs, with `extra`.
fn search(study: &str, out: &Path, trials: usize, epochs: usize, extra: &[&str]) -> Output {
    let (trials, epochs) = (trials.to_string(), epochs.to_string());
    ok(edgenas(&[
        "search",
        "--study",
        study,
        "--space",
        "mlp",
        "--board",
        "nucleo-f746zg",
        "--data",
        "digits",
        "--meter",
        "simulator",
        "--strategy",
        "random",
        "--trials",
        &trials,
        "--epochs",
        &epochs,
        "--patience",
        "0",
        "--out",
    ])
    .arg(out)
    .args(extra)
    .output()
    .unwrap())
}

/// Creates `study`, leaving the work to workers.
fn create(study: &str, out: &Path, trials: usize, epochs: usize) {
    let o = search(study, out, trials, epochs, &["--workers", "0"]);
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("no trial run"),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
}

fn worker(study: &str, name: &str, out: &Path) -> Child {
    edgenas(&[
        "worker",
        "--study",
        study,
        "--name",
        name,
        "--meter",
        "simulator",
        "--json",
        "--heartbeat-timeout",
        "6",
        "--out",
    ])
    .arg(out.join(name))
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap()
}

/// The ids of the trials a worker says it ran.
fn ran(child: Child) -> Vec<i64> {
    let o = ok(child.wait_with_output().unwrap());
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    v["trials"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_i64().unwrap())
        .collect()
}

fn trained(trials: &[Trial]) -> usize {
    trials
        .iter()
        .filter(|t| matches!(t.state, TrialState::Complete | TrialState::Failed))
        .count()
}

/// Waits until a trial of `study` is running under worker `name`; returns it.
fn running_under(study: &str, name: &str) -> Trial {
    let start = Instant::now();
    loop {
        if let Some(t) = study_trials(study).into_iter().find(|t| {
            t.state == TrialState::Running
                && t.worker
                    .as_deref()
                    .is_some_and(|w| w.starts_with(&format!("{name}@")))
        }) {
            return t;
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "{name} never ran a trial"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn four_workers_run_every_trial_of_a_study_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    for study in studies(dir.path(), "four") {
        create(&study, dir.path(), 12, 2);
        let children: Vec<(String, Child)> = (1..=4)
            .map(|i| {
                let name = format!("w{i}");
                let child = worker(&study, &name, dir.path());
                (name, child)
            })
            .collect();
        let mut by_worker: HashMap<i64, String> = HashMap::new();
        for (name, child) in children {
            for id in ran(child) {
                let before = by_worker.insert(id, name.clone());
                assert!(
                    before.is_none(),
                    "{study}: trial {id} ran in {before:?} and {name}"
                );
            }
        }
        let all = study_trials(&study);
        assert_eq!(trained(&all), 12, "{study}: {all:#?}");
        let ids: HashSet<i64> = all.iter().map(|t| t.id).collect();
        assert_eq!(ids, by_worker.keys().copied().collect(), "{study}");
        let genotypes: HashSet<&str> = all.iter().map(|t| t.genotype.as_str()).collect();
        assert_eq!(genotypes.len(), all.len(), "{study}: a genotype twice");
        for t in &all {
            assert!(t.state.is_final(), "{study}: {t:?}");
            let w = t.worker.as_deref().unwrap();
            assert!(
                w.starts_with(&format!("{}@", by_worker[&t.id])),
                "{study}: {t:?}"
            );
        }
        // More than one worker did the work.
        let names: HashSet<&String> = by_worker.values().collect();
        assert!(names.len() >= 2, "{study}: only {names:?} worked");
        // The study reads back through status while (and after) workers write it.
        let o = ok(edgenas(&["status", "--study", &study, "--json"])
            .output()
            .unwrap());
        let v: Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(v["counts"]["running"], 0, "{study}");
    }
}

#[test]
fn a_killed_workers_trial_is_run_again_by_another_and_nothing_finished_is_lost() {
    let dir = tempfile::tempdir().unwrap();
    for study in studies(dir.path(), "kill") {
        // 100 epochs, no early stop: a trial trains for 1-2 s, long enough to be killed in.
        create(&study, dir.path(), 4, 100);
        let mut a = worker(&study, "a", dir.path());
        let victim = running_under(&study, "a");
        std::thread::sleep(Duration::from_millis(100));
        a.kill().unwrap(); // SIGKILL
        a.wait().unwrap();
        let before: Vec<Trial> = study_trials(&study)
            .into_iter()
            .filter(|t| t.state == TrialState::Complete)
            .collect();
        let at_kill = study_trials(&study)
            .into_iter()
            .find(|t| t.id == victim.id)
            .unwrap();
        assert_eq!(
            at_kill.state,
            TrialState::Running,
            "{study}: killed too late: {at_kill:?}"
        );
        let b = worker(&study, "b", dir.path());
        let c = worker(&study, "c", dir.path());
        let mut rerun = ran(b);
        rerun.extend(ran(c));
        assert!(
            rerun.contains(&victim.id),
            "{study}: trial {} was not rerun",
            victim.id
        );
        let all = study_trials(&study);
        assert_eq!(trained(&all), 4, "{study}: {all:#?}");
        let t = all.iter().find(|t| t.id == victim.id).unwrap();
        assert_eq!(t.state, TrialState::Complete, "{study}: {t:?}");
        let w = t.worker.as_deref().unwrap();
        assert!(w.starts_with("b@") || w.starts_with("c@"), "{study}: {t:?}");
        for done in &before {
            let now = all.iter().find(|t| t.id == done.id).unwrap();
            assert_eq!(now, done, "{study}: a finished trial changed");
        }
    }
}

#[test]
fn a_hung_workers_trial_is_taken_over_after_the_heartbeat_timeout() {
    let dir = tempfile::tempdir().unwrap();
    // PostgreSQL only, where workers of other machines rely on the timeout. A SQLite worker
    // stopped in the middle of a heartbeat's write would hold the file's lock, and the other
    // worker would fail after the 30 s busy timeout instead: a hazard of the test, not of
    // the search (a stopped process is not a dead one; a dead one releases the lock).
    for study in studies(dir.path(), "hung").into_iter().skip(1) {
        create(&study, dir.path(), 2, 100);
        let mut a = worker(&study, "a", dir.path());
        let victim = running_under(&study, "a");
        // Stopped, not dead: its process exists but its heartbeats stop.
        let pid = a.id().to_string();
        assert!(
            Command::new("kill")
                .args(["-STOP", &pid])
                .status()
                .unwrap()
                .success()
        );
        let stopped = Instant::now();
        let b = worker(&study, "b", dir.path());
        // b takes the trial only once a's heartbeat is older than 6 s.
        let t = loop {
            let t = study_trials(&study)
                .into_iter()
                .find(|t| t.id == victim.id)
                .unwrap();
            if t.worker.as_deref().is_some_and(|w| w.starts_with("b@")) {
                break t;
            }
            assert!(
                stopped.elapsed() < Duration::from_secs(120),
                "never taken over"
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        let waited = stopped.elapsed().as_secs_f64();
        assert!(
            waited > 4.0,
            "{study}: taken over after {waited:.1} s: {t:?}"
        );
        a.kill().unwrap();
        a.wait().unwrap();
        assert!(ran(b).contains(&victim.id));
        let all = study_trials(&study);
        assert_eq!(trained(&all), 2, "{study}: {all:#?}");
    }
}

/// Ends every server connection that serves `study` (a PostgreSQL study URL), as an
/// administrator or a server restart would; returns how many it ended.
fn end_connections_of(study: &str) -> usize {
    let name = study
        .split("study=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap();
    let base = std::env::var("EDGENAS_TEST_POSTGRES").unwrap();
    let mut admin = postgres::Client::connect(&base, postgres::NoTls).unwrap();
    admin
        .query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
             WHERE application_name = $1 AND pid <> pg_backend_pid()",
            &[&format!("edgenas {name}")],
        )
        .unwrap()
        .len()
}

#[test]
fn a_worker_whose_database_connection_is_ended_reconnects_and_finishes() {
    let dir = tempfile::tempdir().unwrap();
    for study in studies(dir.path(), "reconnect").into_iter().skip(1) {
        create(&study, dir.path(), 3, 30);
        let a = worker(&study, "a", dir.path());
        let first = running_under(&study, "a");
        // In the middle of the first trial's training: its heartbeats, then its result, find
        // the connection gone.
        assert!(
            end_connections_of(&study) >= 1,
            "no connection of {study} to end"
        );
        let ids = ran(a);
        assert_eq!(ids.len(), 3, "{study}: {ids:?}");
        assert!(ids.contains(&first.id));
        let all = study_trials(&study);
        assert_eq!(trained(&all), 3, "{study}: {all:#?}");
        assert!(
            all.iter().all(|t| t.state == TrialState::Complete),
            "{study}: {all:#?}"
        );
    }
}

#[test]
fn a_worker_refuses_a_study_it_cannot_serve() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("none.db").display().to_string();
    let o = edgenas(&["worker", "--study", &missing]).output().unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("does not exist"));
    let study = dir.path().join("s.db").display().to_string();
    create(&study, dir.path(), 2, 1);
    let o = edgenas(&["worker", "--study", &study, "--board", "nrf52840-dk"])
        .output()
        .unwrap();
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("board `nucleo-f746zg`"), "{err}");
    let o = edgenas(&["worker", "--study", &study, "--heartbeat-timeout", "1"])
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("--heartbeat-timeout"));
    let o = edgenas(&["worker", "--study", "postgres://me@127.0.0.1:1/db"])
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("?study=NAME"));
}

#[test]
fn the_search_exports_the_front_that_workers_elsewhere_trained() {
    // Workers keep weights on their own machines: the search that exports the finalists
    // trains them again from genotype and seed.
    let dir = tempfile::tempdir().unwrap();
    let study = dir.path().join("s.db").display().to_string();
    create(&study, dir.path(), 3, 2);
    assert!(ran(worker(&study, "far", dir.path())).len() >= 3);
    std::fs::remove_dir_all(dir.path().join("far")).unwrap();
    let out = dir.path().join("final");
    let o = search(&study, &out, 3, 2, &["--finalists", "1", "--json"]);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["stop"], "trials");
    let finalist = &v["finalists"][0];
    assert!(
        finalist["f32_test_accuracy"].as_f64().unwrap() > 50.0,
        "{finalist}"
    );
    let folder = Path::new(finalist["dir"].as_str().unwrap());
    for file in [
        "model.onnx",
        "model-int8.onnx",
        "model-int8.blob",
        "trial.json",
    ] {
        assert!(folder.join(file).exists(), "{file}");
    }
    // No trial was run again: the three the worker trained are the study's.
    assert_eq!(trained(&study_trials(&study)), 3);
    assert_eq!(
        study_trials(&study).len(),
        v["trials"].as_array().unwrap().len()
    );
}

/// Pre-screening is a setting of the study: a worker follows the last search's
/// `--prescreen`, so with a flash limit that rejects 70 % of MLPs, every trial a worker
/// records is admitted and trained (a worker that proposed without screening would record
/// rejected ones, as the plain search on the same limit does; that all 30 proposals for a
/// trial are rejected has a chance of 0.7^30, 2e-5).
#[test]
fn workers_pre_screen_as_the_study_says() {
    let dir = tempfile::tempdir().unwrap();
    let limit = ["--max-flash-kb", "76"];
    let plain = dir.path().join("plain.db").display().to_string();
    search(&plain, dir.path(), 4, 1, &limit);
    assert!(
        study_trials(&plain)
            .iter()
            .any(|t| t.state == TrialState::Infeasible),
        "76 KiB of flash (64 KiB of it the runtime) rejects most MLPs"
    );
    let study = dir.path().join("screened.db").display().to_string();
    let mut extra = limit.to_vec();
    extra.extend(["--workers", "0", "--prescreen", "grad-norm:30"]);
    search(&study, dir.path(), 3, 1, &extra);
    let settings = edgenas::study::open(&study, false)
        .unwrap()
        .settings()
        .unwrap()
        .unwrap();
    assert_eq!(
        settings.prescreen,
        Some(Prescreen {
            proxy: ProxyName::GradNorm,
            candidates: 30
        })
    );
    ran(worker(&study, "w", dir.path()));
    let recorded = study_trials(&study);
    assert_eq!(recorded.len(), 3, "{recorded:?}");
    for t in recorded {
        assert_eq!(t.state, TrialState::Complete, "{t:?}");
        assert!(t.flash_bytes.unwrap() <= 76 * 1024, "{t:?}");
    }
}

/// ASHA decides at a rung from the curves in the study, so workers need not wait for one
/// another: three workers on one study train the trials asked for, prune some at the rungs
/// (epochs 1 and 2 of 4, eta 2), and run every complete trial to its last epoch.
#[test]
fn asha_with_three_workers_prunes_at_the_rungs_and_trains_the_trials_asked_for() {
    let dir = tempfile::tempdir().unwrap();
    for study in studies(dir.path(), "asha") {
        let extra = ["--workers", "0", "--fidelity", "asha", "--eta", "2"];
        search(&study, dir.path(), 9, 4, &extra);
        let children: Vec<Child> = (1..=3)
            .map(|i| worker(&study, &format!("a{i}"), dir.path()))
            .collect();
        for child in children {
            ran(child);
        }
        let all = study_trials(&study);
        let trained: Vec<&Trial> = all.iter().filter(|t| t.state.was_trained()).collect();
        assert_eq!(trained.len(), 9, "{study}: {all:#?}");
        let pruned: Vec<&&Trial> = trained
            .iter()
            .filter(|t| t.state == TrialState::Pruned)
            .collect();
        assert!(
            !pruned.is_empty(),
            "{study}: nine MLPs, none behind at a rung"
        );
        for t in &pruned {
            let last = t.curve.last().unwrap().epoch;
            assert!([1, 2].contains(&last), "{study}: {t:?}");
            let reason = t.reason.as_deref().unwrap_or("");
            assert!(
                reason.contains(&format!("at the {last}-epoch rung")),
                "{reason}"
            );
        }
        for t in trained.iter().filter(|t| t.state == TrialState::Complete) {
            assert_eq!(t.curve.len(), 4, "{study}: {t:?}");
        }
    }
}

/// A throwaway PostgreSQL cluster of this test's own (`.ci/start-postgres`), stopped when
/// dropped: restarting the shared one would disturb the other tests.
struct OwnServer {
    url: String,
    dir: String,
}

impl OwnServer {
    /// Starts one, or says why not (no PostgreSQL here) — in CI it must start.
    fn start() -> Option<OwnServer> {
        let script = crate::common::repo_root().join(".ci/start-postgres");
        let out = Command::new("bash").arg(&script).output().unwrap();
        if !out.status.success() {
            let why = String::from_utf8_lossy(&out.stderr).into_owned();
            assert!(
                std::env::var_os("CI").is_none(),
                "CI must run the server-restart test: {why}"
            );
            eprintln!("skipped the server-restart test: {why}");
            return None;
        }
        let text = String::from_utf8(out.stdout).unwrap();
        let value = |key: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(&format!("{key}=")))
                .unwrap()
                .to_string()
        };
        Some(OwnServer {
            url: value("EDGENAS_TEST_POSTGRES"),
            dir: value("EDGENAS_TEST_POSTGRES_DIR"),
        })
    }

    /// `.ci/start-postgres --restart|--stop DIR`.
    fn control(&self, what: &str) {
        let script = crate::common::repo_root().join(".ci/start-postgres");
        ok(Command::new("bash")
            .arg(&script)
            .args([what, &self.dir])
            .output()
            .unwrap());
    }
}

impl Drop for OwnServer {
    fn drop(&mut self) {
        self.control("--stop");
    }
}

/// The PostgreSQL server restarts in the middle of a four-worker study: every worker opens its
/// connection again (waiting for the server with back-off) and goes on; every trial ends
/// exactly once.
#[test]
fn four_workers_ride_out_a_server_restart() {
    let Some(server) = OwnServer::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let study = format!("{}?study=restart", server.url);
    create(&study, dir.path(), 16, 8);
    let children: Vec<Child> = (1..=4)
        .map(|i| worker(&study, &format!("w{i}"), dir.path()))
        .collect();
    let first = running_under(&study, "w1");
    server.control("--restart");
    let mut by_worker: HashMap<i64, usize> = HashMap::new();
    for (i, child) in children.into_iter().enumerate() {
        for id in ran(child) {
            assert!(by_worker.insert(id, i).is_none(), "trial {id} ran twice");
        }
    }
    let all = study_trials(&study);
    assert_eq!(trained(&all), 16, "{all:#?}");
    assert!(all.iter().all(|t| t.state.is_final()), "{all:#?}");
    assert!(by_worker.contains_key(&first.id));
    let genotypes: HashSet<&str> = all.iter().map(|t| t.genotype.as_str()).collect();
    assert_eq!(genotypes.len(), all.len(), "a genotype twice");
}
