//! How each IR node appears in a device model.
//!
//! On a device, a batch norm that directly follows a convolution or dense layer is folded into
//! its weights and bias, and an activation that directly follows one (or a folded batch norm,
//! or an addition, as a residual block ends) is fused into it. A second batch norm in a row is
//! an op of its own (a channel affine): only one is folded. A flatten is a reshape: a tensor
//! record that aliases its input. A zero tensor that nothing reads (a NB-201 cell of zeros
//! followed by another) is not on the device at all: the ONNX model has it as an unused
//! constant. Every other node is an op of its own. These are the rules the ONNX exporter and
//! the device compiler follow.

use edgenas_engine::blob::OpKind;

use crate::network::Network;
use crate::network::layers::{Fold, Lowering};

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

/// The deployment of every node of `net`, in node order: what each layer says it is on the
/// device ([`LayerOp::lowering`]), merged into its producer where it folds ([`LayerOp::fold`])
/// and is that producer's only reader.
///
/// [`LayerOp::lowering`]: crate::network::layers::LayerOp::lowering
/// [`LayerOp::fold`]: crate::network::layers::LayerOp::fold
pub fn deployment(net: &Network) -> Vec<Deployment> {
    let kind = |id: usize| match net.nodes[id].layer.op().lowering() {
        Lowering::Op { kind, .. } => Some(kind),
        _ => None,
    };
    let weighted = |id: usize| matches!(kind(id), Some(OpKind::Conv | OpKind::Dense));
    let mut out: Vec<Deployment> = Vec::with_capacity(net.nodes.len());
    for (id, node) in net.nodes.iter().enumerate() {
        let op = node.layer.op();
        // Whether this node is its producer's only reader, the producer being weighted (or,
        // for an output fold, merged into a weighted op).
        let merges = |fold: Fold| {
            let Some(&src) = node.inputs.first() else {
                return false;
            };
            let into = weighted(src)
                || (fold == Fold::Output
                    && (out[src] == Deployment::Merged || kind(src) == Some(OpKind::Add)));
            net.consumers(src) == [id] && into
        };
        let d = match op.lowering() {
            Lowering::Input => Deployment::Input,
            Lowering::View => Deployment::Reshape,
            Lowering::Op {
                kind: OpKind::Fill, ..
            } if net.consumers(id).is_empty() && id != net.output => Deployment::Unused,
            _ if op.fold().is_some_and(merges) => Deployment::Merged,
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
    fn a_residual_blocks_relu_fuses_into_its_addition() {
        let d = deployment_of(
            "resnet-tiny",
            "stages=2,stem.out=16,s1.depth=1,s1.out=16,s2.depth=1,s2.out=32",
        );
        for block in ["s1", "s2"] {
            assert_eq!(of(&d, &format!("{block}.add")), Deployment::Op);
            assert_eq!(of(&d, &format!("{block}.relu")), Deployment::Merged);
        }
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
