//! The candidates of known cost that a strategy such as `ehvi` chooses among
//! ([`Strategy::know_costs`](crate::strategy::Strategy::know_costs)): genotypes drawn from the
//! space, decoded, checked against the static limits, and their latency — front end included
//! — predicted by the board's simulator, all before the first trial is trained; later, the
//! genotypes the strategy asks about (neighbours of its best). A trial still measures its own
//! latency with the search's meter; the prediction only ranks candidates.

use std::sync::atomic::{AtomicBool, Ordering};

use edgenas_data::Datasets;
use edgenas_measure::{MeasureError, Simulator, export_untrained};
use edgenas_model::board::Board;
use edgenas_model::candidate::Candidate as Decoded;
use edgenas_model::cost::DType;
use edgenas_model::rng::Rng;
use edgenas_model::space::{Genotype, SearchSpace};
use edgenas_study::Settings;
use rayon::prelude::*;
use serde::Serialize;

use super::{limits, with_front_end};
use crate::strategy::Candidate;
use crate::strategy::features::network_features;

/// Distinct genotypes drawn for the candidates by default (`--candidates`).
pub const CANDIDATES: usize = 5000;
/// Genotypes costed between two progress reports.
const CHUNK: usize = 64;
/// Mixed into the study's seed for the draws, so that every worker of a study draws the same
/// candidates.
const STREAM: u64 = 0x6361_6E64_6964_6174;

/// How many of the first candidates' genotypes were kept, and why the others were not.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CandidateCounts {
    /// Distinct genotypes drawn.
    pub drawn: usize,
    /// Within every limit: the candidates.
    pub within_limits: usize,
    /// Over a static limit or the latency limit.
    pub over_limits: usize,
    /// Not decodable, or their latency not predictable.
    pub failed: usize,
}

/// The first candidates.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Drawn {
    /// Within every limit, with their predicted latency.
    pub candidates: Vec<Candidate>,
    /// What became of the genotypes drawn.
    pub counts: CandidateCounts,
}

/// What works out a genotype's costs before training.
pub(super) struct Costing<'a> {
    space: &'a SearchSpace,
    board: &'a Board,
    settings: &'a Settings,
    simulator: Simulator,
}

impl<'a> Costing<'a> {
    /// Costs genotypes of `space` on `board` under `settings`' limits; fails when the board
    /// has no cost model to predict latency with.
    pub fn new(
        space: &'a SearchSpace,
        board: &'a Board,
        settings: &'a Settings,
    ) -> Result<Costing<'a>, MeasureError> {
        Ok(Costing {
            space,
            board,
            settings,
            simulator: Simulator::new(board.clone())?,
        })
    }

    /// Draws up to `n` distinct genotypes and works out the costs of those within the
    /// limits; `progress` hears (done, total) after each. Stops early, with what it has, when
    /// `stop` is set.
    pub fn draw(
        &self,
        n: usize,
        datasets: &mut Datasets,
        stop: &AtomicBool,
        progress: &mut dyn FnMut(usize, usize),
    ) -> Drawn {
        let genotypes = self
            .space
            .sample_distinct(n, &mut Rng::new(self.settings.seed ^ STREAM));
        let mut out = Drawn::default();
        out.counts.drawn = genotypes.len();
        let total = genotypes.len();
        let mut done = 0;
        progress(done, total);
        for chunk in genotypes.chunks(CHUNK) {
            if stop.load(Ordering::Relaxed) {
                break;
            }
            for c in self.cost_all(chunk.to_vec(), datasets) {
                match c {
                    Some(Some(c)) => out.candidates.push(c),
                    Some(None) => out.counts.over_limits += 1,
                    None => out.counts.failed += 1,
                }
            }
            done += chunk.len();
            out.counts.within_limits = out.candidates.len();
            progress(done, total);
        }
        out
    }

    /// Those of `genotypes` within the limits, with their costs.
    pub fn within_limits(
        &self,
        genotypes: Vec<Genotype>,
        datasets: &mut Datasets,
    ) -> Vec<Candidate> {
        self.cost_all(genotypes, datasets)
            .into_iter()
            .filter_map(Option::flatten)
            .collect()
    }

    /// Each of `genotypes` as a candidate: `Some(None)` when it breaks a limit, `None` when it
    /// cannot be decoded or its latency predicted (its trial, if it is ever proposed, records
    /// why). Decoded one by one (the data sets are loaded as needed), exported and predicted
    /// on every core.
    fn cost_all(
        &self,
        genotypes: Vec<Genotype>,
        datasets: &mut Datasets,
    ) -> Vec<Option<Option<Candidate>>> {
        let decoded: Vec<Option<Option<Decoded>>> = genotypes
            .into_iter()
            .map(|g| self.decoded(g, datasets))
            .collect();
        decoded
            .into_par_iter()
            .map(|d| match d {
                Some(Some(d)) => self.predicted(d),
                Some(None) => Some(None),
                None => None,
            })
            .collect()
    }

    /// `genotype` decoded: `Some(None)` when it breaks a static limit.
    fn decoded(&self, genotype: Genotype, datasets: &mut Datasets) -> Option<Option<Decoded>> {
        let settings = self.settings;
        let format = Decoded::input_format(self.space, &genotype).ok()?;
        let (shape, classes) = datasets.shape_and_classes(format).ok()?;
        let decoded =
            Decoded::for_samples(self.space, genotype, &settings.data, shape, classes).ok()?;
        let fit = decoded.fit(self.board, settings.dtype);
        let broken = limits::static_violations(&settings.limits, &fit, decoded.costs.macs);
        Some(broken.is_empty().then_some(decoded))
    }

    /// `decoded` with its latency predicted: `Some(None)` when it breaks the latency limit.
    fn predicted(&self, decoded: Decoded) -> Option<Option<Candidate>> {
        let settings = self.settings;
        let int8 = settings.dtype == DType::Int8;
        let bytes = export_untrained(&decoded.network, int8, settings.seed).ok()?;
        let network_ms = self
            .simulator
            .predict_ms(&bytes, &decoded.genotype.to_text())
            .ok()?;
        let (latency_ms, _) = with_front_end(&decoded, self.board, network_ms);
        if limits::latency_violation(&settings.limits, latency_ms).is_some() {
            return Some(None);
        }
        Some(Some(Candidate {
            features: network_features(&decoded.network),
            latency_ms,
            genotype: decoded.genotype,
        }))
    }
}
