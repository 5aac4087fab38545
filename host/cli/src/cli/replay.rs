//! `edgenas replay`: a strategy against a table of pre-measured architectures.

use super::named;
use std::path::PathBuf;

use anyhow::{Result, bail};
use edgenas::named::Named;
use edgenas::space::load_space;
use edgenas::strategy::StrategyName;
use edgenas::strategy::replay::{
    ArchTable, Setup, hypervolume_summary, mean_lookups, replay, summary,
};
use serde_json::json;

use super::format::Table;

/// Arguments of `edgenas replay`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The table: CSV with `arch` (a genotype or an NB-201 cell string), `accuracy` (percent)
    /// and `latency_ms` columns, one row per architecture of the space. edgenas ships none:
    /// NAS-Bench-201's accuracies joined with HW-NAS-Bench's device latencies give one per
    /// data set and device (docs/strategies.md says how).
    #[arg(long)]
    table: PathBuf,
    /// The space the table's architectures belong to (a shipped name or a path).
    #[arg(long, default_value = "nb201")]
    space: String,
    /// The strategy.
    #[arg(long, value_parser = named::<StrategyName>(), default_value = "evolution")]
    strategy: StrategyName,
    /// Queries (evaluated architectures) per run.
    #[arg(long, default_value_t = 100, value_parser = super::numbers::count)]
    budget: usize,
    /// Runs, with seeds 0, 1, …
    #[arg(long, default_value_t = 30, value_parser = super::numbers::count_u64)]
    seeds: u64,
    /// Only architectures at most this slow count; slower ones are rejected before they would
    /// be trained and cost no query.
    #[arg(long, value_parser = super::numbers::positive)]
    max_latency_ms: Option<f64>,
    /// For the strategies that choose among candidates of known cost (`ehvi`, `ei`): how many
    /// genotypes they see, drawn from the space as `edgenas search` draws its candidates
    /// (1,000 there). Default: every row of the table. Their latencies count as looked up.
    #[arg(long, value_name = "N", value_parser = super::numbers::count)]
    candidates: Option<usize>,
    /// The hypervolume's reference accuracy (percent). Default: the table's median accuracy
    /// (the reference of `../shared/bench/README.md`: only architectures better than the
    /// median in both objectives count).
    #[arg(long, value_parser = super::numbers::positive)]
    reference_accuracy: Option<f64>,
    /// The hypervolume's reference latency (ms). Default: the table's median latency.
    #[arg(long, value_parser = super::numbers::positive)]
    reference_latency_ms: Option<f64>,
    /// Print JSON: `mean_best_accuracy`, `std_best_accuracy`, `optimum`, `regret`,
    /// `mean_hypervolume_share`, `std_hypervolume_share`, `reference_point`, `mean_lookups`,
    /// and after every query the mean best accuracy (`mean_best_after`), hypervolume share
    /// (`mean_hypervolume_after`) and architectures looked up (`mean_lookups_after`).
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> Result<()> {
    let space = load_space(&args.space)?;
    let table = ArchTable::read(&args.table, &space)?;
    let Some(optimum) = table.optimum(args.max_latency_ms) else {
        bail!(
            "no architecture of {} meets --max-latency-ms {}",
            args.table.display(),
            args.max_latency_ms.unwrap_or_default()
        );
    };
    let runs = (0..args.seeds)
        .map(|seed| {
            replay(
                &table,
                &space,
                Setup {
                    strategy: args.strategy,
                    budget: args.budget,
                    max_latency_ms: args.max_latency_ms,
                    candidates: args.candidates,
                },
                seed,
            )
        })
        .collect::<Result<Vec<_>, _>>()?;
    let (mean, std) = summary(&runs, args.budget);
    let front = table.front(args.max_latency_ms);
    let mut reference = table.median_reference();
    if let Some(a) = args.reference_accuracy {
        reference[0] = -a;
    }
    if let Some(l) = args.reference_latency_ms {
        reference[1] = l;
    }
    if !front
        .iter()
        .any(|p| p[0] < reference[0] && p[1] < reference[1])
    {
        bail!(
            "no architecture of the true front is better than the reference point in both objectives"
        );
    }
    let hypervolume = |q| hypervolume_summary(&runs, q, &front, reference);
    let (hv_mean, hv_std) = hypervolume(args.budget);
    let queries = 1..=args.budget;
    let curve: Vec<f64> = queries.clone().map(|q| summary(&runs, q).0).collect();
    let hv_curve: Vec<f64> = queries.clone().map(|q| hypervolume(q).0).collect();
    let lookups_curve: Vec<f64> = queries.map(|q| mean_lookups(&runs, q)).collect();
    let infeasible = runs.iter().map(|r| r.infeasible).sum::<usize>() as f64 / runs.len() as f64;
    let strategy = args.strategy.name();
    if args.json {
        return super::print_json(&json!({
            "strategy": strategy,
            "budget": args.budget,
            "seeds": args.seeds,
            "max_latency_ms": args.max_latency_ms,
            "architectures": table.len(),
            "mean_best_accuracy": mean,
            "std_best_accuracy": std,
            "optimum": optimum,
            "regret": optimum - mean,
            "mean_infeasible": infeasible,
            "mean_hypervolume_share": hv_mean,
            "std_hypervolume_share": hv_std,
            "true_front_size": front.len(),
            "reference_point": {"accuracy": -reference[0], "latency_ms": reference[1]},
            "mean_lookups": mean_lookups(&runs, args.budget),
            "mean_best_after": curve,
            "mean_hypervolume_after": hv_curve,
            "mean_lookups_after": lookups_curve,
        }));
    }
    let mut t = Table::new(&[
        "strategy",
        ">queries",
        ">seeds",
        ">best accuracy",
        ">optimum",
        ">regret",
        ">hypervolume",
        ">look-ups",
    ]);
    for q in [10, 25, 50, 100, 200, 500]
        .into_iter()
        .filter(|&q| q < args.budget)
        .chain([args.budget])
    {
        let (m, s) = summary(&runs, q);
        let (hm, hs) = hypervolume(q);
        t.row(vec![
            strategy.to_string(),
            q.to_string(),
            args.seeds.to_string(),
            format!("{m:.3} ± {s:.3}"),
            format!("{optimum:.3}"),
            format!("{:.3}", optimum - m),
            format!("{:.1} ± {:.1} %", 100.0 * hm, 100.0 * hs),
            format!("{:.1}", mean_lookups(&runs, q)),
        ]);
    }
    print!("{}", t.render());
    println!(
        "hypervolume: of the accuracy/latency front found, as a share of the table's true front \
         ({} architectures), against the reference point {:.3} % / {:.3} ms; look-ups: \
         architectures whose latency was looked up (queries and rejections; free in a search, \
         no training)",
        front.len(),
        -reference[0],
        reference[1]
    );
    if args.max_latency_ms.is_some() {
        println!(
            "rejected by the latency limit before training: {infeasible:.1} per run on average"
        );
    }
    Ok(())
}
