//! How `search` and `status` print a study's trials: counts by state and the Pareto front.

use edgenas::study::{Trial, TrialState};

use super::format::Table;

/// `trials    N complete, N infeasible, …` for every state that has trials.
pub fn counts_line(trials: &[Trial]) -> String {
    let states = [
        TrialState::Complete,
        TrialState::Infeasible,
        TrialState::Failed,
        TrialState::Pruned,
        TrialState::Running,
        TrialState::Pending,
        TrialState::Interrupted,
    ];
    let parts: Vec<String> = states
        .iter()
        .map(|&s| (s, trials.iter().filter(|t| t.state == s).count()))
        .filter(|&(s, n)| n > 0 || s == TrialState::Complete)
        .map(|(s, n)| format!("{n} {}", s.name()))
        .collect();
    format!("trials    {}", parts.join(", "))
}

/// Prints the front (trial ids, best first) as a table.
pub fn print_front(trials: &[Trial], front: &[i64]) {
    if front.is_empty() {
        println!("front     no complete trial");
        return;
    }
    let mut t = Table::new(&[
        ">trial",
        ">valid %",
        ">test %",
        ">latency ms",
        ">RAM KiB",
        ">flash KiB",
        "genotype",
    ]);
    for id in front {
        let Some(trial) = trials.iter().find(|t| t.id == *id) else {
            continue;
        };
        let f = |v: Option<f64>, d: usize| v.map_or("-".into(), |v| format!("{v:.d$}"));
        let kb = |v: Option<u64>| f(v.map(|b| b as f64 / 1024.0), 1);
        t.row(vec![
            id.to_string(),
            f(trial.valid_accuracy, 2),
            f(trial.test_accuracy, 2),
            f(trial.latency_ms, 3),
            kb(trial.ram_bytes),
            kb(trial.flash_bytes),
            trial.genotype.clone(),
        ]);
    }
    println!("Pareto front (validation accuracy against latency, RAM and flash):");
    print!("{}", t.render());
}
