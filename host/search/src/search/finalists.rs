//! A trial's kept weights, and the finalists' deployable files.

use std::path::Path;

use edgenas_data::Dataset;
use edgenas_model::candidate::Candidate;
use edgenas_model::network::Shape;
use edgenas_model::weights::{Weights, initial_weights};
use edgenas_onnx::export::{self, Calibration, ExportError, ModelInfo};
use edgenas_study::{Settings, Trial};
use edgenas_train::{TrainConfig, TrainDevice, TrainError};

use super::Finalist;
use crate::artifacts::{Artifacts, write_artifacts};

/// The trained weights of complete trial `t`: those kept in its artefact folder `kept`
/// ([`edgenas_study::artefacts_dir`]), or (when they are not there: another machine's worker
/// trained it, or they were deleted) trained again from its genotype and seed with the
/// study's training settings. The flag says whether it was trained again.
pub fn trial_weights(
    t: &Trial,
    kept: Option<&Path>,
    candidate: &Candidate,
    dataset: &Dataset,
    settings: &Settings,
    device: &TrainDevice,
) -> Result<(Weights, bool), TrainError> {
    if let Some(Ok(w)) = kept.map(load_weights) {
        return Ok((w, false));
    }
    let config = TrainConfig {
        epochs: settings.epochs,
        seed: t.seed,
        ..settings.training.clone().unwrap_or_default()
    };
    let initial = initial_weights(&candidate.network, t.seed);
    let trained = edgenas_train::train(
        &candidate.network,
        &initial,
        dataset,
        &config,
        device,
        &mut |_| {},
    )?;
    Ok((trained.weights, true))
}

/// Where a trial is exported, and the names its card records.
pub struct ExportPlace<'a> {
    /// The space's name.
    pub space: &'a str,
    /// The board's name.
    pub board: &'a str,
    /// The folder (created if needed).
    pub dir: &'a Path,
}

/// Exports a trained trial into `place.dir`: the ONNX models and C arrays of
/// [`write_artifacts`], `weights.json`, and `trial.json` (every figure of the trial, with its
/// test accuracies filled in).
pub fn export_trial(
    trial: &Trial,
    candidate: &Candidate,
    weights: &Weights,
    dataset: &Dataset,
    place: ExportPlace,
    device: &TrainDevice,
) -> Result<Artifacts, ExportError> {
    let dir = place.dir;
    std::fs::create_dir_all(dir).map_err(|e| ExportError::Io(format!("{}: {e}", dir.display())))?;
    let text = candidate.genotype.to_text();
    let info = ModelInfo::for_dataset(place.space, &text, dataset);
    let a = write_artifacts(
        dir,
        &candidate.network,
        weights,
        dataset,
        &info,
        Calibration::MinMax,
        device,
    )?;
    save_weights(dir, weights)?;
    let mut t = trial.clone();
    t.test_accuracy = Some(100.0 * a.f32_test_accuracy);
    let card = serde_json::json!({
        "trial": t,
        "space": place.space,
        "board": place.board,
        "genotype": candidate.genotype.to_json(),
        "data": {
            "name": dataset.name,
            "input": dataset.shape.dims(),
            "classes": dataset.class_names,
        },
        "export": a,
    });
    export::write(
        dir,
        "trial.json",
        &serde_json::to_vec_pretty(&card).expect("JSON"),
    )?;
    Ok(a)
}

/// The finalist `t` as an earlier run exported it into `dir`, if it did: its test accuracy is
/// in the study and `dir` holds its models and card.
pub(super) fn exported_before(t: &Trial, dir: &Path) -> Option<Finalist> {
    t.test_accuracy?;
    if !dir.join("model-int8.onnx").exists() {
        return None;
    }
    let card = Card::read(dir)?;
    Some(Finalist {
        trial: t.id,
        f32_test_accuracy: card.f32_test_accuracy,
        int8_test_accuracy: card.int8_test_accuracy,
        dir: dir.display().to_string(),
    })
}

/// What the card (`trial.json`) that [`export_trial`] writes into a finalist's folder says.
#[derive(Clone, Debug, PartialEq)]
pub struct Card {
    /// Test accuracy of `model.onnx` run by tract, percent.
    pub f32_test_accuracy: f64,
    /// Test accuracy of `model-int8.onnx` run by tract, percent.
    pub int8_test_accuracy: f64,
    /// The shape of one sample the model takes (absent in cards of older versions).
    pub input: Option<Shape>,
    /// The name of each output (empty in cards of older versions).
    pub classes: Vec<String>,
}

impl Card {
    /// The card in `dir`, if it is there and readable.
    pub fn read(dir: &Path) -> Option<Card> {
        let card: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join("trial.json")).ok()?).ok()?;
        let accuracy = |k: &str| card["export"][k].as_f64().map(|a| 100.0 * a);
        let data = &card["data"];
        let input: Option<Vec<usize>> = serde_json::from_value(data["input"].clone()).ok();
        Some(Card {
            f32_test_accuracy: accuracy("f32_test_accuracy")?,
            int8_test_accuracy: accuracy("int8_test_accuracy")?,
            input: input.as_deref().and_then(Shape::from_dims),
            classes: serde_json::from_value(data["classes"].clone()).unwrap_or_default(),
        })
    }
}

/// Writes `weights.json` into `dir`.
pub(super) fn save_weights(dir: &Path, weights: &Weights) -> Result<(), ExportError> {
    std::fs::create_dir_all(dir).map_err(|e| ExportError::Io(format!("{}: {e}", dir.display())))?;
    let bytes = serde_json::to_vec(weights).expect("weights serialise to JSON");
    export::write(dir, "weights.json", &bytes)
}

/// Why `weights.json` cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum WeightsFileError {
    /// The file cannot be read.
    #[error("{}: {source}", path.display())]
    Read {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not weights.
    #[error("{}: {source}", path.display())]
    Parse {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        source: serde_json::Error,
    },
}

/// Reads `weights.json` from `dir`.
pub fn load_weights(dir: &Path) -> Result<Weights, WeightsFileError> {
    let path = dir.join("weights.json");
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(source) => return Err(WeightsFileError::Read { path, source }),
    };
    serde_json::from_slice(&bytes).map_err(|source| WeightsFileError::Parse { path, source })
}
