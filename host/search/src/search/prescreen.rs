//! Zero-cost pre-screening (`--prescreen PROXY:K`): of K genotypes the strategy proposes, the
//! one within the static limits that the proxy ([`crate::proxy`]) scores best is trained;
//! the others cost one forward (and for synflow and grad-norm, backward) pass each and are
//! not recorded.

use edgenas_data::{Datasets, ForData};
use edgenas_model::board::Board;
use edgenas_model::candidate::Candidate;
use edgenas_model::space::SearchSpace;
use edgenas_model::weights::initial_weights;
use edgenas_study::{ProxyName, Settings};
use edgenas_train::TrainDevice;

use super::limits;
use crate::proxy;

/// What pre-screening needs besides the genotypes.
pub(super) struct Screen<'a> {
    /// The score that ranks the proposals.
    pub proxy: ProxyName,
    /// The study's settings: limits, datum type, seed.
    pub settings: &'a Settings,
    /// The board the static limits are checked against.
    pub board: &'a Board,
    /// Where the proxy's forward pass runs.
    pub device: &'a TrainDevice,
}

/// The genotype (text) to train of `proposed`: the best proxy score at the trial's initial
/// weights among those within the board's memory and the static limits; the first proposed
/// when none is (its trial then records why). A genotype that cannot be decoded or scored
/// ranks last.
pub(super) fn pick(
    proposed: &[String],
    space: &SearchSpace,
    datasets: &mut Datasets,
    screen: &Screen,
) -> Option<String> {
    let score = |text: &str, datasets: &mut Datasets| -> Option<f64> {
        let genotype = space.parse_genotype(text).ok()?;
        let format = Candidate::input_format(space, &genotype).ok()?;
        let dataset = datasets.get(format).ok()?;
        let candidate = Candidate::for_dataset(space, genotype, dataset).ok()?;
        let fit = candidate.fit(screen.board, screen.settings.dtype);
        let limits = &screen.settings.limits;
        if !limits::static_violations(limits, &fit, candidate.costs.macs).is_empty() {
            return None;
        }
        let weights = initial_weights(&candidate.network, screen.settings.seed);
        proxy::score(
            screen.proxy,
            &candidate.network,
            &weights,
            &dataset.train,
            screen.device,
        )
        .ok()
        .map(|s| s.max(f64::MIN))
    };
    let scored: Vec<(f64, &String)> = proposed
        .iter()
        .filter_map(|text| score(text, datasets).map(|s| (s, text)))
        .collect();
    scored
        .into_iter()
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, text)| text.clone())
        .or_else(|| proposed.first().cloned())
}
