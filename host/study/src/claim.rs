//! How a worker gets its next trial. Every backend runs [`decide`] inside one exclusive
//! transaction of the study (SQLite: `BEGIN IMMEDIATE`; PostgreSQL: a per-study advisory
//! lock), so the decision sees every trial that other workers claimed before it, and no two
//! workers ever get the same one.

use super::{StudyError, Trial, TrialState, abandoned, now};

/// The trials of one study, inside a transaction of its storage.
pub trait TrialTable {
    /// Every trial, by id.
    fn trials(&mut self) -> Result<Vec<Trial>, StudyError>;
    /// Stores a new trial and returns its id.
    fn insert(&mut self, trial: &Trial) -> Result<i64, StudyError>;
    /// Writes every field of a stored trial.
    fn update(&mut self, trial: &Trial) -> Result<(), StudyError>;
}

/// Who claims, and when the study has enough.
#[derive(Clone, Debug)]
pub struct ClaimRequest {
    /// The worker's name ([`super::worker_name`]).
    pub worker: String,
    /// Trials to train (complete or failed) in the study: none is claimed once the trained
    /// and the live running ones reach it.
    pub trials: usize,
    /// Seconds without a heartbeat after which a running trial is taken from its worker.
    pub heartbeat_timeout: f64,
    /// The seed of a new trial's weights, split and sample order.
    pub seed: u64,
}

/// What a claim gives.
#[derive(Clone, Debug, PartialEq)]
pub enum Claim {
    /// This trial, now `running` under the worker's name (a new one, or one whose work did
    /// not end: pending, interrupted, or abandoned by a dead worker).
    Trial(Box<Trial>),
    /// The study has its trials trained (complete or failed).
    Full,
    /// The trials left are being run by live workers: nothing to claim now, but one may be
    /// abandoned later (ask again in a while).
    Wait,
    /// The strategy proposes nothing that is not in the study already.
    Exhausted,
}

/// The strategy's part of a claim: given every trial of the study, the genotype (canonical
/// text) of a new trial, not among them; `None` when it finds none. An `Err` is a trial it
/// cannot read.
pub type Propose<'a> = dyn FnMut(&[Trial]) -> Result<Option<String>, String> + 'a;

/// Decides the next trial of `request.worker` and records it as running: first a trial
/// whose work did not end (oldest first), then a new one from `propose`.
pub fn decide(
    table: &mut dyn TrialTable,
    request: &ClaimRequest,
    propose: &mut Propose,
    location: &str,
) -> Result<Claim, StudyError> {
    let history = table.trials()?;
    let at = now();
    let live =
        |t: &Trial| t.state == TrialState::Running && !abandoned(t, at, request.heartbeat_timeout);
    let trained = history.iter().filter(|t| t.state.was_trained()).count();
    if trained >= request.trials {
        return Ok(Claim::Full);
    }
    if trained + history.iter().filter(|t| live(t)).count() >= request.trials {
        return Ok(Claim::Wait);
    }
    let unfinished = history.iter().find(|t| {
        matches!(t.state, TrialState::Pending | TrialState::Interrupted)
            || (t.state == TrialState::Running && !live(t))
    });
    let mut trial = match unfinished {
        Some(t) => t.clone(),
        None => match propose(&history) {
            Ok(Some(genotype)) => Trial::pending(genotype, request.seed),
            Ok(None) => return Ok(Claim::Exhausted),
            Err(message) => {
                return Err(StudyError::Rejected {
                    path: location.into(),
                    message,
                });
            }
        },
    };
    trial.state = TrialState::Running;
    trial.worker = Some(request.worker.clone());
    trial.started = Some(at);
    trial.heartbeat = Some(at);
    trial.reason = None;
    if trial.id == 0 {
        trial.id = table.insert(&trial)?;
    } else {
        table.update(&trial)?;
    }
    Ok(Claim::Trial(Box::new(trial)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Trials in memory.
    #[derive(Default)]
    struct Memory(Vec<Trial>);

    impl TrialTable for Memory {
        fn trials(&mut self) -> Result<Vec<Trial>, StudyError> {
            Ok(self.0.clone())
        }
        fn insert(&mut self, t: &Trial) -> Result<i64, StudyError> {
            let mut t = t.clone();
            t.id = self.0.len() as i64 + 1;
            self.0.push(t);
            Ok(self.0.len() as i64)
        }
        fn update(&mut self, t: &Trial) -> Result<(), StudyError> {
            self.0[t.id as usize - 1] = t.clone();
            Ok(())
        }
    }

    fn request(worker: &str, trials: usize) -> ClaimRequest {
        ClaimRequest {
            worker: worker.into(),
            trials,
            heartbeat_timeout: 10.0,
            seed: 3,
        }
    }

    fn numbered(history: &[Trial]) -> Result<Option<String>, String> {
        Ok(Some(format!("g{}", history.len())))
    }

    #[test]
    fn new_trials_until_the_study_has_its_trials_counting_live_running_ones() {
        let mut table = Memory::default();
        let Claim::Trial(a) = decide(&mut table, &request("a", 2), &mut numbered, "s").unwrap()
        else {
            panic!()
        };
        assert_eq!((a.id, a.genotype.as_str(), a.seed), (1, "g0", 3));
        assert_eq!(
            (a.state, a.worker.as_deref()),
            (TrialState::Running, Some("a"))
        );
        let Claim::Trial(b) = decide(&mut table, &request("b", 2), &mut numbered, "s").unwrap()
        else {
            panic!()
        };
        assert_eq!(b.genotype, "g1");
        // Two live running trials fill a study of two, until they end.
        assert_eq!(
            decide(&mut table, &request("c", 2), &mut numbered, "s").unwrap(),
            Claim::Wait
        );
        // An infeasible trial does not count.
        table.0[0].state = TrialState::Infeasible;
        let Claim::Trial(c) = decide(&mut table, &request("c", 2), &mut numbered, "s").unwrap()
        else {
            panic!()
        };
        assert_eq!(c.genotype, "g2");
        for t in &mut table.0 {
            t.state = TrialState::Complete;
        }
        assert_eq!(
            decide(&mut table, &request("c", 2), &mut numbered, "s").unwrap(),
            Claim::Full
        );
    }

    #[test]
    fn unfinished_trials_come_first_and_an_abandoned_one_changes_worker() {
        let mut table = Memory::default();
        for w in ["a", "b", "c"] {
            decide(&mut table, &request(w, 9), &mut numbered, "s").unwrap();
        }
        table.0[1].heartbeat = Some(now() - 11.0); // b stopped beating
        table.0[2].state = TrialState::Interrupted;
        let mut never = |_: &[Trial]| -> Result<Option<String>, String> { panic!("proposed") };
        let Claim::Trial(t) = decide(&mut table, &request("d", 9), &mut never, "s").unwrap() else {
            panic!()
        };
        assert_eq!((t.id, t.worker.as_deref()), (2, Some("d")));
        let Claim::Trial(t) = decide(&mut table, &request("d", 9), &mut never, "s").unwrap() else {
            panic!()
        };
        assert_eq!((t.id, t.state), (3, TrialState::Running));
        assert_eq!(table.0.len(), 3);
    }

    #[test]
    fn a_strategy_with_nothing_new_exhausts_and_one_that_cannot_read_is_an_error() {
        let mut table = Memory::default();
        let mut none = |_: &[Trial]| Ok(None);
        assert_eq!(
            decide(&mut table, &request("a", 9), &mut none, "s").unwrap(),
            Claim::Exhausted
        );
        let mut bad = |_: &[Trial]| Err("trial 1: not a genotype".to_string());
        let err = decide(&mut table, &request("a", 9), &mut bad, "s.db").unwrap_err();
        assert_eq!(err.to_string(), "study s.db: trial 1: not a genotype");
    }
}
