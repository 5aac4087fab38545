//! `edgenas status`: a one-screen summary of a study, usable while a search runs.

use anyhow::Result;
use edgenas::front::pareto_front;
use edgenas::study::{HEARTBEAT_TIMEOUT_SECONDS, TrialState, abandoned, epochs_trained, now};
use serde_json::json;

use super::trials_view::{counts_line, print_front};

/// Arguments of `edgenas status`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The study (from `edgenas search`): a SQLite file, or a
    /// `postgres://USER@HOST/DB?study=NAME` URL.
    #[arg(long)]
    study: String,
    /// Print JSON: `settings`, `counts` (by state), `best` (the trial with the best
    /// validation accuracy), `front` (trial ids), `running` (trials in progress, each with its
    /// learning curve so far, `curve`), `epochs_trained` (by every trial, in all).
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> Result<()> {
    let study = edgenas::study::open(&args.study, false)?;
    let settings = study.settings()?;
    let trials = study.trials()?;
    let front = pareto_front(&trials);
    let best = trials
        .iter()
        .filter(|t| t.state == TrialState::Complete)
        .max_by(|a, b| {
            a.valid_accuracy
                .unwrap_or(0.0)
                .total_cmp(&b.valid_accuracy.unwrap_or(0.0))
        });
    let at = now();
    let running: Vec<_> = trials
        .iter()
        .filter(|t| t.state == TrialState::Running)
        .collect();
    if args.json {
        let counts: serde_json::Map<String, serde_json::Value> = TrialState::ALL
            .iter()
            .map(|&s| {
                let n = trials.iter().filter(|t| t.state == s).count();
                (s.name().to_string(), json!(n))
            })
            .collect();
        return super::print_json(&json!({
            "study": study.location(),
            "settings": settings,
            "counts": counts,
            "best": best,
            "front": front,
            "running": running,
            "epochs_trained": epochs_trained(&trials),
        }));
    }
    println!("study     {}", study.location());
    match &settings {
        Some(s) => {
            println!(
                "search    space {}, board {}, data {}, {} epochs, seed {}, strategy {}",
                s.space, s.board, s.data, s.epochs, s.seed, s.strategy
            );
            let l = &s.limits;
            let mut limits = Vec::new();
            if let Some(v) = l.max_latency_ms {
                limits.push(format!("latency ≤ {v} ms"));
            }
            if let Some(v) = l.max_ram_kb {
                limits.push(format!("RAM ≤ {v} KiB"));
            }
            if let Some(v) = l.max_flash_kb {
                limits.push(format!("flash ≤ {v} KiB"));
            }
            if let Some(v) = l.max_macs {
                limits.push(format!("MACs ≤ {v}"));
            }
            if limits.is_empty() {
                limits.push("the board's memory only".into());
            }
            println!("limits    {} ({})", limits.join(", "), s.dtype.name());
        }
        None => println!("search    none has run in this study"),
    }
    println!("{}", counts_line(&trials));
    println!("epochs    {} trained in all", epochs_trained(&trials));
    for t in &running {
        let beat = t
            .heartbeat
            .map_or("never".into(), |h| format!("{:.0} s ago", at - h));
        let dead = if abandoned(t, at, HEARTBEAT_TIMEOUT_SECONDS) {
            ", abandoned: the next search or worker reruns it"
        } else {
            ""
        };
        let epoch = t.curve.last().map_or(String::new(), |p| {
            format!(", epoch {} valid {:.2} %", p.epoch, p.valid_accuracy)
        });
        println!(
            "running   trial {} on {}{epoch} (heartbeat {beat}{dead})",
            t.id,
            t.worker.as_deref().unwrap_or("?")
        );
    }
    if let Some(b) = best {
        println!(
            "best      trial {}: valid {:.2} % ({})",
            b.id,
            b.valid_accuracy.unwrap_or(0.0),
            b.genotype
        );
    }
    print_front(&trials, &front);
    Ok(())
}
