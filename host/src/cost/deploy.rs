//! How each IR node appears in a device model.
//!
//! On a device, a batch norm that directly follows a convolution or dense layer is folded into
//! its weights and bias, and an activation that directly follows one (or a folded batch norm)
//! is fused into it. A flatten is a reshape: a tensor record that aliases its input. Every
//! other node is an op of its own. These are the rules the ONNX exporter and the device
//! compiler follow.

use crate::network::{Layer, Network};

/// How one IR node appears in the device model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Deployment {
    /// The model input: a tensor record, no op.
    Input,
    /// An op with its own output tensor.
    Op,
    /// Folded or fused into the op before it: nothing of its own.
    Merged,
    /// A reshape of its input: a tensor record, no op.
    Reshape,
}

/// The deployment of every node of `net`, in node order.
pub fn deployment(net: &Network) -> Vec<Deployment> {
    let mut out: Vec<Deployment> = Vec::with_capacity(net.nodes.len());
    for (id, node) in net.nodes.iter().enumerate() {
        let single_producer = |out: &[Deployment]| {
            let src = node.inputs.first().copied()?;
            let weighted = matches!(net.nodes[src].layer, Layer::Conv2d(_) | Layer::Dense(_));
            let merged_into_weighted = out[src] == Deployment::Merged;
            let sole_reader = net.consumers(src) == [id];
            (sole_reader && (weighted || merged_into_weighted)).then_some(src)
        };
        let d = match &node.layer {
            Layer::Input(_) => Deployment::Input,
            Layer::Flatten(_) => Deployment::Reshape,
            Layer::BatchNorm(_) if single_producer(&out).is_some() => Deployment::Merged,
            Layer::Activation(_) if single_producer(&out).is_some() => Deployment::Merged,
            _ => Deployment::Op,
        };
        out.push(d);
    }
    out
}
