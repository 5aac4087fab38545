//! A candidate: a genotype with its decoded network and static costs.

use crate::board::Board;
use crate::cost::{self, Costs, DType, Fit};
use crate::front_end::FrontEnd;
use crate::network::{self, DecodeError, Network, Shape};
use crate::space::{Genotype, SearchSpace};

/// Why a candidate cannot be built for a data set's samples.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CandidateError {
    /// The genotype does not decode.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// The space cannot take the data set's samples: which space, which samples, and the
    /// layer that does not fit.
    #[error("{0}")]
    Input(String),
}

/// What a genotype asks of a data set (see [`Candidate::input_format`]); genotypes that ask
/// the same share a loaded data set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct InputFormat {
    /// The (channels, height, width) image folders are converted to.
    pub dims: (usize, usize, usize),
    /// The front end that turns clips into the network's input (audio data sets only).
    pub front_end: Option<FrontEnd>,
}

impl From<(usize, usize, usize)> for InputFormat {
    /// Images (or any data set) of these dims, no front end.
    fn from(dims: (usize, usize, usize)) -> InputFormat {
        InputFormat {
            dims,
            front_end: None,
        }
    }
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

    /// What the space asks of a data set for `genotype`: the input (channels, height, width)
    /// an image folder is converted to, and the audio front end, if the space has one.
    pub fn input_format(
        space: &SearchSpace,
        genotype: &Genotype,
    ) -> Result<InputFormat, DecodeError> {
        let (input, _) = network::resolve_input(space, genotype)?;
        let dims = match input {
            Shape::Image { c, h, w } => (c, h, w),
            Shape::Vector(n) => (1, 1, n),
        };
        let front_end = network::resolve_front_end(space, genotype)?;
        Ok(InputFormat { dims, front_end })
    }

    /// Decodes `genotype` for samples of `shape` in `classes` classes (a data set's, named
    /// `samples` in errors).
    pub fn for_samples(
        space: &SearchSpace,
        genotype: Genotype,
        samples: &str,
        shape: Shape,
        classes: usize,
    ) -> Result<Candidate, CandidateError> {
        let network = network::decode_with_input(space, &genotype, Some((shape, classes)))
            .map_err(|reason| {
                CandidateError::Input(format!(
                    "space `{}` cannot take the samples of {samples} ({shape}, {classes} \
                     classes): {reason}",
                    space.name,
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
