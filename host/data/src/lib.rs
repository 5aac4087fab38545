//! Data sets: loading, checking, splitting and normalising.
//!
//! A data set is named by a spec string (`--data`):
//!
//! | spec | what |
//! |---|---|
//! | `digits` | the 1,797 8×8 handwritten digits bundled in `smartcore` (10 classes) |
//! | `image-folder:PATH` | one sub-folder per class of PNG, JPEG or BMP images, converted to the space's input size and channels |
//! | `csv:PATH` or `csv:PATH#COLUMN` | numeric features and a label column (by name or 0-based index; the last column by default) |
//! | `npy:X.npy,Y.npy` | NumPy arrays: `X` is N×C×H×W, N×H×W or N×F; `Y` holds N integer labels 0…K−1 |
//! | `audio-folder:PATH[#split-by=speaker\|none,augment=N]` | one sub-folder per class of mono 16-bit WAV clips, turned into features by the space's `[front_end]` ([`audio`]) |
//!
//! Every data set is split into train, validation and test (70/15/15 %) by class, with a seed
//! (an audio folder by speaker, or by its Speech Commands lists), and normalised with
//! statistics from the training split alone. The search looks only at
//! validation accuracy; test accuracy is for the finalists.

pub mod audio;
mod candidate;
mod csv_file;
mod digits;
mod folder;
mod image_folder;
mod normalise;
mod npy;
mod split;

pub use candidate::{ForData, ForDataError};
pub use normalise::{Normalisation, Per};

use std::collections::HashMap;

use edgenas_model::candidate::InputFormat;
use edgenas_model::front_end::FrontEnd;
use edgenas_model::network::Shape;

/// A data set that cannot be used: where, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{origin}: {message}")]
pub struct DataError {
    /// The spec, file or folder concerned.
    pub origin: String,
    /// What is wrong.
    pub message: String,
}

impl DataError {
    fn new(origin: impl std::fmt::Display, message: impl Into<String>) -> DataError {
        DataError {
            origin: origin.to_string(),
            message: message.into(),
        }
    }
}

/// Labelled samples before splitting: `x` holds one sample after another.
#[derive(Clone, Debug, PartialEq)]
pub struct Samples {
    /// The shape of one sample.
    pub shape: Shape,
    /// The values, `labels.len() × shape.elements()`.
    pub x: Vec<f32>,
    /// The class of each sample, `0 ≤ label < class_names.len()`.
    pub labels: Vec<u32>,
    /// The name of each class.
    pub class_names: Vec<String>,
}

/// One split of a data set.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Split {
    /// The values, `labels.len() × sample elements`.
    pub x: Vec<f32>,
    /// The class of each sample.
    pub labels: Vec<u32>,
}

impl Split {
    /// The number of samples.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether the split has no sample.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
}

/// A loaded, split and normalised data set.
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset {
    /// The spec it was loaded from.
    pub name: String,
    /// The shape of one sample.
    pub shape: Shape,
    /// The name of each class.
    pub class_names: Vec<String>,
    /// For training.
    pub train: Split,
    /// For choosing: early stopping and the search look only at this split.
    pub valid: Split,
    /// For reporting the finalists.
    pub test: Split,
    /// Per-channel (or per-feature) statistics of the training split, already applied.
    pub normalisation: Normalisation,
    /// The front end that computed the samples from audio clips.
    pub front_end: Option<FrontEnd>,
    /// How the samples were split, in words.
    pub split: String,
}

impl Dataset {
    /// The number of classes.
    pub fn classes(&self) -> usize {
        self.class_names.len()
    }

    /// A data set of uniform random values in −2…2 with `n` training samples of `shape` (and
    /// four each for validation and test) over `classes` classes, seeded: for tests and
    /// benchmarks that need inputs and calibration samples, not learnable data.
    pub fn random(shape: Shape, classes: usize, n: usize, seed: u64) -> Dataset {
        let mut rng = edgenas_model::rng::Rng::new(seed);
        let mut split = |n: usize| Split {
            x: (0..n * shape.elements())
                .map(|_| (rng.unit() * 4.0 - 2.0) as f32)
                .collect(),
            labels: (0..n).map(|i| (i % classes.max(1)) as u32).collect(),
        };
        Dataset {
            name: "random".into(),
            shape,
            class_names: (0..classes).map(|c| c.to_string()).collect(),
            train: split(n),
            valid: split(4),
            test: split(4),
            normalisation: Normalisation {
                mean: vec![],
                std: vec![],
                per: Per::Channel,
            },
            front_end: None,
            split: "random".into(),
        }
    }
}

/// Loads the data set named by `spec`, splits it with `seed` and normalises it. `format` is
/// what a space asks for: image folders are converted to its (channels, height, width), audio
/// folders turned into features by its front end; the other data sets keep their own shape.
pub fn load(spec: &str, format: impl Into<InputFormat>, seed: u64) -> Result<Dataset, DataError> {
    let format = format.into();
    let (samples, parts, split) = read(spec, &format, seed, Purpose::Train)?;
    check(&samples, spec)?;
    let (mut train, mut valid, mut test) = split::gather(&samples, &parts);
    // A front end's features differ in scale from one coefficient to the next.
    let per = match format.front_end {
        Some(_) => Per::Column,
        None => Per::Channel,
    };
    let normalisation = Normalisation::fit_per(&train, samples.shape, per);
    for s in [&mut train, &mut valid, &mut test] {
        normalisation.apply(&mut s.x, samples.shape);
    }
    Ok(Dataset {
        name: spec.to_string(),
        shape: samples.shape,
        class_names: samples.class_names,
        train,
        valid,
        test,
        normalisation,
        front_end: format.front_end,
        split,
    })
}

/// One data set, loaded once per input format it is asked for (a space may give genotypes
/// different inputs: an image folder is converted for each, an audio folder run through each
/// front end): what a search, pre-screening and `bench proxies` decode candidates with.
pub struct Datasets {
    spec: String,
    seed: u64,
    loaded: HashMap<InputFormat, Dataset>,
}

impl Datasets {
    /// The data set `spec`, split with `seed`, none loaded yet.
    pub fn new(spec: &str, seed: u64) -> Datasets {
        Datasets {
            spec: spec.to_string(),
            seed,
            loaded: HashMap::new(),
        }
    }

    /// The data set in `format`, loaded ([`load`]) the first time it is asked for.
    pub fn get(&mut self, format: InputFormat) -> Result<&Dataset, DataError> {
        if !self.loaded.contains_key(&format) {
            let d = load(&self.spec, format, self.seed)?;
            self.loaded.insert(format, d);
        }
        Ok(&self.loaded[&format])
    }

    /// The shape of one sample and the number of classes of the data set in `format`,
    /// without loading it when a format already loaded tells: the classes are the same in
    /// every format, an audio folder's shape is its front end's, an image folder's the
    /// format's dims, and every other data set keeps its own shape.
    pub fn shape_and_classes(&mut self, format: InputFormat) -> Result<(Shape, usize), DataError> {
        let Some(any) = self.loaded.values().next() else {
            return self.get(format).map(|d| (d.shape, d.classes()));
        };
        let classes = any.classes();
        let shape = match (self.loaded.get(&format), format.front_end) {
            (Some(d), _) => Some(d.shape),
            (None, Some(front_end)) => {
                audio_spec(&self.spec).map(|_| audio::feature_shape(&front_end))
            }
            (None, None) if self.spec.starts_with("image-folder:") => {
                let (c, h, w) = format.dims;
                Some(Shape::Image { c, h, w })
            }
            (None, None) => Some(any.shape),
        };
        match shape {
            Some(shape) => Ok((shape, classes)),
            // A front end over data that is not audio: loading says why that cannot be.
            None => self.get(format).map(|d| (d.shape, d.classes())),
        }
    }
}

/// Every sample of the data set `spec` in `format`, unsplit and not normalised (audio clips
/// not augmented): for scoring a trained model on other data.
pub fn load_all(spec: &str, format: impl Into<InputFormat>) -> Result<Samples, DataError> {
    let (samples, _, _) = read(spec, &format.into(), 0, Purpose::Evaluate)?;
    check(&samples, spec)?;
    Ok(samples)
}

/// The root folder of an `audio-folder:PATH[#OPTIONS]` spec, or `None` for another spec.
pub fn audio_folder(spec: &str) -> Option<&str> {
    audio_spec(spec).map(|(root, _)| root)
}

/// The root folder and the options of an `audio-folder:PATH[#OPTIONS]` spec.
fn audio_spec(spec: &str) -> Option<(&str, &str)> {
    let rest = spec.strip_prefix("audio-folder:")?;
    Some(rest.rsplit_once('#').unwrap_or((rest, "")))
}

/// What a data set is read for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Purpose {
    /// Split and (audio) augmented.
    Train,
    /// Every sample as it is.
    Evaluate,
}

/// The samples of `spec`, the split of each and how it was split.
fn read(
    spec: &str,
    format: &InputFormat,
    seed: u64,
    purpose: Purpose,
) -> Result<(Samples, Vec<split::Part>, String), DataError> {
    if let Some((root, options)) = audio_spec(spec) {
        let Some(front_end) = &format.front_end else {
            return Err(DataError::new(
                spec,
                "an audio folder needs a space with a [front_end] that turns clips into \
                 features (the shipped `kws`, say)",
            ));
        };
        let mut options =
            audio::AudioOptions::parse(options).map_err(|e| DataError::new(spec, e.to_string()))?;
        if purpose == Purpose::Evaluate {
            options = audio::AudioOptions {
                split_by: audio::SplitBy::None,
                augment: 0,
            };
        }
        let a = audio::load(root, front_end, options, seed)?;
        return Ok((a.samples, a.parts, a.split));
    }
    if format.front_end.is_some() {
        return Err(DataError::new(
            spec,
            "the space computes its input from audio clips with its [front_end]; give \
             --data audio-folder:PATH",
        ));
    }
    let samples = load_samples(spec, format.dims)?;
    let parts = split::stratified_parts(&samples.labels, samples.class_names.len(), seed);
    Ok((samples, parts, "by class, 70/15/15 %".to_string()))
}

fn load_samples(spec: &str, input: (usize, usize, usize)) -> Result<Samples, DataError> {
    if spec == "digits" {
        return Ok(digits::load());
    }
    if let Some(path) = spec.strip_prefix("image-folder:") {
        return image_folder::load(path, input);
    }
    if let Some(rest) = spec.strip_prefix("csv:") {
        let (path, column) = match rest.rsplit_once('#') {
            Some((p, c)) => (p, Some(c)),
            None => (rest, None),
        };
        return csv_file::load(path, column);
    }
    if let Some(rest) = spec.strip_prefix("npy:") {
        let (x, y) = rest
            .split_once(',')
            .ok_or_else(|| DataError::new(spec, "expected npy:X.npy,Y.npy"))?;
        return npy::load(x, y);
    }
    Err(DataError::new(
        spec,
        "unknown data set; expected digits, image-folder:PATH, csv:PATH[#COLUMN], npy:X.npy,Y.npy \
         or audio-folder:PATH",
    ))
}

/// Checks what every loader must guarantee.
fn check(s: &Samples, spec: &str) -> Result<(), DataError> {
    let classes = s.class_names.len();
    if classes < 2 {
        return Err(DataError::new(
            spec,
            format!("needs at least 2 classes, found {classes}"),
        ));
    }
    if s.x.len() != s.labels.len() * s.shape.elements() {
        return Err(DataError::new(
            spec,
            "sample values and labels disagree in number",
        ));
    }
    let mut counts = vec![0usize; classes];
    for &l in &s.labels {
        counts[l as usize] += 1;
    }
    if let Some(empty) = counts.iter().position(|&c| c == 0) {
        return Err(DataError::new(
            spec,
            format!("class {} ({}) has no samples", empty, s.class_names[empty]),
        ));
    }
    if let Some(i) = s.x.iter().position(|v| !v.is_finite()) {
        return Err(DataError::new(
            spec,
            format!(
                "sample {} holds a value that is not finite",
                i / s.shape.elements()
            ),
        ));
    }
    Ok(())
}
