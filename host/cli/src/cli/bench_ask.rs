//! `edgenas bench ask`: how long each strategy takes to propose a genotype when the study
//! already holds many finished trials.

use std::time::Instant;

use anyhow::Result;
use edgenas::named::Named;
use edgenas::network::decode;
use edgenas::rng::Rng;
use edgenas::space::load_space;
use edgenas::strategy::features::network_features;
use edgenas::strategy::{Candidate, Outcome, Score, StrategyName, strategy};
use serde_json::json;

use super::format::Table;

#[derive(Debug, clap::Args)]
pub struct AskArgs {
    /// Finished trials told to each strategy before timing.
    #[arg(long, default_value_t = 1000, value_parser = super::numbers::whole)]
    history: usize,
    /// Timed asks (each followed by its tell, as in a search).
    #[arg(long, default_value_t = 50, value_parser = super::numbers::count)]
    asks: usize,
    /// Spaces (shipped names or paths).
    #[arg(long, value_delimiter = ',', default_value = "nb201,mobilenetv2-tiny")]
    spaces: Vec<String>,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

/// Candidates of known cost given to `ehvi` and `ei` before the history: as many as a
/// search draws by default.
const CANDIDATES: usize = edgenas::search::CANDIDATES;

/// A deterministic hash of a genotype's text (FNV-1a).
fn hash(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
    })
}

/// The made-up latency of a genotype, the same in its candidate and its outcome.
fn latency_of(h: u64) -> f64 {
    (h >> 20) as f64 % 50.0
}

/// A made-up but deterministic outcome for a genotype: a fifth infeasible, the rest scored.
fn outcome_of(text: &str) -> Outcome {
    let h = hash(text);
    if h.is_multiple_of(5) {
        return Outcome::Infeasible;
    }
    Outcome::Feasible(Score {
        objective: 80.0 + (h % 1000) as f64 / 100.0,
        latency_ms: latency_of(h),
        ram_bytes: ((h >> 30) % 100_000) as f64,
        flash_bytes: ((h >> 40) % 500_000) as f64,
    })
}

/// The median, 90th percentile and maximum of `v` (sorted in place).
fn median_p90_max(v: &mut [f64]) -> (f64, f64, f64) {
    v.sort_by(f64::total_cmp);
    let at = |q: f64| v[((v.len() - 1) as f64 * q).round() as usize];
    (at(0.5), at(0.9), at(1.0))
}

pub fn ask(args: AskArgs) -> Result<()> {
    let mut rows = Vec::new();
    for name in &args.spaces {
        let space = load_space(name)?;
        for &s in StrategyName::ALL {
            let mut strat = strategy(s, None);
            let mut rng = Rng::new(1);
            let history: Vec<_> = (0..args.history).map(|_| space.sample(&mut rng)).collect();
            if strat.wants_candidates() {
                // The history's genotypes are among the candidates, as in a search.
                let drawn = (history.len()..CANDIDATES).map(|_| space.sample(&mut rng));
                let candidates = history
                    .iter()
                    .cloned()
                    .chain(drawn)
                    .map(|genotype| {
                        let network = decode(&space, &genotype)?;
                        Ok(Candidate {
                            features: network_features(&network),
                            latency_ms: latency_of(hash(&genotype.to_text())),
                            genotype,
                        })
                    })
                    .collect::<Result<Vec<_>>>()?;
                strat.know_costs(&candidates);
            }
            for g in &history {
                strat.tell(g, outcome_of(&g.to_text()));
            }
            let (mut asks, mut tells) = (Vec::new(), Vec::new());
            for _ in 0..args.asks {
                let t = Instant::now();
                let g = strat.ask(&space, &mut rng);
                asks.push(t.elapsed().as_secs_f64() * 1e3);
                let t = Instant::now();
                strat.tell(&g, outcome_of(&g.to_text()));
                tells.push(t.elapsed().as_secs_f64() * 1e3);
            }
            let (ask_median, ask_p90, ask_max) = median_p90_max(&mut asks);
            let (tell_median, _, _) = median_p90_max(&mut tells);
            rows.push(json!({
                "space": space.name,
                "strategy": strat.name(),
                "history": args.history,
                "ask_median_ms": ask_median,
                "ask_p90_ms": ask_p90,
                "ask_max_ms": ask_max,
                "tell_median_ms": tell_median,
            }));
        }
    }
    if args.json {
        return super::print_json(&json!({ "build": build(), "rows": rows }));
    }
    let mut t = Table::new(&[
        "space",
        "strategy",
        ">history",
        ">ask median ms",
        ">ask p90 ms",
        ">ask max ms",
        ">tell median ms",
    ]);
    for r in &rows {
        let ms = |k: &str| format!("{:.3}", r[k].as_f64().unwrap_or(0.0));
        t.row(vec![
            r["space"].as_str().unwrap_or("").into(),
            r["strategy"].as_str().unwrap_or("").into(),
            r["history"].to_string(),
            ms("ask_median_ms"),
            ms("ask_p90_ms"),
            ms("ask_max_ms"),
            ms("tell_median_ms"),
        ]);
    }
    print!("{}", t.render());
    println!(
        "build: {} (goal: ask ≤ 10 ms with 1,000 finished trials)",
        build()
    );
    Ok(())
}

/// Whether this binary is optimised.
fn build() -> &'static str {
    if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    }
}
