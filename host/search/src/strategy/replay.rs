//! Replaying a strategy against a table of pre-measured architectures instead of training:
//! the standard way search strategies are compared (NAS-Bench-201, HW-NAS-Bench).
//!
//! The table is CSV with the columns `arch` (a genotype in any form the space parses: the
//! canonical text, or an NB-201 cell string), `accuracy` and `latency_ms`; other columns
//! (`index`, `e0`…`e5`) are ignored. A query is one evaluation (a training, in a real
//! search); a genotype over the latency limit is rejected before it would be trained and is
//! not a query; a genotype asked again is answered from what is known and is not a query.

use std::collections::hash_map::Entry as Slot;
use std::collections::{HashMap, HashSet};
use std::path::Path;

use serde::Serialize;

use super::features::network_features;
use super::pareto::hypervolume_2d;
use super::{Candidate, Outcome, Score, StrategyName, strategy};
use edgenas_model::error::FileError;
use edgenas_model::network::decode;
use edgenas_model::rng::Rng;
use edgenas_model::space::SearchSpace;

/// One measured architecture.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Entry {
    /// Its accuracy (percent).
    pub accuracy: f64,
    /// Its latency in milliseconds.
    pub latency_ms: f64,
}

/// A table of measured architectures, by canonical genotype text.
#[derive(Clone, Debug)]
pub struct ArchTable {
    entries: HashMap<String, Entry>,
    /// A row of `candidates` by canonical genotype text.
    index: HashMap<String, usize>,
    /// Every row as a candidate of known latency, with its network's features.
    candidates: Vec<Candidate>,
}

impl ArchTable {
    /// Reads a table for `space`. Fails, naming the file and line, on a missing column, a
    /// number that does not parse, or an architecture that is not a genotype of the space.
    pub fn read(path: &Path, space: &SearchSpace) -> Result<ArchTable, FileError> {
        let file = path.display().to_string();
        let at = |line: usize, message: String| FileError {
            line: Some(line),
            ..FileError::file(&file, message)
        };
        let mut reader = csv::Reader::from_path(path)
            .map_err(|e| FileError::file(&file, format!("cannot read it: {e}")))?;
        let headers = reader
            .headers()
            .map_err(|e| FileError::file(&file, e.to_string()))?
            .clone();
        let column = |name: &str| {
            headers.iter().position(|h| h == name).ok_or_else(|| {
                FileError::file(
                    &file,
                    format!("no column `{name}` (need arch, accuracy, latency_ms)"),
                )
            })
        };
        let (arch, acc, lat) = (column("arch")?, column("accuracy")?, column("latency_ms")?);
        let (mut entries, mut candidates) = (HashMap::new(), Vec::new());
        for (i, record) in reader.records().enumerate() {
            let line = i + 2;
            let record = record.map_err(|e| at(line, e.to_string()))?;
            let number = |k: usize, what: &str| {
                record
                    .get(k)
                    .and_then(|v| v.trim().parse::<f64>().ok())
                    .filter(|v| v.is_finite())
                    .ok_or_else(|| at(line, format!("`{what}` is not a number")))
            };
            let text = record.get(arch).unwrap_or("");
            let g = space.parse_genotype(text).map_err(|e| {
                at(
                    line,
                    format!(
                        "`{text}` is not a genotype of space {}: {}",
                        space.name, e.message
                    ),
                )
            })?;
            let network = decode(space, &g)
                .map_err(|e| at(line, format!("`{text}` does not build a network: {e}")))?;
            let entry = Entry {
                accuracy: number(acc, "accuracy")?,
                latency_ms: number(lat, "latency_ms")?,
            };
            let candidate = Candidate {
                features: network_features(&network),
                latency_ms: entry.latency_ms,
                genotype: g,
            };
            // A row repeated later replaces the earlier one, in both.
            match entries.entry(candidate.genotype.to_text()) {
                Slot::Occupied(mut row) => {
                    let (earlier, at) = row.get_mut();
                    *earlier = entry;
                    candidates[*at] = candidate;
                }
                Slot::Vacant(row) => {
                    row.insert((entry, candidates.len()));
                    candidates.push(candidate);
                }
            }
        }
        if entries.is_empty() {
            return Err(FileError::file(&file, "the table has no rows"));
        }
        let index = entries
            .iter()
            .map(|(k, (_, at))| (k.clone(), *at))
            .collect();
        let entries = entries.into_iter().map(|(k, (e, _))| (k, e)).collect();
        Ok(ArchTable {
            entries,
            index,
            candidates,
        })
    }

    /// The row of genotype text `key` as a candidate of known latency.
    fn candidate(&self, key: &str) -> Option<&Candidate> {
        self.index.get(key).map(|&at| &self.candidates[at])
    }

    /// The number of architectures.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the table is empty (never, once read).
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The Pareto front of accuracy against latency within the latency limit, as
    /// (−accuracy, latency) pairs, both minimised.
    pub fn front(&self, max_latency_ms: Option<f64>) -> Vec<[f64; 2]> {
        let points: Vec<Vec<f64>> = self
            .entries
            .values()
            .filter(|e| max_latency_ms.is_none_or(|l| e.latency_ms <= l))
            .map(|e| vec![-e.accuracy, e.latency_ms])
            .collect();
        match super::pareto::fronts(&points).first() {
            Some(front) => front
                .iter()
                .map(|&i| [points[i][0], points[i][1]])
                .collect(),
            None => Vec::new(),
        }
    }

    /// The reference point `../shared/bench/README.md` scores fronts against, as
    /// (−accuracy, latency): the table's median accuracy and median latency. Only architectures
    /// better than the median in both count, so a front that merely reaches down to the worst
    /// networks (as random search's does) scores little.
    pub fn median_reference(&self) -> [f64; 2] {
        let median = |mut v: Vec<f64>| {
            v.sort_by(f64::total_cmp);
            let n = v.len();
            (v[(n - 1) / 2] + v[n / 2]) / 2.0
        };
        [
            -median(self.entries.values().map(|e| e.accuracy).collect()),
            median(self.entries.values().map(|e| e.latency_ms).collect()),
        ]
    }

    /// The best accuracy of an architecture within the latency limit, if any is.
    pub fn optimum(&self, max_latency_ms: Option<f64>) -> Option<f64> {
        self.entries
            .values()
            .filter(|e| max_latency_ms.is_none_or(|l| e.latency_ms <= l))
            .map(|e| e.accuracy)
            .max_by(f64::total_cmp)
    }
}

/// The rows of `n` distinct genotypes drawn from `space` as a search draws its candidates
/// (uniformly, seeded), as far as the table has them.
fn drawn(table: &ArchTable, space: &SearchSpace, n: usize, seed: u64) -> Vec<Candidate> {
    space
        .sample_distinct(n, &mut Rng::new(seed ^ 0x6361_6E64))
        .iter()
        .filter_map(|g| table.candidate(&g.to_text()).cloned())
        .collect()
}

/// One seed's run.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Run {
    /// The seed.
    pub seed: u64,
    /// The best accuracy within the limit after each query.
    pub best_after: Vec<f64>,
    /// Genotypes rejected by the latency limit.
    pub infeasible: usize,
    /// Architectures whose latency was looked up after each query (the queries, and the
    /// architectures rejected by the limit so far): free in a search, where the board's cost
    /// model or meter answers before any training, but a user should see them.
    pub lookups_after: Vec<usize>,
    /// Each query's (−accuracy, latency): both minimised.
    #[serde(skip)]
    pub evaluated: Vec<[f64; 2]>,
}

/// Architectures over the limit in a row after which a replay stops: the space cannot meet
/// the limit often enough.
pub const MAX_CONSECUTIVE_INFEASIBLE: usize = 500;

/// What one replay runs.
#[derive(Clone, Copy, Debug)]
pub struct Setup {
    /// The strategy.
    pub strategy: StrategyName,
    /// Queries.
    pub budget: usize,
    /// Slower architectures are rejected before they would be trained.
    pub max_latency_ms: Option<f64>,
    /// How many of the table's rows a strategy of known costs sees, drawn from the space as a
    /// search draws its candidates (`None`: every row).
    pub candidates: Option<usize>,
}

/// Why a replay stopped before its budget.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ReplayError {
    /// The strategy kept proposing architectures already evaluated or over the limit.
    #[error(
        "{strategy} asked {asks} times and found only {found} new feasible architectures of the \
         {budget} wanted: it keeps proposing ones already evaluated, or too few are under the limit"
    )]
    Stuck {
        /// The strategy's name.
        strategy: String,
        /// Architectures it proposed.
        asks: usize,
        /// New feasible ones among them.
        found: usize,
        /// Those wanted.
        budget: usize,
    },
    /// A proposed architecture the table lacks.
    #[error("the table has no row for `{0}`")]
    NoRow(String),
    /// Too many proposals in a row broke the latency limit.
    #[error(
        "{streak} architectures in a row break --max-latency-ms {max_latency_ms}: loosen the limit"
    )]
    AllOverTheLimit {
        /// Proposals in a row over the limit.
        streak: usize,
        /// The limit.
        max_latency_ms: f64,
    },
}

/// Runs `setup.strategy` from scratch against `table` with `seed`.
pub fn replay(
    table: &ArchTable,
    space: &SearchSpace,
    setup: Setup,
    seed: u64,
) -> Result<Run, ReplayError> {
    let Setup {
        strategy: name,
        budget,
        max_latency_ms,
        candidates,
    } = setup;
    let mut s = strategy(name, max_latency_ms);
    // The candidates' latencies are looked up before the first query.
    let mut looked_up = 0;
    if s.wants_candidates() {
        let known = match candidates {
            None => table.candidates.clone(),
            Some(n) => drawn(table, space, n, seed),
        };
        looked_up = known.len();
        s.know_costs(&known);
    }
    let mut rng = Rng::new(seed);
    let mut run = Run {
        seed,
        best_after: Vec::with_capacity(budget),
        infeasible: 0,
        lookups_after: Vec::with_capacity(budget),
        evaluated: Vec::with_capacity(budget),
    };
    let mut known: HashSet<String> = HashSet::new();
    let (mut best, mut streak, mut asks) = (f64::NEG_INFINITY, 0, 0usize);
    while run.best_after.len() < budget {
        asks += 1;
        if asks > budget.saturating_mul(1000).max(100_000) {
            return Err(ReplayError::Stuck {
                strategy: s.name().to_string(),
                asks,
                found: run.best_after.len(),
                budget,
            });
        }
        let wanted = s.costs_wanted(space);
        if !wanted.is_empty() {
            let found: Vec<Candidate> = wanted
                .iter()
                .filter_map(|g| table.candidate(&g.to_text()).cloned())
                .collect();
            looked_up += found.len();
            s.know_costs(&found);
        }
        let g = s.ask(space, &mut rng);
        let key = g.to_text();
        if known.contains(&key) {
            // Already evaluated: no query, and nothing new to tell.
            continue;
        }
        let entry = table
            .entries
            .get(&key)
            .ok_or_else(|| ReplayError::NoRow(key.clone()))?;
        let outcome = if max_latency_ms.is_some_and(|l| entry.latency_ms > l) {
            run.infeasible += 1;
            streak += 1;
            if streak >= MAX_CONSECUTIVE_INFEASIBLE {
                return Err(ReplayError::AllOverTheLimit {
                    streak,
                    max_latency_ms: max_latency_ms.unwrap_or_default(),
                });
            }
            Outcome::Infeasible
        } else {
            streak = 0;
            best = best.max(entry.accuracy);
            run.best_after.push(best);
            run.lookups_after
                .push(looked_up + run.best_after.len() + run.infeasible);
            run.evaluated.push([-entry.accuracy, entry.latency_ms]);
            Outcome::Feasible(Score {
                objective: entry.accuracy,
                latency_ms: entry.latency_ms,
                ram_bytes: 0.0,
                flash_bytes: 0.0,
            })
        };
        known.insert(key);
        s.tell(&g, outcome);
    }
    Ok(run)
}

/// Mean and standard deviation (sample) of the best accuracy after `queries` over runs.
pub fn summary(runs: &[Run], queries: usize) -> (f64, f64) {
    let best: Vec<f64> = runs.iter().map(|r| r.best_after[queries - 1]).collect();
    mean_std(&best)
}

/// Mean and standard deviation over runs of the hypervolume of the architectures found in the
/// first `queries` queries, as a share of the true front's (both against `reference`).
pub fn hypervolume_summary(
    runs: &[Run],
    queries: usize,
    front: &[[f64; 2]],
    reference: [f64; 2],
) -> (f64, f64) {
    let whole = hypervolume_2d(front, reference);
    let shares: Vec<f64> = runs
        .iter()
        .map(|r| hypervolume_2d(&r.evaluated[..queries.min(r.evaluated.len())], reference) / whole)
        .collect();
    mean_std(&shares)
}

/// Mean over runs of the architectures looked up by the end of query `queries`.
pub fn mean_lookups(runs: &[Run], queries: usize) -> f64 {
    let total: usize = runs.iter().map(|r| r.lookups_after[queries - 1]).sum();
    total as f64 / runs.len() as f64
}

/// Mean and sample standard deviation.
fn mean_std(values: &[f64]) -> (f64, f64) {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let var = if values.len() > 1 {
        values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)
    } else {
        0.0
    };
    (mean, var.sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;
    use edgenas_model::space::load_space;

    #[test]
    fn a_repeated_row_replaces_the_earlier_one_as_entry_and_as_candidate() {
        let space = load_space("nb201").unwrap();
        let cell = "|nor_conv_3x3~0|+|none~0|none~1|+|none~0|skip_connect~1|none~2|";
        let other = "|none~0|+|none~0|none~1|+|nor_conv_3x3~0|none~1|none~2|";
        let path = std::env::temp_dir().join(format!("edgenas-replay-{}.csv", std::process::id()));
        std::fs::write(
            &path,
            format!("arch,accuracy,latency_ms\n{cell},90,15\n{other},91,16\n{cell},92,17\n"),
        )
        .unwrap();
        let table = ArchTable::read(&path, &space);
        std::fs::remove_file(&path).unwrap();
        let table = table.unwrap();
        let key = space.parse_genotype(cell).unwrap().to_text();
        assert_eq!(table.len(), 2);
        assert_eq!(
            table.entries[&key],
            Entry {
                accuracy: 92.0,
                latency_ms: 17.0
            }
        );
        assert_eq!(table.candidates.len(), 2);
        assert_eq!(table.candidates[0].genotype.to_text(), key);
        assert_eq!(table.candidates[0].latency_ms, 17.0);
    }
}
