//! Bytes of the device model: records and constants by the engine's format rules.

use edgenas_engine::DType;
use edgenas_engine::format;

use super::deploy::{Deployment, deployment};
use crate::network::Network;

/// The size in bytes of `net`'s device model for `dtype` (without the runtime's code): a
/// tensor record per tensor on the device, an op record per op, and each op's constants
/// ([`LayerOp::constant_bytes`]).
///
/// [`LayerOp::constant_bytes`]: crate::network::layers::LayerOp::constant_bytes
pub fn model_bytes(net: &Network, dtype: DType) -> usize {
    let deployed = deployment(net);
    let (mut tensors, mut ops, mut constants) = (0, 0, 0);
    for (id, node) in net.nodes.iter().enumerate() {
        match deployed[id] {
            Deployment::Merged | Deployment::Unused => continue,
            Deployment::Input | Deployment::Reshape => tensors += 1,
            Deployment::Op => {
                tensors += 1;
                ops += 1;
                constants +=
                    node.layer
                        .op()
                        .constant_bytes(dtype, &net.input_shapes(id), &node.shape);
            }
        }
    }
    format::model_bytes(tensors, ops, constants)
}
