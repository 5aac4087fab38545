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
    /// The audio front end that computes the network's input, if the space has one: its RAM
    /// and flash on a device count with the network's.
    pub front_end: Option<FrontEnd>,
}

impl Candidate {
    /// Decodes `genotype` in `space` and computes its costs.
    pub fn new(space: &SearchSpace, genotype: Genotype) -> Result<Candidate, DecodeError> {
        let network = network::decode(space, &genotype)?;
        let front_end = network::resolve_front_end(space, &genotype)?;
        Ok(Candidate::from_network(genotype, network).with_front_end(front_end))
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
        let front_end = network::resolve_front_end(space, &genotype)?;
        Ok(Candidate::from_network(genotype, network).with_front_end(front_end))
    }

    /// The candidate with `front_end` computing its input.
    pub fn with_front_end(self, front_end: Option<FrontEnd>) -> Candidate {
        Candidate { front_end, ..self }
    }

    /// A candidate whose network was decoded already (for a data set's input, say).
    pub fn from_network(genotype: Genotype, network: Network) -> Candidate {
        let costs = cost::costs(&network);
        Candidate {
            genotype,
            network,
            costs,
            front_end: None,
        }
    }

    /// Flash the candidate takes: the device model and front end, plus the runtime's code on
    /// `board`.
    pub fn flash_bytes(&self, board: Option<&Board>, dtype: DType) -> u64 {
        let runtime = board.map_or(0, |b| b.memory.runtime_flash_bytes);
        self.costs.device(dtype).model_bytes as u64 + self.front_end_bytes().1 + runtime
    }

    /// Whether the candidate (its network and front end) fits `board`.
    pub fn fit(&self, board: &Board, dtype: DType) -> Fit {
        let (ram, flash) = self.front_end_bytes();
        cost::fit(&self.costs, ram, flash, board, dtype)
    }

    /// The front end's RAM and flash on a device (0 without one).
    pub fn front_end_bytes(&self) -> (u64, u64) {
        self.front_end.map_or((0, 0), |f| {
            (f.device_ram_bytes() as u64, f.device_flash_bytes() as u64)
        })
    }
}
