//! `edgenas bench predictor`: how well the simulator predicts measured latency (and the
//! dispatch to the other benchmarks).

use std::time::Duration;

use anyhow::Result;
use edgenas::board::{BoardKind, CostFit, load_board};
use edgenas::candidate::Candidate;
use edgenas::measure::kernel_model::{self, ModelCounts};
use edgenas::measure::work::analyse;
use edgenas::measure::{
    CalibrationPoint, Timer, agreement, board_meter, calibrate, calibrate_kernels, compiled_counts,
    export_untrained, fit_cost_model, fit_quality, kernel_models, micro_models, predict_cycles,
};
use edgenas::network::Network;
use edgenas::rng::Rng;
use edgenas::space::{SHIPPED_SPACES, load_space};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;

use super::calibrate::today;
use super::format::Table;

/// Arguments of `edgenas bench`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    bench: Bench,
}

#[derive(Debug, clap::Subcommand)]
enum Bench {
    /// The simulator's fidelity: random candidates of every shipped space are measured with
    /// the tract host meter and predicted by the simulator, with host coefficients fitted on
    /// the micro-models of `calibrate` and, separately, on one half of the candidates; the
    /// other half is reported: the share within ±10 %, the median error, Spearman's rank
    /// correlation and the worst cases. The reported half is measured a second time at the
    /// end, and that second measurement is scored like a prediction: the noise floor of the
    /// machine, which no predictor can beat.
    Predictor(PredictorArgs),
    /// How long each strategy takes to propose a genotype with a long history: `--history`
    /// finished trials (random genotypes, a fifth of them infeasible) are told first, then
    /// `--asks` ask/tell rounds are timed. Prints the median, 90th percentile and maximum per ask.
    Ask(super::bench_ask::AskArgs),
    /// The device engine on the host next to tract, on the same models: random genotypes of
    /// each space, untrained, int8 QDQ and f32, timed alternately in one run (medians); and
    /// the engine's MACs per second by kernel kind (convolution, depthwise, pointwise, dense).
    /// The baseline the Cortex-M figures are read against.
    Engine(super::bench_engine::EngineArgs),
    /// The engine on an emulated Cortex-M board (QEMU, instructions counted exactly):
    /// instructions per MAC of the int8 and f32 kernels, and MLPerf Tiny's DS-CNN, ResNet-8
    /// and Visual Wake Words MobileNetV1 rebuilt in our spaces, at the NUCLEO-L4R5ZI's
    /// 120 MHz, next to the published MLPerf Tiny v1.1 latencies on that board. Needs the
    /// firmware (docs/firmware.md).
    Board(super::bench_board::BoardArgs),
    /// Several `edgenas worker` processes on one study (SQLite, and PostgreSQL with
    /// `--postgres`): trials per minute for each worker count with a cheap evaluator (MLPs on
    /// `digits`, simulator latency), and the coordination overhead per trial.
    Workers(super::bench_workers::WorkersArgs),
    /// Zero-cost proxies: random candidates of each space scored at initialisation by NASWOT,
    /// synflow and grad-norm (one mini-batch, or for synflow an input of ones) and trained;
    /// each proxy's Spearman rank correlation of score and validation accuracy, and its cost
    /// next to training's. Says which proxy to trust on a task.
    Proxies(super::bench_proxies::ProxiesArgs),
}

#[derive(Debug, clap::Args)]
struct PredictorArgs {
    /// The board whose meter measures: `host` (tract, timed) or an emulated board
    /// (`qemu-mps2-an386`: instructions counted exactly, no noise; needs the firmware).
    #[arg(long, default_value = "host")]
    board: String,
    /// Candidates per space.
    #[arg(long, default_value_t = 200, value_parser = super::numbers::count)]
    per_space: usize,
    /// Spaces (shipped names or paths); all shipped spaces by default.
    #[arg(long, value_delimiter = ',')]
    spaces: Vec<String>,
    /// The seed candidates are drawn with.
    #[arg(long, default_value_t = 0, value_parser = super::numbers::seed)]
    seed: u64,
    /// Measure the candidates in int8 (QDQ, what a microcontroller runs) instead of f32.
    #[arg(long)]
    int8: bool,
    /// Emulated boards: how many random kernel chains `calibrate` measures to fit the
    /// per-kernel predictor (each in f32 and int8), drawn apart from every space.
    #[arg(long, default_value_t = 150, value_parser = super::numbers::count)]
    kernel_models: usize,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> Result<()> {
    match args.bench {
        Bench::Predictor(a) => predictor(a),
        Bench::Ask(a) => super::bench_ask::ask(a),
        Bench::Engine(a) => super::bench_engine::engine(a),
        Bench::Board(a) => super::bench_board::board(a),
        Bench::Workers(a) => super::bench_workers::workers(a),
        Bench::Proxies(a) => super::bench_proxies::proxies(a),
    }
}

/// One measured candidate.
struct Measured {
    space: String,
    genotype: String,
    network: Network,
    point: CalibrationPoint,
    /// Its compiled ops' loop counts, for the per-kernel predictor (emulated boards).
    counts: Option<ModelCounts>,
    /// A second measurement, taken after all the others: how far the machine's own noise
    /// moves a measurement.
    again_cycles: f64,
}

/// The median of `v` (sorted in place; the upper one of an even count), for the benchmarks'
/// timings.
pub(super) fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn predictor(args: PredictorArgs) -> Result<()> {
    let board = load_board(&args.board)?;
    let clock = board.clock_hz as f64;
    let spaces: Vec<String> = if args.spaces.is_empty() {
        SHIPPED_SPACES.iter().map(|(n, _)| n.to_string()).collect()
    } else {
        args.spaces.clone()
    };
    let timer = Timer {
        min_runs: 10,
        max_time: Duration::from_millis(800),
        ..Timer::default()
    };
    let meter = board_meter(&board, timer)?;
    let micro = micro_models();
    let bar = ProgressBar::new((micro.len() + spaces.len() * args.per_space) as u64).with_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} {msg}").expect("a valid template"),
    );
    bar.set_message("calibration models");
    let date = today();
    let micro_fit = calibrate(&board, meter.as_ref(), &micro, false, &date, &mut |_| {
        bar.inc(1)
    })?;
    let emulated = board.kind == BoardKind::Emulator;
    let kernel_fit = if emulated {
        let models = kernel_models(args.kernel_models, args.seed.wrapping_add(1));
        bar.set_length(bar.length().unwrap_or(0) + 2 * models.len() as u64);
        bar.set_message("kernel models");
        let (km, _) = calibrate_kernels(&board.name, meter.as_ref(), &models, &date, &mut |_| {
            bar.inc(1)
        })?;
        Some(km)
    } else {
        None
    };
    let mut measured = Vec::new();
    let mut too_big = 0;
    for name in &spaces {
        let space = load_space(name)?;
        let mut rng = Rng::new(args.seed);
        bar.set_message(name.clone());
        for _ in 0..args.per_space {
            let c = Candidate::new(&space, space.sample(&mut rng))?;
            let bytes = export_untrained(&c.network, args.int8, 0)?;
            let genotype = c.genotype.to_string();
            let work = analyse(&bytes, &genotype)?;
            let counts = if emulated {
                Some(compiled_counts(&bytes, &genotype)?)
            } else {
                None
            };
            let m = match meter.measure(&bytes, &genotype) {
                Ok(m) => m,
                // A candidate the board cannot hold (RAM) is left out, and counted.
                Err(e) if e.is_too_big() => {
                    too_big += 1;
                    bar.inc(1);
                    continue;
                }
                Err(e) => return Err(e.into()),
            };
            measured.push(Measured {
                space: space.name.clone(),
                genotype,
                network: c.network,
                point: CalibrationPoint {
                    name: space.name.clone(),
                    work,
                    measured_cycles: m.latency_ms.median / 1e3 * clock,
                },
                counts,
                again_cycles: 0.0,
            });
            bar.inc(1);
        }
    }
    // The reported half once more, to show the machine's noise floor.
    bar.set_message("measuring the reported half again");
    bar.set_length(bar.length().unwrap_or(0) + (measured.len() / 2) as u64);
    for m in measured.iter_mut().skip(1).step_by(2) {
        let bytes = export_untrained(&m.network, args.int8, 0)?;
        let again = meter.measure(&bytes, &m.genotype)?;
        m.again_cycles = again.latency_ms.median / 1e3 * clock;
        bar.inc(1);
    }
    bar.finish_and_clear();
    // Fit on the even draws of each space, report on the odd ones.
    let fit_points: Vec<CalibrationPoint> = measured
        .iter()
        .step_by(2)
        .map(|m| m.point.clone())
        .collect();
    let half_fit = fit_cost_model(&fit_points, &micro_fit.cost_model, &date);
    let report: Vec<&Measured> = measured.iter().skip(1).step_by(2).collect();
    let fits = [
        ("micro-models", &micro_fit.cost_model),
        ("other half", &half_fit),
    ];
    // One group per space, in the order measured, then all together.
    let mut groups: Vec<(String, Vec<&Measured>)> = Vec::new();
    for &m in &report {
        match groups.iter_mut().find(|(space, _)| *space == m.space) {
            Some((_, members)) => members.push(m),
            None => groups.push((m.space.clone(), vec![m])),
        }
    }
    groups.push(("all".into(), report.clone()));
    let mut rows = Vec::new();
    for (label, model) in fits {
        for (space, members) in &groups {
            let points: Vec<CalibrationPoint> = members.iter().map(|m| m.point.clone()).collect();
            rows.push(row(label, space, &fit_quality(&points, model)));
        }
    }
    let mut unpredicted = Vec::new();
    if let Some(km) = &kernel_fit {
        for (space, members) in &groups {
            let (mut predicted, mut measured) = (Vec::new(), Vec::new());
            for m in members {
                let counts = m.counts.as_ref().expect("counted on an emulated board");
                match kernel_model::predict_cycles(km, counts) {
                    Ok(p) => {
                        predicted.push(p);
                        measured.push(m.point.measured_cycles);
                    }
                    // Each candidate once: every one is in the last group, "all".
                    Err(e) if space == "all" => {
                        unpredicted.push(json!({"genotype": m.genotype, "error": e.to_string()}));
                    }
                    Err(_) => {}
                }
            }
            rows.push(row(
                "kernel model",
                space,
                &agreement(&predicted, &measured),
            ));
        }
    }
    // The noise floor: the second measurement taken as the prediction of the first.
    let first: Vec<f64> = report.iter().map(|m| m.point.measured_cycles).collect();
    let again: Vec<f64> = report.iter().map(|m| m.again_cycles).collect();
    rows.push(row("(measured again)", "all", &agreement(&again, &first)));
    let mut worst: Vec<(f64, &Measured, f64)> = report
        .iter()
        .map(|m| {
            let p = predict_cycles(&m.point.work, &half_fit);
            (
                (p - m.point.measured_cycles) / m.point.measured_cycles,
                *m,
                p,
            )
        })
        .collect();
    worst.sort_by(|a, b| b.0.abs().total_cmp(&a.0.abs()));
    let worst: Vec<serde_json::Value> = worst
        .iter()
        .take(5)
        .map(|(e, m, p)| {
            json!({
                "space": m.space,
                "genotype": m.genotype,
                "measured_ms": m.point.measured_cycles / clock * 1e3,
                "predicted_ms": p / clock * 1e3,
                "error_percent": 100.0 * e,
            })
        })
        .collect();
    let summary = json!({
        "board": board.name,
        "meter": meter.backend(),
        "candidates": measured.len(),
        "left_out_too_big": too_big,
        "reported": report.len(),
        "rows": rows,
        "worst": worst,
        "coefficients": { "micro-models": micro_fit.cost_model, "other half": half_fit },
        "kernel_model": kernel_fit,
        "kernel_model_unpredicted": unpredicted,
        "int8": args.int8,
    });
    if args.json {
        return super::print_json(&summary);
    }
    print_table(&summary);
    Ok(())
}

/// One row of the fidelity table.
fn row(coefficients: &str, space: &str, q: &CostFit) -> serde_json::Value {
    json!({
        "coefficients": coefficients,
        "space": space,
        "models": q.models,
        "within_10_percent": q.within_10_percent,
        "median_error_percent": q.median_error_percent,
        "spearman": q.spearman,
    })
}

fn print_table(summary: &serde_json::Value) {
    println!(
        "simulator vs {} on {}: {} candidates measured, {} (every other one) reported",
        summary["meter"].as_str().unwrap_or(""),
        summary["board"].as_str().unwrap_or(""),
        summary["candidates"],
        summary["reported"]
    );
    if summary["left_out_too_big"].as_u64().unwrap_or(0) > 0 {
        println!(
            "({} candidates left out: more RAM than the board has)",
            summary["left_out_too_big"]
        );
    }
    let mut t = Table::new(&[
        "coefficients fitted on",
        "space",
        ">models",
        ">within ±10 %",
        ">median error",
        ">Spearman",
    ]);
    for r in summary["rows"].as_array().into_iter().flatten() {
        t.row(vec![
            r["coefficients"].as_str().unwrap_or("").into(),
            r["space"].as_str().unwrap_or("").into(),
            r["models"].to_string(),
            format!("{:.1} %", r["within_10_percent"].as_f64().unwrap_or(0.0)),
            format!("{:.1} %", r["median_error_percent"].as_f64().unwrap_or(0.0)),
            format!("{:.3}", r["spearman"].as_f64().unwrap_or(0.0)),
        ]);
    }
    print!("{}", t.render());
    for u in summary["kernel_model_unpredicted"]
        .as_array()
        .into_iter()
        .flatten()
    {
        println!(
            "kernel model cannot predict {}: {}",
            u["genotype"].as_str().unwrap_or(""),
            u["error"].as_str().unwrap_or("")
        );
    }
    println!("worst predictions (coefficients fitted on the other half):");
    for w in summary["worst"].as_array().into_iter().flatten() {
        println!(
            "  {:+.1} %  measured {:.3} ms, predicted {:.3} ms  {} {}",
            w["error_percent"].as_f64().unwrap_or(0.0),
            w["measured_ms"].as_f64().unwrap_or(0.0),
            w["predicted_ms"].as_f64().unwrap_or(0.0),
            w["space"].as_str().unwrap_or(""),
            w["genotype"].as_str().unwrap_or("")
        );
    }
}
