//! A candidate: a genotype with its decoded network and static costs.

use crate::board::Board;
use crate::cost::{self, Costs, DType, Fit};
use crate::network::{self, DecodeError, Network};
use crate::space::{Genotype, SearchSpace};

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
        let costs = cost::costs(&network);
        Ok(Candidate {
            genotype,
            network,
            costs,
        })
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
