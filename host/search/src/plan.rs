//! What a process needs to run a study's trials, resolved once and in one place for
//! `edgenas search` and `edgenas worker`: the space and board the settings name, the limits
//! checked against the board, the training configuration and the latency meter.

use edgenas_measure::{MeasureError, Meter, MeterChoice, Timer, meter_for};
use edgenas_model::board::{Board, load_board};
use edgenas_model::error::FileError;
use edgenas_model::named::StrategyName;
use edgenas_model::space::SearchSpace;
use edgenas_study::Settings;
use edgenas_train::TrainConfig;

use crate::search::limits;

/// Why a study's settings cannot be run here.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// The space or board file cannot be read.
    #[error(transparent)]
    File(#[from] FileError),
    /// The settings are not runnable (a limit out of range, a missing field, another board).
    #[error("{0}")]
    Settings(String),
    /// A limit no model could meet.
    #[error(transparent)]
    Limit(#[from] crate::search::limits::LimitError),
    /// The latency limit needs a meter that this board does not have here.
    #[error("{why}: {error}")]
    NoMeter {
        /// What needs the latency.
        why: &'static str,
        /// Why there is no meter.
        error: MeasureError,
    },
}

/// How this process runs the study, beyond its settings.
#[derive(Clone, Copy, Debug)]
pub struct PlanOptions<'a> {
    /// A board file to use instead of the one the settings name (it must be the same board).
    pub board_file: Option<&'a str>,
    /// Which meter measures latency before training.
    pub meter: MeterChoice,
    /// A strategy other than the settings' one.
    pub strategy: Option<StrategyName>,
}

/// A study's settings resolved for this process.
pub struct Plan {
    /// The settings.
    pub settings: Settings,
    /// The space they name.
    pub space: SearchSpace,
    /// The board they name.
    pub board: Board,
    /// How every trial trains.
    pub train: TrainConfig,
    /// Trials the study wants.
    pub trials: usize,
    /// The strategy this process proposes with.
    pub strategy: StrategyName,
    /// The latency meter; `None` when there is no latency limit and the board has no meter.
    pub meter: Option<Box<dyn Meter>>,
    /// Why latency is not measured, when it is not.
    pub note: Option<String>,
}

impl Plan {
    /// Resolves `settings` (of the study at `location`, for messages).
    pub fn resolve(
        settings: Settings,
        location: &str,
        options: PlanOptions,
    ) -> Result<Plan, PlanError> {
        let unrunnable =
            |message: String| PlanError::Settings(format!("study {location}: {message}"));
        let trials = settings.trials.ok_or_else(|| {
            unrunnable(
                "it does not say how many trials it wants: run `edgenas search --study … \
                 --workers 0 --trials N` on it"
                    .into(),
            )
        })?;
        let train = settings.training.clone().ok_or_else(|| {
            unrunnable("it was made by an older edgenas and has no training settings".into())
        })?;
        let space = settings
            .load_space()
            .map_err(|e| unrunnable(e.to_string()))?;
        let board = load_board(options.board_file.unwrap_or(settings.board_source()))?;
        if board.name != settings.board {
            return Err(unrunnable(format!(
                "its trials are measured on board `{}`; this board is `{}`",
                settings.board, board.name
            )));
        }
        limits::validate(&settings.limits, &board)?;
        let (meter, note) = match meter_for(&board, options.meter, Timer::default()) {
            Ok(m) => {
                let note = m.fallback().map(str::to_string);
                (Some(m), note)
            }
            Err(error) if settings.limits.max_latency_ms.is_some() => {
                return Err(PlanError::NoMeter {
                    why: "the latency limit needs the latency of every trial",
                    error,
                });
            }
            Err(e) => (None, Some(format!("latency is not measured ({e})"))),
        };
        let strategy = options.strategy.unwrap_or(settings.strategy);
        Ok(Plan {
            strategy,
            settings,
            space,
            board,
            train,
            trials,
            meter,
            note,
        })
    }
}
