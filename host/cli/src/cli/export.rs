//! `edgenas export`: one trial of a study, as deployable artefacts.

use std::path::PathBuf;

use anyhow::{Context, Result, anyhow, bail};
use edgenas::candidate::Candidate;
use edgenas::data::ForData;
use edgenas::search::{ExportPlace, export_trial, trial_weights};
use edgenas::study::TrialState;
use edgenas::train;
use serde_json::json;

/// Arguments of `edgenas export`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The study (from `edgenas search`): a SQLite file, or a
    /// `postgres://USER@HOST/DB?study=NAME` URL.
    #[arg(long)]
    study: String,
    /// The trial's number (`edgenas search` prints them; `trial` in its JSON).
    #[arg(long, value_parser = super::numbers::trial_id)]
    trial: i64,
    /// Where to write `model.onnx`, `model-int8.onnx`, `model-int8-ops.onnx`, `model.h`,
    /// `model-int8.h`, `model.blob`, `model-int8.blob`, `model-int8-blob.h` (the device
    /// models), `labels.txt` and `labels.h` (the name of each output), `weights.json`,
    /// `check.json` and `trial.json` (every figure the study has for the trial, its input
    /// and classes). A trial whose weights were not kept is trained again with the
    /// study's training settings.
    #[arg(long)]
    out: PathBuf,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> Result<()> {
    if args.out.exists() && !args.out.is_dir() {
        bail!(
            "--out {} is a file: give a folder (new or existing) to write the trial's files into",
            args.out.display()
        );
    }
    let study = edgenas::study::open(&args.study, false)?;
    let settings = study
        .settings()?
        .ok_or_else(|| anyhow!("study {} has no settings: no search ran in it", args.study))?;
    let trial = study
        .trials()?
        .into_iter()
        .find(|t| t.id == args.trial)
        .ok_or_else(|| anyhow!("study {} has no trial {}", args.study, args.trial))?;
    if trial.state != TrialState::Complete {
        bail!(
            "trial {} is {}{}: only complete trials have a trained model",
            trial.id,
            trial.state.name(),
            trial
                .reason
                .as_deref()
                .map_or(String::new(), |r| format!(" ({r})"))
        );
    }
    let space = settings.load_space()?;
    let genotype = space.parse_genotype(&trial.genotype)?;
    let (candidate, dataset) =
        Candidate::for_data(&space, genotype, &settings.data, settings.seed)?;
    let device = train::device(train::DeviceChoice::Cpu)?;
    let kept = edgenas::study::artefacts_dir(study.as_ref(), &trial);
    if !kept
        .as_deref()
        .is_some_and(|d| d.join("weights.json").exists())
    {
        let looked = kept
            .as_deref()
            .map_or("the study records no folder".into(), |d| {
                format!("no {}", d.join("weights.json").display())
            });
        eprintln!(
            "trial {}: its trained weights are not here ({looked}); training it again from its \
             genotype and seed ({} epochs) before exporting",
            trial.id, settings.epochs
        );
    }
    let (weights, retrained) = trial_weights(
        &trial,
        kept.as_deref(),
        &candidate,
        &dataset,
        &settings,
        &device,
    )?;
    let place = ExportPlace {
        space: &space.name,
        board: &settings.board,
        dir: &args.out,
    };
    let a = export_trial(&trial, &candidate, &weights, &dataset, place, &device)
        .with_context(|| format!("exporting trial {} to {}", trial.id, args.out.display()))?;
    if args.json {
        return super::print_json(&json!({
            "trial": trial.id,
            "retrained": retrained,
            "out": args.out,
            "export": a,
        }));
    }
    println!("trial     {} ({})", trial.id, trial.genotype);
    println!(
        "test      {:.2} % (f32 ONNX), {:.2} % (int8 ONNX), run by tract{}",
        100.0 * a.f32_test_accuracy,
        100.0 * a.int8_test_accuracy,
        if retrained { ", retrained" } else { "" }
    );
    println!(
        "wrote     {}: model.onnx, model-int8.onnx, model-int8-ops.onnx, model.h, model-int8.h, model.blob, model-int8.blob, model-int8-blob.h, labels.txt, labels.h, weights.json, check.json, trial.json",
        args.out.display()
    );
    Ok(())
}
