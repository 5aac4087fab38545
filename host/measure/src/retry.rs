//! Measurements on a board behind a link that can drop — a Linux board's agent, a
//! microcontroller on a debug probe — tried again when the link failed, so that a board that
//! rebooted or a cable pulled and put back costs a trial a wait, not its measurement.

use std::time::Duration;

use super::{MeasureError, Measurement, Meter};

/// The waits before the second and third attempts.
pub const RETRY_WAITS: [Duration; 2] = [Duration::from_secs(2), Duration::from_secs(20)];

/// A meter whose measurements are tried again after [`RETRY_WAITS`] when they fail for the
/// link's sake ([`MeasureError::is_transient`]); other failures (the model's, a refusal) are
/// returned at once. A measurement that needed more than one attempt says so in its warnings.
pub struct Retrying {
    inner: Box<dyn Meter>,
    waits: Vec<Duration>,
}

impl Retrying {
    /// `inner`, retried after `waits` (one attempt more than waits).
    pub fn new(inner: Box<dyn Meter>, waits: &[Duration]) -> Retrying {
        Retrying {
            inner,
            waits: waits.to_vec(),
        }
    }

    /// What attempt `attempt` (from 0) ended in, after the link `failures` of those before.
    fn outcome(
        &self,
        result: Result<Measurement, MeasureError>,
        attempt: usize,
        failures: &[String],
    ) -> Result<Measurement, MeasureError> {
        match result {
            Ok(mut m) => {
                if !failures.is_empty() {
                    m.warnings.push(format!(
                        "measured at attempt {} (waited {:?} after: {})",
                        attempt + 1,
                        &self.waits[..attempt],
                        failures.join("; ")
                    ));
                }
                Ok(m)
            }
            Err(MeasureError::Lost(last)) if !failures.is_empty() => {
                Err(MeasureError::Lost(format!(
                    "{last} (tried {} times over {:?})",
                    attempt + 1,
                    self.waits[..attempt].iter().sum::<Duration>()
                )))
            }
            Err(e) => Err(e),
        }
    }
}

impl Meter for Retrying {
    fn backend(&self) -> &'static str {
        self.inner.backend()
    }

    fn measure(&self, bytes: &[u8], what: &str) -> Result<Measurement, MeasureError> {
        let mut failures = Vec::new();
        for (attempt, wait) in self.waits.iter().enumerate() {
            match self.inner.measure(bytes, what) {
                Err(e) if e.is_transient() => {
                    failures.push(e.to_string());
                    std::thread::sleep(*wait);
                }
                result => return self.outcome(result, attempt, &failures),
            }
        }
        let last = self.inner.measure(bytes, what);
        self.outcome(last, self.waits.len(), &failures)
    }

    fn fallback(&self) -> Option<&str> {
        self.inner.fallback()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Kind, Latency};
    use std::cell::RefCell;

    /// A meter that fails as `script` says, one entry per call, then measures.
    struct Scripted {
        script: RefCell<Vec<MeasureError>>,
    }

    impl Meter for Scripted {
        fn backend(&self) -> &'static str {
            "scripted"
        }

        fn measure(&self, _: &[u8], _: &str) -> Result<Measurement, MeasureError> {
            match self.script.borrow_mut().pop() {
                Some(e) => Err(e),
                None => Ok(Measurement {
                    board: "b".into(),
                    backend: "scripted".into(),
                    kind: Kind::Measured,
                    latency_ms: Latency {
                        median: 1.0,
                        p10: 1.0,
                        p90: 1.0,
                        runs: 1,
                    },
                    cycles: None,
                    instructions: None,
                    ram_bytes: None,
                    flash_bytes: None,
                    warnings: Vec::new(),
                    board_facts: None,
                    ops: None,
                    front_end: None,
                }),
            }
        }
    }

    fn retrying(mut script: Vec<MeasureError>) -> Retrying {
        script.reverse();
        let inner = Scripted {
            script: RefCell::new(script),
        };
        Retrying::new(Box::new(inner), &[Duration::ZERO; 2])
    }

    #[test]
    fn a_lost_link_is_tried_again_and_the_measurement_says_so() {
        let lost = || MeasureError::Lost("connection refused".into());
        let m = retrying(vec![lost(), lost()]).measure(b"", "m").unwrap();
        assert!(
            m.warnings
                .iter()
                .any(|w| w.contains("attempt 3") && w.contains("refused")),
            "{:?}",
            m.warnings
        );
        let e = retrying(vec![lost(), lost(), lost()]).measure(b"", "m");
        assert!(
            matches!(&e, Err(MeasureError::Lost(m)) if m.contains("tried 3 times")),
            "{e:?}"
        );
    }

    #[test]
    fn the_models_failures_and_refusals_are_not_tried_again() {
        for e in [
            MeasureError::Model("tract cannot load it".into()),
            MeasureError::Unreachable("refused: wrong token".into()),
        ] {
            let m = retrying(vec![e]);
            assert!(m.measure(b"", "m").is_err());
        }
    }
}
