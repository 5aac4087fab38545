//! `edgenas bench proxies`: how well each zero-cost proxy (NASWOT, synflow, grad-norm),
//! computed on one mini-batch at initialisation, ranks candidates as training does
//! (Spearman's rank correlation), and what it costs next to training.

use std::io::IsTerminal;
use std::time::Instant;

use anyhow::Result;
use edgenas::candidate::Candidate;
use edgenas::data::{Datasets, ForData};
use edgenas::measure::spearman;
use edgenas::named::Named;
use edgenas::proxy::{self, ProxyError};
use edgenas::rng::Rng;
use edgenas::space::load_space;
use edgenas::study::ProxyName;
use edgenas::training::TrainConfig;
use edgenas::weights::initial_weights;
use serde_json::json;

use super::bench::median;
use super::format::Table;

#[derive(Debug, clap::Args)]
pub struct ProxiesArgs {
    /// Spaces (shipped names or paths).
    #[arg(long, value_delimiter = ',', default_value = "mlp,ds-cnn")]
    spaces: Vec<String>,
    /// The data set the candidates are scored and trained on.
    #[arg(long, default_value = "digits")]
    data: String,
    /// Random candidates per space, each scored by the proxy and trained.
    #[arg(long, default_value_t = 50, value_parser = super::numbers::count)]
    candidates: usize,
    /// Epochs each candidate trains for (its validation accuracy is the truth the proxy is
    /// ranked against).
    #[arg(long, default_value_t = 5, value_parser = super::numbers::count)]
    epochs: usize,
    /// The seed of the candidates, their weights and the split.
    #[arg(long, default_value_t = 0, value_parser = super::numbers::seed)]
    seed: u64,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

pub fn proxies(args: ProxiesArgs) -> Result<()> {
    let device = edgenas::train::device(edgenas::train::DeviceChoice::Cpu)?;
    let mut rows = Vec::new();
    for name in &args.spaces {
        let space = load_space(name)?;
        let mut rng = Rng::new(args.seed);
        let mut datasets = Datasets::new(&args.data, args.seed);
        // Per proxy: (score, trained accuracy) of the candidates it could score, and its times.
        let mut scored: Vec<Vec<(f64, f64)>> = vec![Vec::new(); ProxyName::ALL.len()];
        let mut proxy_ms: Vec<Vec<f64>> = vec![Vec::new(); ProxyName::ALL.len()];
        let (mut accuracies, mut train_s) = (Vec::new(), Vec::new());
        for i in 0..args.candidates {
            let genotype = space.sample(&mut rng);
            let format = Candidate::input_format(&space, &genotype)?;
            let dataset = datasets.get(format)?;
            let candidate = Candidate::for_dataset(&space, genotype, dataset)?;
            let seed = args.seed + i as u64;
            let initial = initial_weights(&candidate.network, seed);
            let scores: Vec<(Result<f64, ProxyError>, f64)> = ProxyName::ALL
                .iter()
                .map(|&p| {
                    let started = Instant::now();
                    let score =
                        proxy::score(p, &candidate.network, &initial, &dataset.train, &device);
                    (score, started.elapsed().as_secs_f64() * 1e3)
                })
                .collect();
            let config = TrainConfig {
                epochs: args.epochs,
                seed,
                ..TrainConfig::default()
            };
            let trained = edgenas::train::train(
                &candidate.network,
                &initial,
                dataset,
                &config,
                &device,
                &mut |_| {},
            )?;
            train_s.push(trained.report.train_seconds);
            let accuracy = trained.report.valid_accuracy;
            accuracies.push(accuracy);
            for (k, (score, ms)) in scores.into_iter().enumerate() {
                proxy_ms[k].push(ms);
                // A singular NASWOT kernel (two samples the network cannot tell apart)
                // ranks lowest; a proxy that cannot read the network leaves it out.
                if let Ok(s) = score {
                    scored[k].push((s.max(-1e300), accuracy));
                }
            }
            if std::io::stderr().is_terminal() {
                eprint!("\r{}: {}/{} candidates", space.name, i + 1, args.candidates);
            }
        }
        if std::io::stderr().is_terminal() {
            eprintln!();
        }
        let proxies: Vec<serde_json::Value> = ProxyName::ALL
            .iter()
            .zip(scored.iter().zip(proxy_ms.iter_mut()))
            .map(|(p, (pairs, ms))| {
                let (scores, truth): (Vec<f64>, Vec<f64>) = pairs.iter().copied().unzip();
                json!({
                    "proxy": p.name(),
                    "scored": pairs.len(),
                    "spearman": spearman(&scores, &truth),
                    "median_ms": median(ms),
                })
            })
            .collect();
        rows.push(json!({
            "space": space.name,
            "candidates": args.candidates,
            "epochs": args.epochs,
            "proxies": proxies,
            "train_median_s": median(&mut train_s),
            "valid_accuracy_range": [
                accuracies.iter().copied().fold(f64::INFINITY, f64::min),
                accuracies.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            ],
        }));
    }
    if args.json {
        return super::print_json(&json!({ "data": args.data, "rows": rows }));
    }
    let mut t = Table::new(&[
        "space",
        "proxy",
        ">scored",
        ">Spearman",
        ">proxy median ms",
        ">training median s",
        ">valid % range",
    ]);
    for r in &rows {
        let range = &r["valid_accuracy_range"];
        for p in r["proxies"].as_array().into_iter().flatten() {
            t.row(vec![
                r["space"].as_str().unwrap_or("").into(),
                p["proxy"].as_str().unwrap_or("").into(),
                format!("{}/{}", p["scored"], r["candidates"]),
                format!("{:.3}", p["spearman"].as_f64().unwrap_or(f64::NAN)),
                format!("{:.1}", p["median_ms"].as_f64().unwrap_or(0.0)),
                format!("{:.2}", r["train_median_s"].as_f64().unwrap_or(0.0)),
                format!(
                    "{:.1}–{:.1}",
                    100.0 * range[0].as_f64().unwrap_or(0.0),
                    100.0 * range[1].as_f64().unwrap_or(0.0)
                ),
            ]);
        }
    }
    print!("{}", t.render());
    println!(
        "data: {}, {} epochs per candidate (proxies scored at initialisation on one batch of 32; synflow on an input of ones)",
        args.data, args.epochs
    );
    Ok(())
}
