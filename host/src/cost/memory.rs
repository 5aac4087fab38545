//! Peak activation RAM: the IR lowered to the engine's planning problem, planned by the engine.
//!
//! Every IR node's output is a tensor; every node after the input is a step. Nodes that are
//! merged into the op before them (see [`super::deploy`]) run in place, so the planner gives
//! them their producer's bytes and the arena is that of the device model. A constant that
//! nothing reads is not on the device: it has no step and no bytes.

use edgenas_engine::DType;
use edgenas_engine::blob::OpKind;
use edgenas_engine::kernels;
use edgenas_engine::planner::{self, Graph, Plan, Step};

use super::deploy::{Deployment, deployment};
use crate::network::{Layer, Network, Node, Shape};

/// The planning problem of `net` with elements of `dtype` (a softmax's output is f32 in an
/// int8 model too: the device gives probabilities as floats).
pub fn planner_graph(net: &Network, dtype: DType) -> Graph {
    let deployed = deployment(net);
    Graph {
        tensor_bytes: net
            .nodes
            .iter()
            .zip(&deployed)
            .map(|(n, d)| match (d, &n.layer) {
                (Deployment::Unused, _) => 0,
                (_, Layer::Softmax(_)) => n.shape.elements() * DType::F32.size(),
                _ => n.shape.elements() * dtype.size(),
            })
            .collect(),
        steps: net
            .nodes
            .iter()
            .enumerate()
            .skip(1)
            .filter(|&(id, _)| deployed[id] != Deployment::Unused)
            .map(|(id, node)| Step {
                inputs: node.inputs.clone(),
                output: id,
                reuse: node.layer.op().reuse(),
                scratch_bytes: scratch_bytes(net, node, dtype),
            })
            .collect(),
        outputs: vec![net.output],
    }
}

/// The working memory the engine's kernel for `node` needs ([`kernels::scratch_bytes`]).
fn scratch_bytes(net: &Network, node: &Node, dtype: DType) -> usize {
    let Some(input) = node.inputs.first().map(|&i| net.nodes[i].shape) else {
        return 0;
    };
    match (&node.layer, input) {
        (Layer::Conv2d(c), Shape::Image { c: channels, .. }) => {
            let reduction = channels / c.groups.max(1) * c.kernel[0] * c.kernel[1];
            kernels::scratch_bytes(OpKind::Conv, dtype, c.groups, reduction)
        }
        (Layer::Dense(_), shape) => {
            kernels::scratch_bytes(OpKind::Dense, dtype, 1, shape.elements())
        }
        _ => 0,
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
