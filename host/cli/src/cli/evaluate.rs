//! `edgenas evaluate`: score an exported model on another data set, with the front end and
//! normalisation it was trained with.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use edgenas::candidate::InputFormat;
use edgenas::compile::{HostEngine, HostFrontEnd};
use edgenas::data::{self, Samples};
use edgenas::export::{StoredInfo, TractModel};
use edgenas::front_end::FrontEnd;
use serde::Serialize;

use super::format::Table;

/// Arguments of `edgenas evaluate`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// A finalist or `train --out` folder (its `model.onnx` and `model-int8.onnx` are scored),
    /// or one ONNX file edgenas exported.
    model: PathBuf,
    /// The data set to score on (every sample of it; nothing is split off): digits,
    /// image-folder:PATH, csv:PATH[#COLUMN], npy:X.npy,Y.npy or audio-folder:PATH. Its
    /// classes must be the model's, in the same order.
    #[arg(long)]
    data: String,
    /// Print JSON: for each model file, `accuracy`, `per_class` (name, samples, accuracy) and
    /// `confusion` (rows: the true class, columns: the predicted one).
    #[arg(long)]
    json: bool,
}

/// One model's scores.
#[derive(Debug, Serialize)]
struct Score {
    file: String,
    samples: usize,
    accuracy: f64,
    per_class: Vec<ClassScore>,
    confusion: Vec<Vec<usize>>,
}

#[derive(Debug, Serialize)]
struct ClassScore {
    class: String,
    samples: usize,
    accuracy: f64,
}

pub fn run(args: Args) -> Result<()> {
    let files = model_files(&args.model)?;
    let mut scores = Vec::new();
    let mut front_end = None;
    // The f32 and int8 files of one model read the same samples: loaded once.
    let mut loaded: Option<(StoredInfo, Vec<usize>, Samples)> = None;
    for file in &files {
        let what = file.display().to_string();
        let bytes = std::fs::read(file).with_context(|| format!("cannot read {what}"))?;
        let info = StoredInfo::from_bytes(&bytes, &what)?;
        let model = TractModel::load(&bytes, &what)?;
        front_end = info.front_end;
        let same = loaded
            .as_ref()
            .is_some_and(|(i, shape, _)| *i == info && shape == model.input_shape());
        if !same {
            let samples = samples_for(&args.data, &model, &info, &what)?;
            loaded = Some((info, model.input_shape().to_vec(), samples));
        }
        let (_, _, samples) = loaded.as_ref().expect("loaded above");
        let size = samples.shape.elements();
        let mut predicted = Vec::with_capacity(samples.labels.len());
        for x in samples.x.chunks(size) {
            predicted.push(argmax(&model.run(x).map_err(anyhow::Error::msg)?));
        }
        scores.push(score(
            &what,
            &samples.class_names,
            &samples.labels,
            &predicted,
        )?);
    }
    if let (Some(f), Some(root)) = (&front_end, data::audio_folder(&args.data)) {
        scores.extend(device_score(&args.model, f, root)?);
    }
    if args.json {
        return super::print_json(&serde_json::json!({
            "data": args.data,
            "front_end": front_end,
            "models": scores,
        }));
    }
    if let Some(f) = front_end {
        println!("front end  {}", f.summary());
    }
    let mut headers = vec!["class".to_string(), ">samples".to_string()];
    headers.extend(scores.iter().map(|s| format!(">{}", file_name(&s.file))));
    let mut table = Table::new(&headers.iter().map(String::as_str).collect::<Vec<_>>());
    for (i, c) in scores[0].per_class.iter().enumerate() {
        let mut row = vec![c.class.clone(), c.samples.to_string()];
        row.extend(scores.iter().map(|s| percent(s.per_class[i].accuracy)));
        table.row(row);
    }
    let mut all = vec!["all".to_string(), scores[0].samples.to_string()];
    all.extend(scores.iter().map(|s| percent(s.accuracy)));
    table.row(all);
    print!("{}", table.render());
    let last = scores.last().expect("at least one model");
    println!(
        "\nconfusion of {} (rows: true class, columns: predicted)",
        file_name(&last.file)
    );
    let names: Vec<&str> = last.per_class.iter().map(|c| c.class.as_str()).collect();
    let mut headers = vec!["".to_string()];
    headers.extend(names.iter().map(|n| format!(">{n}")));
    let mut confusion = Table::new(&headers.iter().map(String::as_str).collect::<Vec<_>>());
    for (name, row) in names.iter().zip(&last.confusion) {
        let mut cells = vec![name.to_string()];
        cells.extend(row.iter().map(usize::to_string));
        confusion.row(cells);
    }
    print!("{}", confusion.render());
    Ok(())
}

/// The model files to score: those of a folder (f32 and int8), or the one file given.
fn model_files(path: &Path) -> Result<Vec<PathBuf>> {
    if path.is_file() {
        return Ok(vec![path.to_path_buf()]);
    }
    if !path.is_dir() {
        bail!("{}: no such folder or file", path.display());
    }
    let files: Vec<PathBuf> = ["model.onnx", "model-int8.onnx"]
        .iter()
        .map(|f| path.join(f))
        .filter(|p| p.is_file())
        .collect();
    if files.is_empty() {
        bail!(
            "{} holds neither model.onnx nor model-int8.onnx (a finalist or `train --out` folder)",
            path.display()
        );
    }
    Ok(files)
}

/// Every sample of `spec` as the model reads it: through its front end, normalised as it was
/// trained, its classes checked against the model's.
fn samples_for(spec: &str, model: &TractModel, info: &StoredInfo, what: &str) -> Result<Samples> {
    let dims = match model.input_shape() {
        [_, c, h, w] => (*c, *h, *w),
        [_, n] => (1, 1, *n),
        other => bail!("{what}: an input of shape {other:?} is not one edgenas exports"),
    };
    let format = InputFormat {
        dims,
        front_end: info.front_end,
    };
    let mut samples = data::load_all(spec, format)?;
    let expected: usize = model.input_shape().iter().product();
    if samples.shape.elements() != expected {
        bail!(
            "{spec}: its samples are {}, {what} reads {:?}",
            samples.shape,
            &model.input_shape()[1..]
        );
    }
    if !info.classes.is_empty() && info.classes != samples.class_names {
        bail!(
            "{spec}: its classes ({}) are not the model's ({})",
            samples.class_names.join(", "),
            info.classes.join(", ")
        );
    }
    if let Some(n) = &info.normalisation {
        n.apply(&mut samples.x, samples.shape);
    }
    Ok(samples)
}

/// The int8 model as the board runs it, clip by clip: the device front end
/// (`front_end-int8.blob`) into the device engine (`model-int8.blob`), both on this machine.
/// `None` when the folder has not both.
fn device_score(dir: &Path, front_end: &FrontEnd, root: &str) -> Result<Option<Score>> {
    let (fe_path, blob_path) = (dir.join("front_end-int8.blob"), dir.join("model-int8.blob"));
    if !dir.is_dir() || !fe_path.is_file() || !blob_path.is_file() {
        return Ok(None);
    }
    let read = |p: &Path| std::fs::read(p).with_context(|| format!("cannot read {}", p.display()));
    let mut fe = HostFrontEnd::new(&read(&fe_path)?)?;
    let mut engine = HostEngine::new(&read(&blob_path)?)?;
    let data::audio::LabelledClips { class_names, clips } = data::audio::clips(root, front_end)?;
    let mut labels = Vec::with_capacity(clips.len());
    let mut predicted = Vec::with_capacity(clips.len());
    for (label, clip) in &clips {
        let input = fe.run(clip).map_err(anyhow::Error::msg)?;
        predicted.push(argmax(
            &engine.run_bytes(&input).map_err(anyhow::Error::msg)?,
        ));
        labels.push(*label);
    }
    let what = "device: front_end-int8.blob + model-int8.blob";
    score(what, &class_names, &labels, &predicted).map(Some)
}

/// The index of the largest value (the last of equals), as the firmware's app picks it.
pub(super) fn argmax(out: &[f32]) -> usize {
    out.iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .map_or(0, |(i, _)| i)
}

fn score(what: &str, class_names: &[String], labels: &[u32], predicted: &[usize]) -> Result<Score> {
    let classes = class_names.len();
    let mut confusion = vec![vec![0usize; classes]; classes];
    for (&label, &p) in labels.iter().zip(predicted) {
        if p >= classes {
            bail!("{what} predicted class {p}; the data set has {classes}");
        }
        confusion[label as usize][p] += 1;
    }
    let per_class = class_names
        .iter()
        .zip(&confusion)
        .enumerate()
        .map(|(i, (class, row))| {
            let n: usize = row.iter().sum();
            ClassScore {
                class: class.clone(),
                samples: n,
                accuracy: row[i] as f64 / n.max(1) as f64,
            }
        })
        .collect();
    let correct: usize = (0..classes).map(|i| confusion[i][i]).sum();
    Ok(Score {
        file: what.to_string(),
        samples: labels.len(),
        accuracy: correct as f64 / labels.len().max(1) as f64,
        per_class,
        confusion,
    })
}

fn file_name(path: &str) -> &str {
    Path::new(path)
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or(path)
}

fn percent(x: f64) -> String {
    format!("{:.1} %", 100.0 * x)
}
