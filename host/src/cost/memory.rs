//! Peak activation RAM: the IR lowered to the engine's planning problem, planned by the engine.
//!
//! Every IR node's output is a tensor; every node after the input is a step. Nodes that are
//! merged into the op before them (see [`super::deploy`]) run in place, so the planner gives
//! them their producer's bytes and the arena is that of the device model.

use edgenas_engine::DType;
use edgenas_engine::planner::{self, Graph, Plan, Step};

use crate::network::Network;

/// The planning problem of `net` with elements of `dtype`.
pub fn planner_graph(net: &Network, dtype: DType) -> Graph {
    Graph {
        tensor_bytes: net
            .nodes
            .iter()
            .map(|n| n.shape.elements() * dtype.size())
            .collect(),
        steps: net
            .nodes
            .iter()
            .enumerate()
            .skip(1)
            .map(|(id, node)| Step {
                inputs: node.inputs.clone(),
                output: id,
                reuse: node.layer.op().reuse(),
                scratch_bytes: 0,
            })
            .collect(),
        outputs: vec![net.output],
    }
}

/// The arena plan of `net` for `dtype`.
pub fn plan(net: &Network, dtype: DType) -> Plan {
    planner::plan(&planner_graph(net, dtype)).expect(
        "a decoded network is a valid planning problem: nodes are in order, flatten keeps the size",
    )
}

/// The peak activation RAM of `net` for `dtype`, in bytes: the size of the planned arena.
pub fn peak_ram_bytes(net: &Network, dtype: DType) -> usize {
    plan(net, dtype).arena_bytes
}
