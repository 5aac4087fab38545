//! `audio-folder:PATH`: one sub-folder per class of mono 16-bit WAV clips, turned into
//! features by the space's front end.
//!
//! Clips are read at the front end's rate ([`wav::read`]), padded or cut to its clip length,
//! split (Speech Commands lists, else by speaker, else by class), the training clips
//! augmented, and every clip's features computed ([`Features`]).

mod augment;
mod features;
mod wav;

pub use features::{Features, LOG_FLOOR};

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use edgenas_model::front_end::FrontEnd;
use edgenas_model::network::Shape;

use crate::split::{self, Part};
use crate::{DataError, Samples, folder};

/// How an audio folder is split.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SplitBy {
    /// By speaker when every file is named `<speaker>_<rest>.wav` and there are three
    /// speakers, else by class (the split's description says which).
    Auto,
    /// Whole speakers (the part of a file name before its first `_`) go to one split; needs
    /// three speakers.
    Speaker,
    /// Each class 70/15/15 % by file, speakers ignored.
    None,
}

/// The options of an `audio-folder:PATH#split-by=…,augment=…` spec.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AudioOptions {
    /// How the clips are split (when the folder has no Speech Commands lists).
    pub split_by: SplitBy,
    /// Augmented copies of each training clip (time shift and noise).
    pub augment: usize,
}

impl Default for AudioOptions {
    fn default() -> AudioOptions {
        AudioOptions {
            split_by: SplitBy::Auto,
            augment: 1,
        }
    }
}

impl AudioOptions {
    /// Reads `split-by=speaker|none,augment=N` (either, both, in any order).
    pub fn parse(text: &str) -> Result<AudioOptions, AudioOptionError> {
        let mut options = AudioOptions::default();
        for item in text.split(',').filter(|s| !s.is_empty()) {
            match item.split_once('=') {
                Some(("split-by", "auto")) => options.split_by = SplitBy::Auto,
                Some(("split-by", "speaker")) => options.split_by = SplitBy::Speaker,
                Some(("split-by", "none")) => options.split_by = SplitBy::None,
                Some(("augment", n)) => {
                    options.augment = n
                        .parse()
                        .map_err(|_| AudioOptionError::Augment(n.to_string()))?
                }
                _ => return Err(AudioOptionError::Unknown(item.to_string())),
            }
        }
        Ok(options)
    }
}

/// An option of an `audio-folder:` spec that [`AudioOptions::parse`] refuses.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AudioOptionError {
    /// `augment=` of something other than a number.
    #[error("augment={0}: expected a number of copies (0 for none)")]
    Augment(String),
    /// An option it does not know.
    #[error("unknown option `{0}`; expected split-by=speaker|none or augment=N")]
    Unknown(String),
}

/// An audio folder's features, with the split of each sample and how it was decided.
pub struct AudioSamples {
    /// Every clip's features (training clips, their augmented copies, validation and test).
    pub samples: Samples,
    /// The split of each sample.
    pub parts: Vec<Part>,
    /// How the split was decided, in words (`by speaker: test theo; valid …`).
    pub split: String,
}

/// A clip of the folder.
struct Clip {
    /// Its path below the root, with `/` (as Speech Commands lists name files).
    relative: String,
    speaker: Option<String>,
    label: u32,
    samples: Vec<i16>,
}

/// The sub-folder of Speech Commands' noise recordings: augmentation, not a class.
const NOISE_FOLDER: &str = "_background_noise_";

/// The shape of one sample that `front_end` computes from a clip: one channel of frames ×
/// features.
pub fn feature_shape(front_end: &FrontEnd) -> Shape {
    Shape::Image {
        c: 1,
        h: front_end.frames(),
        w: front_end.features(),
    }
}

/// Loads `root` for `front_end`.
pub fn load(
    root: &str,
    front_end: &FrontEnd,
    options: AudioOptions,
    seed: u64,
) -> Result<AudioSamples, DataError> {
    let (class_names, clips) = read_clips(root, front_end)?;
    let (parts, split) = split_clips(root, &clips, options.split_by, seed)?;
    let noise = match options.augment {
        0 => Vec::new(),
        _ => read_noise(&Path::new(root).join(NOISE_FOLDER), front_end)?,
    };
    let features = Features::new(*front_end);
    let mut samples = Samples {
        shape: feature_shape(front_end),
        x: Vec::new(),
        labels: Vec::new(),
        class_names,
    };
    let mut all_parts = Vec::new();
    let mut augmenter = augment::Augmenter::new(&noise, seed);
    for (clip, &part) in clips.iter().zip(&parts) {
        samples.x.extend(features.of(&clip.samples));
        samples.labels.push(clip.label);
        all_parts.push(part);
        if part == Part::Train {
            for _ in 0..options.augment {
                samples
                    .x
                    .extend(features.of(&augmenter.apply(&clip.samples)));
                samples.labels.push(clip.label);
                all_parts.push(part);
            }
        }
    }
    let split = match options.augment {
        0 => split,
        n => format!(
            "{split}; training clips augmented ×{n} (speed, time shift, {})",
            if noise.is_empty() {
                "white noise"
            } else {
                "background noise"
            }
        ),
    };
    Ok(AudioSamples {
        samples,
        parts: all_parts,
        split,
    })
}

/// An audio folder's clips, labelled.
pub struct LabelledClips {
    /// The classes, in label order.
    pub class_names: Vec<String>,
    /// Each clip's label and samples.
    pub clips: Vec<(u32, Vec<i16>)>,
}

/// An audio folder's clips as a device front end reads them (at `front_end`'s rate and length,
/// in file order, none augmented).
pub fn clips(root: &str, front_end: &FrontEnd) -> Result<LabelledClips, DataError> {
    let (class_names, clips) = read_clips(root, front_end)?;
    Ok(LabelledClips {
        class_names,
        clips: clips.into_iter().map(|c| (c.label, c.samples)).collect(),
    })
}

/// The classes (sorted sub-folders) and their clips (sorted by path), fitted to the clip length.
fn read_clips(root: &str, front_end: &FrontEnd) -> Result<(Vec<String>, Vec<Clip>), DataError> {
    let class_names = folder::class_folders(root, &[NOISE_FOLDER])?;
    if class_names.is_empty() {
        return Err(DataError::new(
            root,
            "has no class sub-folders (expected one folder of WAV files per class)",
        ));
    }
    let mut clips = Vec::new();
    for (label, class) in class_names.iter().enumerate() {
        let dir = Path::new(root).join(class);
        let files = wav_files(&dir)?;
        if files.is_empty() {
            return Err(DataError::new(
                dir.display(),
                format!("class `{class}` holds no WAV files"),
            ));
        }
        for path in files {
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            let samples = wav::read(&path, front_end.sample_rate)?;
            clips.push(Clip {
                relative: format!("{class}/{name}"),
                speaker: speaker(&name),
                label: label as u32,
                samples: wav::fit(&samples, front_end.clip_samples()),
            });
        }
    }
    Ok((class_names, clips))
}

/// The `.wav` files of a folder, sorted (hidden files skipped).
fn wav_files(dir: &Path) -> Result<Vec<PathBuf>, DataError> {
    let mut files = folder::visible_files(dir)?;
    files.retain(|p| p.extension().is_some_and(|x| x.eq_ignore_ascii_case("wav")));
    Ok(files)
}

/// The speaker of a file named `<speaker>_<rest>.wav`.
fn speaker(file_name: &str) -> Option<String> {
    let (speaker, _) = file_name.split_once('_')?;
    (!speaker.is_empty()).then(|| speaker.to_string())
}

/// The split: Speech Commands' `validation_list.txt` and `testing_list.txt` when the folder
/// has them, else whole speakers, else (or with `SplitBy::None`) by class.
fn split_clips(
    root: &str,
    clips: &[Clip],
    split_by: SplitBy,
    seed: u64,
) -> Result<(Vec<Part>, String), DataError> {
    let valid_list = list(root, "validation_list.txt")?;
    let test_list = list(root, "testing_list.txt")?;
    if valid_list.is_some() || test_list.is_some() {
        let (valid, test) = (
            valid_list.unwrap_or_default(),
            test_list.unwrap_or_default(),
        );
        let parts = clips
            .iter()
            .map(|c| {
                if test.contains(&c.relative) {
                    Part::Test
                } else if valid.contains(&c.relative) {
                    Part::Valid
                } else {
                    Part::Train
                }
            })
            .collect();
        return Ok((
            parts,
            "by the folder's validation_list.txt and testing_list.txt".into(),
        ));
    }
    let labels: Vec<u32> = clips.iter().map(|c| c.label).collect();
    let classes = labels.iter().max().map_or(0, |&m| m as usize + 1);
    let by_class = || split::stratified_parts(&labels, classes, seed);
    if split_by == SplitBy::None {
        return Ok((by_class(), "by class, 70/15/15 % of the files".into()));
    }
    let speakers: Option<Vec<&str>> = clips.iter().map(|c| c.speaker.as_deref()).collect();
    let parts = speakers
        .as_ref()
        .and_then(|speakers| split::group_parts(speakers, seed));
    if split_by == SplitBy::Auto && parts.is_none() {
        let why = match speakers {
            None => "not every file is named <speaker>_<rest>.wav",
            Some(_) => "fewer than 3 speakers",
        };
        return Ok((
            by_class(),
            format!("by class, 70/15/15 % of the files ({why}: no split by speaker)"),
        ));
    }
    let Some(speakers) = speakers else {
        return Err(DataError::new(
            root,
            "cannot split by speaker: not every file is named <speaker>_<rest>.wav; add \
             #split-by=none to the spec (or --split-by none) to split files by class",
        ));
    };
    let parts = parts.ok_or_else(|| {
        DataError::new(
            root,
            "a split by speaker needs at least 3 speakers; add #split-by=none to the spec (or \
             --split-by none) to split files by class",
        )
    })?;
    let names = |part: Part| {
        let mut n: Vec<&str> = speakers
            .iter()
            .zip(&parts)
            .filter(|(_, p)| **p == part)
            .map(|(s, _)| *s)
            .collect();
        n.sort_unstable();
        n.dedup();
        n.join(", ")
    };
    let text = format!(
        "by speaker: test {}; valid {}; train {}",
        names(Part::Test),
        names(Part::Valid),
        names(Part::Train)
    );
    Ok((parts, text))
}

/// The lines of a Speech Commands list, if the folder has it.
fn list(root: &str, name: &str) -> Result<Option<HashSet<String>>, DataError> {
    let path = Path::new(root).join(name);
    if !path.exists() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(&path)
        .map_err(|e| DataError::new(path.display(), format!("cannot read: {e}")))?;
    Ok(Some(
        text.lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect(),
    ))
}

/// The noise recordings of `dir` at the front end's rate (none when it is absent).
fn read_noise(dir: &Path, front_end: &FrontEnd) -> Result<Vec<Vec<i16>>, DataError> {
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    wav_files(dir)?
        .iter()
        .map(|p| wav::read(p, front_end.sample_rate))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_are_read_in_any_order_and_a_bad_one_is_named() {
        assert_eq!(
            AudioOptions::parse("augment=2,split-by=none"),
            Ok(AudioOptions {
                split_by: SplitBy::None,
                augment: 2
            })
        );
        assert_eq!(AudioOptions::parse(""), Ok(AudioOptions::default()));
        assert_eq!(
            AudioOptions::parse("augment=two"),
            Err(AudioOptionError::Augment("two".into()))
        );
        assert_eq!(
            AudioOptions::parse("split-by=speaker,loud"),
            Err(AudioOptionError::Unknown("loud".into()))
        );
    }
}
