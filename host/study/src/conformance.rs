//! The storage contract as checks: [`check`] runs every one on a backend, so that SQLite,
//! PostgreSQL and every wrapper of a [`Storage`] (such as [`crate::TimedStorage`]) are held to
//! the same behaviour. Each backend's tests call it on a fresh, empty study.

use edgenas_model::named::StrategyName;

use crate::claim::{Claim, ClaimRequest};
use crate::{Settings, Storage, Trial, TrialState, now};

/// Runs every check of the contract on `storage`, an empty study. Panics (it is for tests)
/// with the check that failed and the study's location.
pub fn check(storage: &dyn Storage) {
    let at = storage.location();
    assert!(
        storage.trials().unwrap().is_empty(),
        "{at}: the study is not empty"
    );
    settings_round_trip(storage);
    trials_round_trip_every_field(storage);
    a_genotype_is_stored_once(storage);
    updating_a_missing_trial_fails(storage);
    a_beat_records_the_time(storage);
    claims_follow_the_rule(storage);
}

fn settings_round_trip(storage: &dyn Storage) {
    let at = storage.location();
    assert_eq!(
        storage.settings().unwrap(),
        None,
        "{at}: settings of a new study"
    );
    let mut s = Settings::example();
    storage.set_settings(&s).unwrap();
    assert_eq!(
        storage.settings().unwrap().as_ref(),
        Some(&s),
        "{at}: settings read back"
    );
    s.strategy = StrategyName::Random;
    storage.set_settings(&s).unwrap();
    assert_eq!(
        storage.settings().unwrap(),
        Some(s),
        "{at}: settings replaced"
    );
}

/// A trial with every optional field set, counts at the edge of `i64`.
fn full_trial(genotype: &str) -> Trial {
    let mut t = Trial::pending(genotype.into(), u64::MAX);
    t.state = TrialState::Complete;
    t.params = Some(u64::MAX);
    t.macs = Some(0);
    t.ram_bytes = Some(1 << 40);
    t.flash_bytes = Some(12345);
    t.latency_ms = Some(0.125);
    t.latency_kind = Some("predicted (simulator)".into());
    t.valid_accuracy = Some(97.5);
    t.test_accuracy = Some(96.25);
    t.train_seconds = Some(3.5);
    t.started = Some(t.created + 1.0);
    t.finished = Some(t.created + 2.0);
    t.artefacts = Some("trials/1 ünïcode".into());
    t.reason = Some("it's \"quoted\"; DROP TABLE trials".into());
    t.worker = Some("w@host:1".into());
    t.heartbeat = Some(t.created + 1.5);
    t.curve = vec![
        crate::EpochPoint {
            epoch: 1,
            valid_accuracy: 81.25,
            seconds: 0.5,
        },
        crate::EpochPoint {
            epoch: 2,
            valid_accuracy: 97.5,
            seconds: 1.0,
        },
    ];
    t
}

fn trials_round_trip_every_field(storage: &dyn Storage) {
    let at = storage.location();
    let mut first = full_trial("round|trip");
    first.id = storage.insert(&first).unwrap();
    let second = Trial::pending("second".into(), 0);
    let second_id = storage.insert(&second).unwrap();
    assert_eq!(first.id, 1, "{at}: the first trial is number 1");
    assert!(
        first.id >= 1 && second_id > first.id,
        "{at}: ids grow from 1"
    );
    let trials = storage.trials().unwrap();
    assert_eq!(trials.len(), 2, "{at}: two trials stored");
    assert_eq!(trials[0], first, "{at}: every field read back");
    assert_eq!(trials[1].state, TrialState::Pending);
    assert_eq!(trials[1].params, None, "{at}: NULL read back as None");
    first.state = TrialState::Failed;
    first.params = None;
    first.reason = None;
    storage.update(&first).unwrap();
    assert_eq!(
        storage.trials().unwrap()[0],
        first,
        "{at}: update writes every field"
    );
    clear(storage);
}

fn a_genotype_is_stored_once(storage: &dyn Storage) {
    let at = storage.location();
    storage.insert(&Trial::pending("once".into(), 1)).unwrap();
    assert!(
        storage.insert(&Trial::pending("once".into(), 2)).is_err(),
        "{at}: a genotype stored twice"
    );
    let trials = storage.trials().unwrap();
    let stored = trials.iter().filter(|t| t.genotype == "once").count();
    assert_eq!(stored, 1, "{at}: the refused insert left a trial");
    clear(storage);
}

fn updating_a_missing_trial_fails(storage: &dyn Storage) {
    let mut t = Trial::pending("missing".into(), 1);
    t.id = 1_000_000;
    assert!(
        storage.update(&t).is_err(),
        "{}: updating a trial that is not there",
        storage.location()
    );
}

fn a_beat_records_the_time(storage: &dyn Storage) {
    let mut t = Trial::pending("beating".into(), 1);
    t.id = storage.insert(&t).unwrap();
    let before = now();
    storage.beat(t.id).unwrap();
    let trials = storage.trials().unwrap();
    let beat = trials
        .iter()
        .find(|s| s.id == t.id)
        .and_then(|t| t.heartbeat);
    assert!(
        beat.is_some_and(|b| b >= before - 1.0 && b <= now() + 1.0),
        "{}: heartbeat {beat:?}",
        storage.location()
    );
    clear(storage);
}

fn claims_follow_the_rule(storage: &dyn Storage) {
    let at = storage.location();
    // Earlier checks left failed trials, which count as trained.
    let base = storage.trials().unwrap().len();
    let request = |worker: &str, trials: usize| ClaimRequest {
        worker: worker.into(),
        trials: base + trials,
        heartbeat_timeout: 60.0,
        seed: 5,
    };
    let mut pending = Trial::pending("waiting".into(), 4);
    pending.id = storage.insert(&pending).unwrap();
    let mut proposed = 0;
    let mut propose = |history: &[Trial]| {
        proposed += 1;
        Ok(Some(format!("new{}", history.len() - base)))
    };
    // A pending trial goes before anything new.
    let Claim::Trial(t) = storage.claim(&request("a", 3), &mut propose).unwrap() else {
        panic!("{at}: no trial claimed");
    };
    assert_eq!((t.id, t.state), (pending.id, TrialState::Running), "{at}");
    assert_eq!(t.worker.as_deref(), Some("a"), "{at}");
    // Then a proposed one, stored as running with the request's seed.
    let Claim::Trial(n) = storage.claim(&request("b", 3), &mut propose).unwrap() else {
        panic!("{at}: no new trial");
    };
    assert_eq!((n.genotype.as_str(), n.seed), ("new1", 5), "{at}");
    let stored = storage.trials().unwrap();
    assert_eq!(stored.len(), base + 2, "{at}: the new trial is stored");
    let running = stored.iter().filter(|t| t.state == TrialState::Running);
    assert_eq!(running.count(), 2, "{at}");
    // As many live running trials as are wanted: wait, since one of them may yet fail.
    assert!(matches!(
        storage.claim(&request("c", 2), &mut propose).unwrap(),
        Claim::Wait
    ));
    let mut done = (*n).clone();
    done.state = TrialState::Complete;
    storage.update(&done).unwrap();
    let mut failed = (*t).clone();
    failed.state = TrialState::Failed;
    storage.update(&failed).unwrap();
    assert!(matches!(
        storage.claim(&request("c", 2), &mut propose).unwrap(),
        Claim::Full
    ));
    assert_eq!(proposed, 1, "{at}: the strategy was asked only when needed");
    let mut nothing = |_: &[Trial]| Ok(None);
    assert!(matches!(
        storage.claim(&request("c", 9), &mut nothing).unwrap(),
        Claim::Exhausted
    ));
    let mut unreadable = |_: &[Trial]| Err("unreadable".to_string());
    assert!(storage.claim(&request("c", 9), &mut unreadable).is_err());
    let after = storage.trials().unwrap().len();
    assert_eq!(after, base + 2, "{at}: a failed claim stored nothing");
}

/// Marks every trial failed, so that the next check starts from a study with nothing to
/// claim (the contract has no delete).
fn clear(storage: &dyn Storage) {
    for mut t in storage.trials().unwrap() {
        if t.state != TrialState::Failed {
            t.state = TrialState::Failed;
            storage.update(&t).unwrap();
        }
    }
}
