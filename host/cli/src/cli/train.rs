//! `edgenas train`: train one candidate on a data set.

use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::ValueEnum;
use edgenas::artifacts::write_artifacts;
use edgenas::candidate::Candidate;
use edgenas::data::ForData;
use edgenas::export::{self, Calibration, ModelInfo};
use edgenas::train::{self, Progress};
use edgenas::weights::initial_weights;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;

use super::pick::CandidateArgs;
use super::train_args::TrainingArgs;

/// Arguments of `edgenas train`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pick: CandidateArgs,
    /// The data set: digits, image-folder:PATH, csv:PATH[#COLUMN], npy:X.npy,Y.npy or
    /// audio-folder:PATH[#split-by=speaker|none,augment=N] (with a space that has a front end,
    /// such as `kws`). The data set sets the network's input shape and classes.
    #[arg(long, default_value = "digits")]
    data: String,
    /// How an audio folder is split: by speaker (the default when every file is named
    /// `<speaker>_<rest>.wav`), or by file with `none`.
    #[arg(long, value_enum)]
    split_by: Option<super::SplitBy>,
    /// The most epochs.
    #[arg(long, default_value_t = 30, value_parser = super::numbers::count)]
    epochs: usize,
    /// Stop after this many seconds of training.
    #[arg(long, value_name = "SECONDS", value_parser = super::numbers::positive)]
    time_budget: Option<f64>,
    #[command(flatten)]
    training: TrainingArgs,
    /// Write the trained model here: `model.onnx`, `model-int8.onnx` (QDQ),
    /// `model-int8-ops.onnx` (QLinearConv operator form), `model.h` and
    /// `model-int8.h` (C arrays), the device models `model.blob` and `model-int8.blob` (and
    /// `model-int8-blob.h`), `weights.json`, `train.json` (the summary) and `check.json`
    /// (samples with their expected outputs, for other runtimes); a model of an audio front
    /// end also `front_end.json` and the device front ends `front_end.blob` and
    /// `front_end-int8.blob`.
    #[arg(long)]
    out: Option<PathBuf>,
    /// How the int8 model's activation ranges are calibrated on the training split.
    #[arg(long, value_enum, default_value_t = CalibrationArg::Minmax)]
    calibration: CalibrationArg,
    /// The percentile of `--calibration percentile`.
    #[arg(long, default_value_t = 99.99, value_parser = super::numbers::percent)]
    percentile: f64,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum CalibrationArg {
    /// The smallest and largest value seen.
    Minmax,
    /// The given percentile, ignoring outliers.
    Percentile,
}

pub fn run(args: Args) -> Result<()> {
    let config = args
        .training
        .config(args.epochs, args.time_budget, args.pick.seed);
    let device = args.training.device()?;
    let (space, genotype) = args.pick.load()?;
    let data = super::data_spec(&args.data, args.split_by)?;
    let (candidate, dataset) = Candidate::for_data(&space, genotype, &data, args.pick.seed)?;
    let initial = initial_weights(&candidate.network, args.pick.seed);
    let mut display = Display::new(args.epochs);
    let trained = train::train(
        &candidate.network,
        &initial,
        &dataset,
        &config,
        &device,
        &mut |p| display.update(p),
    );
    display.finish();
    let trained = trained?;
    let test_accuracy =
        train::evaluate(&candidate.network, &trained.weights, &dataset.test, &device)?;
    let r = &trained.report;
    let artifacts = match &args.out {
        None => None,
        Some(dir) => {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
            let text = candidate.genotype.to_text();
            let info = ModelInfo::for_dataset(&space.name, &text, &dataset);
            let calibration = match args.calibration {
                CalibrationArg::Minmax => Calibration::MinMax,
                CalibrationArg::Percentile => Calibration::Percentile {
                    percentile: args.percentile,
                },
            };
            Some(write_artifacts(
                dir,
                &candidate.network,
                &trained.weights,
                &dataset,
                &info,
                calibration,
                &device,
            )?)
        }
    };
    let summary = json!({
        "space": space.name,
        "genotype": candidate.genotype.to_json(),
        "genotype_text": candidate.genotype.to_text(),
        "hash": candidate.genotype.hash(),
        "data": {
            "name": dataset.name, "input": dataset.shape.dims(), "classes": dataset.classes(),
            "class_names": dataset.class_names,
            "train": dataset.train.len(), "valid": dataset.valid.len(), "test": dataset.test.len(),
            "split": dataset.split, "front_end": dataset.front_end,
        },
        "normalisation": dataset.normalisation,
        "params": candidate.costs.params,
        "macs": candidate.costs.macs,
        "config": config,
        "valid_accuracy": r.valid_accuracy,
        "test_accuracy": test_accuracy,
        "train_seconds": r.train_seconds,
        "samples_per_second": r.samples_per_second,
        "epochs_run": r.epochs_run,
        "best_epoch": r.best_epoch,
        "stopped_by": r.stopped_by,
        "loss_curve": r.loss_curve,
        "valid_curve": r.valid_curve,
        "export": artifacts,
    });
    if let Some(dir) = &args.out {
        export::write(dir, "weights.json", &serde_json::to_vec(&trained.weights)?)?;
        export::write(dir, "train.json", &serde_json::to_vec_pretty(&summary)?)?;
    }
    if args.json {
        return super::print_json(&summary);
    }
    println!("space     {} ({})", space.name, candidate.genotype);
    println!(
        "data      {}: {} train / {} valid / {} test, {} per sample, {} classes",
        dataset.name,
        dataset.train.len(),
        dataset.valid.len(),
        dataset.test.len(),
        dataset.shape,
        dataset.classes()
    );
    println!("classes   {}", dataset.class_names.join(", "));
    println!("split     {}", dataset.split);
    if let Some(f) = &dataset.front_end {
        println!("front end {}", f.summary());
    }
    println!(
        "network   {} params, {} MACs",
        candidate.costs.params, candidate.costs.macs
    );
    println!(
        "epochs    {} ({:?}), best epoch {}",
        r.epochs_run, r.stopped_by, r.best_epoch
    );
    println!("valid     {:.2} %", 100.0 * r.valid_accuracy);
    println!("test      {:.2} %", 100.0 * test_accuracy);
    println!(
        "time      {:.1} s, {:.0} samples/s",
        r.train_seconds, r.samples_per_second
    );
    if let (Some(dir), Some(a)) = (&args.out, &artifacts) {
        println!(
            "onnx      f32 {:.2} % ({} B), int8 {:.2} % ({} B) test accuracy, run by tract",
            100.0 * a.f32_test_accuracy,
            a.f32_bytes,
            100.0 * a.int8_test_accuracy,
            a.int8_bytes
        );
        println!(
            "device    f32 blob {} B (arena {} B), int8 blob {} B (arena {} B)",
            a.f32_blob_bytes, a.f32_arena_bytes, a.int8_blob_bytes, a.int8_arena_bytes
        );
        println!(
            "wrote     {}: model.onnx, model-int8.onnx, model-int8-ops.onnx, model.h, model-int8.h, model.blob, model-int8.blob, model-int8-blob.h, weights.json, train.json, check.json{}",
            dir.display(),
            if dataset.front_end.is_some() {
                ", front_end.json, front_end.blob, front_end-int8.blob"
            } else {
                ""
            }
        );
    }
    Ok(())
}

/// A progress bar on a terminal, one line per epoch otherwise (both on standard error).
struct Display {
    bar: Option<ProgressBar>,
}

impl Display {
    fn new(epochs: usize) -> Display {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new(epochs as u64);
            bar.set_style(
                ProgressStyle::with_template(
                    "{bar:30} epoch {pos}/{len} {msg} [{elapsed} < {eta}]",
                )
                .expect("a valid template"),
            );
            bar
        });
        Display { bar }
    }

    fn update(&mut self, p: &Progress) {
        let valid = p
            .valid_accuracy
            .map_or(String::new(), |a| format!(", valid {:.1} %", 100.0 * a));
        if let Some(bar) = &self.bar {
            bar.set_position((p.epoch - 1) as u64);
            bar.set_message(format!(
                "step {}/{}, loss {:.4}{valid}",
                p.step, p.steps_per_epoch, p.loss
            ));
        } else if p.epoch_done {
            eprintln!(
                "epoch {}/{}: loss {:.4}{valid}, {:.1} s",
                p.epoch, p.epochs, p.loss, p.elapsed_seconds
            );
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
