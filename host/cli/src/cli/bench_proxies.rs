//! `edgenas bench proxies`: how well a zero-cost proxy, computed on one mini-batch at
//! initialisation, ranks candidates as training does (Spearman's rank correlation), and what
//! it costs next to training.

use std::io::IsTerminal;
use std::time::Instant;

use anyhow::Result;
use edgenas::candidate::Candidate;
use edgenas::data::{Datasets, ForData};
use edgenas::measure::spearman;
use edgenas::proxy::naswot;
use edgenas::rng::Rng;
use edgenas::space::load_space;
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
    let device =
        edgenas::train::device(edgenas::train::DeviceChoice::Cpu).map_err(anyhow::Error::msg)?;
    let mut rows = Vec::new();
    for name in &args.spaces {
        let space = load_space(name)?;
        let mut rng = Rng::new(args.seed);
        let mut datasets = Datasets::new(&args.data, args.seed);
        let (mut scores, mut accuracies) = (Vec::new(), Vec::new());
        let (mut proxy_ms, mut train_s) = (Vec::new(), Vec::new());
        let mut unscored = 0;
        for i in 0..args.candidates {
            let genotype = space.sample(&mut rng);
            let format = Candidate::input_format(&space, &genotype)?;
            let dataset = datasets.get(format)?;
            let candidate = Candidate::for_dataset(&space, genotype, dataset)?;
            let seed = args.seed + i as u64;
            let initial = initial_weights(&candidate.network, seed);
            let started = Instant::now();
            let score = naswot(&candidate.network, &initial, &dataset.train, &device);
            proxy_ms.push(started.elapsed().as_secs_f64() * 1e3);
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
            match score {
                // A singular kernel (two samples the network cannot tell apart) ranks lowest.
                Ok(s) => {
                    scores.push(s.max(-1e300));
                    accuracies.push(trained.report.valid_accuracy);
                }
                Err(_) => unscored += 1,
            }
            if std::io::stderr().is_terminal() {
                eprint!("\r{}: {}/{} candidates", space.name, i + 1, args.candidates);
            }
        }
        if std::io::stderr().is_terminal() {
            eprintln!();
        }
        rows.push(json!({
            "space": space.name,
            "candidates": args.candidates,
            "unscored": unscored,
            "epochs": args.epochs,
            "spearman_naswot": spearman(&scores, &accuracies),
            "proxy_median_ms": median(&mut proxy_ms),
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
        ">candidates",
        ">epochs",
        ">Spearman NASWOT",
        ">proxy median ms",
        ">training median s",
        ">valid % range",
    ]);
    for r in &rows {
        let range = &r["valid_accuracy_range"];
        t.row(vec![
            r["space"].as_str().unwrap_or("").into(),
            format!("{}", r["candidates"]),
            format!("{}", r["epochs"]),
            format!("{:.3}", r["spearman_naswot"].as_f64().unwrap_or(f64::NAN)),
            format!("{:.1}", r["proxy_median_ms"].as_f64().unwrap_or(0.0)),
            format!("{:.2}", r["train_median_s"].as_f64().unwrap_or(0.0)),
            format!(
                "{:.1}–{:.1}",
                100.0 * range[0].as_f64().unwrap_or(0.0),
                100.0 * range[1].as_f64().unwrap_or(0.0)
            ),
        ]);
    }
    print!("{}", t.render());
    println!(
        "data: {} (scored at initialisation on one batch of 32)",
        args.data
    );
    Ok(())
}
