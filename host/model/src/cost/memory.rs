//! Peak activation RAM: the network lowered to the device ([`super::lowering`]) and planned by
//! the engine's own planner, as the device compiler plans a blob.

use edgenas_engine::DType;
use edgenas_engine::planner::{self, Plan};

use super::lowering::lower;
use crate::network::Network;

/// The arena plan of `net` for `dtype`.
pub fn plan(net: &Network, dtype: DType) -> Plan {
    planner::plan(&lower(net, dtype).planner_graph()).expect(
        "a decoded network is a valid planning problem: nodes are in order, flatten keeps the size",
    )
}

/// The peak activation RAM of `net` for `dtype`, in bytes: the size of the planned arena.
pub fn peak_ram_bytes(net: &Network, dtype: DType) -> usize {
    plan(net, dtype).arena_bytes
}
