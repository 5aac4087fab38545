//! A candidate: a genotype with its decoded network and static costs.

use crate::board::Board;
use crate::cost::{self, Costs, DType, Fit};
use crate::data::{self, DataError, Dataset};
use crate::network::{self, DecodeError, Network, Shape};
use crate::space::{Genotype, SearchSpace};

/// Why a candidate cannot be built for a data set.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CandidateError {
    /// The genotype does not decode.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// The data set cannot be loaded.
    #[error(transparent)]
    Data(#[from] DataError),
    /// The space cannot take the data set's samples: which space, which samples, and the
    /// layer that does not fit.
    #[error("{0}")]
    Input(String),
}

/// One point of a space, decoded and costed.
#[derive(Clone, Debug)]
pub struct Candidate {
    /// The genotype.
    pub genotype: Genotype,
    /// Its network.
    pub network: Network,
    /// The network's static costs.
    pub costs: Costs,
}

impl Candidate {
    /// Decodes `genotype` in `space` and computes its costs.
    pub fn new(space: &SearchSpace, genotype: Genotype) -> Result<Candidate, DecodeError> {
        let network = network::decode(space, &genotype)?;
        Ok(Candidate::from_network(genotype, network))
    }

    /// Loads the data set `spec` for `genotype` (image folders are converted to the input the
    /// space gives the genotype; other data sets keep their shape) and decodes the genotype for
    /// the data set's sample shape and classes. `seed` fixes the split.
    pub fn for_data(
        space: &SearchSpace,
        genotype: Genotype,
        spec: &str,
        seed: u64,
    ) -> Result<(Candidate, Dataset), CandidateError> {
        let dims = Candidate::input_dims(space, &genotype)?;
        let dataset = data::load(spec, dims, seed)?;
        let candidate = Candidate::for_dataset(space, genotype, &dataset)?;
        Ok((candidate, dataset))
    }

    /// The input (channels, height, width) the space gives `genotype`: what an image folder
    /// is converted to.
    pub fn input_dims(
        space: &SearchSpace,
        genotype: &Genotype,
    ) -> Result<(usize, usize, usize), DecodeError> {
        let (input, _) = network::resolve_input(space, genotype)?;
        Ok(match input {
            Shape::Image { c, h, w } => (c, h, w),
            Shape::Vector(n) => (1, 1, n),
        })
    }

    /// Decodes `genotype` for `dataset`'s sample shape and classes.
    pub fn for_dataset(
        space: &SearchSpace,
        genotype: Genotype,
        dataset: &Dataset,
    ) -> Result<Candidate, CandidateError> {
        let io = Some((dataset.shape, dataset.classes()));
        let network = network::decode_with_input(space, &genotype, io).map_err(|reason| {
            CandidateError::Input(format!(
                "space `{}` cannot take the samples of {} ({}, {} classes): {reason}",
                space.name,
                dataset.name,
                dataset.shape,
                dataset.classes()
            ))
        })?;
        Ok(Candidate::from_network(genotype, network))
    }

    /// A candidate whose network was decoded already (for a data set's input, say).
    pub fn from_network(genotype: Genotype, network: Network) -> Candidate {
        let costs = cost::costs(&network);
        Candidate {
            genotype,
            network,
            costs,
        }
    }

    /// Flash the candidate takes: the device model, plus the runtime's code on `board`.
    pub fn flash_bytes(&self, board: Option<&Board>, dtype: DType) -> u64 {
        let runtime = board.map_or(0, |b| b.memory.runtime_flash_bytes);
        self.costs.device(dtype).model_bytes as u64 + runtime
    }

    /// Whether the candidate fits `board`.
    pub fn fit(&self, board: &Board, dtype: DType) -> Fit {
        cost::fit(&self.costs, board, dtype)
    }
}
