//! The tract host meter: real latency of a model on the machine edgenas runs on.

use super::{Kind, MeasureError, Measurement, Meter};
use edgenas_onnx::export::TractModel;
use edgenas_wire::Timer;

/// Times a model with tract on this machine: loads and optimises it, then runs the timing loop
/// of [`Timer`] (the same loop the agent runs on a Linux board).
#[derive(Clone, Debug, PartialEq)]
pub struct TractMeter {
    /// The board name the measurement is reported for.
    pub board: String,
    /// How the model is timed.
    pub timer: Timer,
}

impl TractMeter {
    /// A meter that times with `timer` and reports for `board`.
    pub fn new(board: &str, timer: Timer) -> TractMeter {
        TractMeter {
            board: board.to_string(),
            timer,
        }
    }
}

impl Default for TractMeter {
    fn default() -> TractMeter {
        TractMeter::new("host", Timer::default())
    }
}

impl Meter for TractMeter {
    fn backend(&self) -> &'static str {
        "tract-host"
    }

    fn measure(&self, bytes: &[u8], what: &str) -> Result<Measurement, MeasureError> {
        let model = TractModel::load(bytes, what)?;
        let timed = self.timer.time(&model)?;
        Ok(Measurement {
            board: self.board.clone(),
            backend: self.backend().into(),
            kind: Kind::Measured,
            latency_ms: timed.latency,
            cycles: None,
            instructions: None,
            ram_bytes: None,
            flash_bytes: Some(bytes.len() as u64),
            warnings: timed.warnings,
            board_facts: None,
            ops: None,
            front_end: None,
        })
    }
}
