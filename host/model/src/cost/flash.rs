//! Bytes of the device model: records and constants by the engine's format rules.

use edgenas_engine::DType;
use edgenas_engine::format;

use super::deploy::{Deployment, deployment};
use crate::network::{Layer, Network};

/// The size in bytes of `net`'s device model for `dtype` (without the runtime's code).
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
            }
        }
        let in_channels = net.input_shapes(id).first().map(|s| s.elements());
        constants += match &node.layer {
            Layer::Conv2d(c) => {
                let per_group = net.nodes[node.inputs[0]].shape.channels() / c.groups;
                let weights = c.out_channels * per_group * c.kernel[0] * c.kernel[1];
                format::weighted_op_bytes(dtype, weights, c.out_channels)
            }
            Layer::Dense(d) => format::weighted_op_bytes(
                dtype,
                in_channels.unwrap_or(0) * d.out_features,
                d.out_features,
            ),
            Layer::BatchNorm(_) => format::channel_affine_bytes(dtype, node.shape.channels()),
            _ => 0,
        };
    }
    format::model_bytes(tensors, ops, constants)
}
