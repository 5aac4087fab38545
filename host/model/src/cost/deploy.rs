//! How each IR node appears in a device model.
//!
//! On a device, a batch norm that directly follows a convolution or dense layer is folded into
//! its weights and bias, and an activation that directly follows one (or a folded batch norm)
//! is fused into it. A second batch norm in a row is an op of its own (a channel affine): only
//! one is folded. A flatten is a reshape: a tensor record that aliases its input. A zero
//! tensor that nothing reads (a NB-201 cell of zeros followed by another) is not on the device
//! at all: the ONNX model has it as an unused constant. Every other node is an op of its own. These are the rules the ONNX exporter and the device
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
    /// A constant that nothing reads: nothing on the device.
    Unused,
}

/// The deployment of every node of `net`, in node order.
pub fn deployment(net: &Network) -> Vec<Deployment> {
    let mut out: Vec<Deployment> = Vec::with_capacity(net.nodes.len());
    for (id, node) in net.nodes.iter().enumerate() {
        // Whether this node is the sole reader of a weighted op, or of a node merged into one
        // (when `after_merged`).
        let merges = |out: &[Deployment], after_merged: bool| {
            let Some(&src) = node.inputs.first() else {
                return false;
            };
            let weighted = matches!(net.nodes[src].layer, Layer::Conv2d(_) | Layer::Dense(_));
            let merged_into_weighted = after_merged && out[src] == Deployment::Merged;
            net.consumers(src) == [id] && (weighted || merged_into_weighted)
        };
        let d = match &node.layer {
            Layer::Input(_) => Deployment::Input,
            Layer::Flatten(_) => Deployment::Reshape,
            Layer::Zero(_) if net.consumers(id).is_empty() && id != net.output => {
                Deployment::Unused
            }
            Layer::BatchNorm(_) if merges(&out, false) => Deployment::Merged,
            Layer::Activation(_) if merges(&out, true) => Deployment::Merged,
            _ => Deployment::Op,
        };
        out.push(d);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::candidate::Candidate;
    use crate::space::load_space;

    fn deployment_of(space: &str, genotype: &str) -> Vec<(String, Deployment)> {
        let s = load_space(space).unwrap();
        let c = Candidate::new(&s, s.parse_genotype(genotype).unwrap()).unwrap();
        let d = deployment(&c.network);
        c.network
            .nodes
            .iter()
            .map(|n| n.name.clone())
            .zip(d)
            .collect()
    }

    fn of(d: &[(String, Deployment)], name: &str) -> Deployment {
        d.iter().find(|(n, _)| n == name).unwrap().1
    }

    #[test]
    fn one_batch_norm_folds_into_a_convolution_and_its_activation_fuses() {
        let d = deployment_of(
            "ds-cnn",
            "stem.out=64,ds.depth=2,ds.b1.out=64,ds.b2.out=64,ds.b1.kernel=3,ds.b2.kernel=3",
        );
        assert_eq!(of(&d, "stem.conv"), Deployment::Op);
        assert_eq!(of(&d, "stem.conv_bn"), Deployment::Merged);
        assert_eq!(of(&d, "stem.conv_act"), Deployment::Merged);
        assert_eq!(of(&d, "head.flatten"), Deployment::Reshape);
    }

    #[test]
    fn a_second_batch_norm_in_a_row_is_an_op() {
        // The last cell ends in a convolution with its batch norm; the network's final batch
        // norm follows it and cannot be folded as well.
        let d = deployment_of(
            "nb201",
            "e0=none,e1=avg_pool_3x3,e2=none,e3=none,e4=skip_connect,e5=nor_conv_3x3",
        );
        assert_eq!(of(&d, "cells3.b5.e5_conv_bn"), Deployment::Merged);
        assert_eq!(of(&d, "last.bn"), Deployment::Op);
        assert_eq!(of(&d, "last.act"), Deployment::Op);
    }
}
