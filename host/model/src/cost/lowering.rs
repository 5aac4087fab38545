//! The network as the device runs it, and the one rule that turns it into the arena planner's
//! problem.
//!
//! [`lower`] follows the folding rule of [`super::deployment`]: a merged node (a folded batch
//! norm, a fused activation) has no tensor of its own, its producer's output being its output;
//! a reshape is a view; a constant that nothing reads is not there; every other node is the
//! engine op its layer names ([`LayerOp::lowering`]). The device compiler reads the same
//! [`DeviceGraph`] out of an ONNX file (`edgenas_onnx::compile`), and both hand it to the
//! planner through [`DeviceGraph::planner_graph`]: the peak RAM the search checks and the
//! arena of the compiled blob are one computation on one kind of graph, and which ops run in
//! place is the engine's rule ([`OpKind::in_place`]), not ours.
//!
//! [`LayerOp::lowering`]: crate::network::layers::LayerOp::lowering

use edgenas_engine::DType;
use edgenas_engine::blob::OpKind;
use edgenas_engine::kernels::{Map, OpShape};
use edgenas_engine::planner::{self, Reuse};

use super::deploy::{Deployment, deployment};
use crate::network::layers::Lowering;
use crate::network::{Layer, Network, Shape};

/// A tensor of the device model.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceTensor {
    /// Its shape, with a batch of 1 first.
    pub shape: Vec<usize>,
    /// Its datum type.
    pub dtype: DType,
}

/// One engine op, as far as planning needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceOp {
    /// What it computes.
    pub kind: OpKind,
    /// Input tensors.
    pub inputs: Vec<usize>,
    /// Output tensor.
    pub output: usize,
    /// Groups of a convolution (1 otherwise).
    pub groups: usize,
    /// The window of a convolution or pooling.
    pub kernel: [usize; 2],
    /// The stride of a convolution or pooling.
    pub stride: [usize; 2],
}

/// A step of the device model.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeviceStep {
    /// An op.
    Op(DeviceOp),
    /// `output` is `input` with another shape (no op, the same bytes).
    View {
        /// The viewed tensor.
        input: usize,
        /// The view.
        output: usize,
    },
}

/// The tensors and steps of a device model, without its constants.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeviceGraph {
    /// Tensors; 0 is the model input.
    pub tensors: Vec<DeviceTensor>,
    /// Steps in execution order.
    pub steps: Vec<DeviceStep>,
    /// The model output's tensor.
    pub output: usize,
}

impl DeviceGraph {
    /// The planning problem: each tensor's bytes, each step's reuse (in place where the engine
    /// computes the op in place, an alias for a view) and its kernel's scratch.
    pub fn planner_graph(&self) -> planner::Graph {
        planner::Graph {
            tensor_bytes: self
                .tensors
                .iter()
                .map(|t| t.shape.iter().product::<usize>() * t.dtype.size())
                .collect(),
            steps: self
                .steps
                .iter()
                .map(|s| match s {
                    DeviceStep::Op(op) => planner::Step {
                        inputs: op.inputs.clone(),
                        output: op.output,
                        reuse: if op.kind.in_place() {
                            Reuse::InPlace
                        } else {
                            Reuse::Fresh
                        },
                        scratch_bytes: self.scratch_bytes(op),
                    },
                    DeviceStep::View { input, output } => planner::Step {
                        inputs: vec![*input],
                        output: *output,
                        reuse: Reuse::Alias(0),
                        scratch_bytes: 0,
                    },
                })
                .collect(),
            outputs: vec![self.output],
        }
    }

    /// The working memory the engine's kernel for `op` needs ([`OpShape::scratch_bytes`]),
    /// from the shapes of its first input and its output (a convolution's are images; any
    /// other op's a map of its elements, 1×1).
    fn scratch_bytes(&self, op: &DeviceOp) -> usize {
        let Some(input) = op.inputs.first().and_then(|&i| self.tensors.get(i)) else {
            return 0;
        };
        let Some(output) = self.tensors.get(op.output) else {
            return 0;
        };
        let map = |t: &DeviceTensor| match t.shape[..] {
            [1, channels, height, width] if op.kind == OpKind::Conv => Map {
                channels,
                height,
                width,
            },
            _ => Map {
                channels: t.shape.iter().product(),
                height: 1,
                width: 1,
            },
        };
        OpShape {
            kind: op.kind,
            dtype: output.dtype,
            groups: op.groups,
            kernel: op.kernel,
            stride: op.stride,
            input: map(input),
            output: map(output),
        }
        .scratch_bytes()
    }
}

/// The device graph of `net` with tensors of `dtype` (a softmax's output is f32 in an int8
/// model too: the device gives probabilities as floats).
pub fn lower(net: &Network, dtype: DType) -> DeviceGraph {
    let deployed = deployment(net);
    let mut g = DeviceGraph::default();
    // The device tensor that holds each node's output, once lowered.
    let mut tensor_of: Vec<Option<usize>> = vec![None; net.nodes.len()];
    for (id, node) in net.nodes.iter().enumerate() {
        let source = |tensor_of: &[Option<usize>], i: usize| {
            tensor_of[node.inputs[i]].expect("a node reads only lowered, earlier nodes")
        };
        let tensor = DeviceTensor {
            shape: match node.shape {
                Shape::Image { c, h, w } => vec![1, c, h, w],
                Shape::Vector(n) => vec![1, n],
            },
            dtype: match node.layer {
                Layer::Softmax(_) => DType::F32,
                _ => dtype,
            },
        };
        match (deployed[id], node.layer.op().lowering()) {
            (Deployment::Unused, _) => continue,
            (Deployment::Merged, _) => {
                tensor_of[id] = Some(source(&tensor_of, 0));
                continue;
            }
            (_, Lowering::Input) => {}
            (_, Lowering::View) => g.steps.push(DeviceStep::View {
                input: source(&tensor_of, 0),
                output: g.tensors.len(),
            }),
            (
                _,
                Lowering::Op {
                    kind,
                    groups,
                    kernel,
                    stride,
                },
            ) => g.steps.push(DeviceStep::Op(DeviceOp {
                kind,
                inputs: (0..node.inputs.len())
                    .map(|i| source(&tensor_of, i))
                    .collect(),
                output: g.tensors.len(),
                groups,
                kernel,
                stride,
            })),
        }
        tensor_of[id] = Some(g.tensors.len());
        g.tensors.push(tensor);
    }
    g.output = tensor_of[net.output].expect("the output is on the device");
    g
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::candidate::Candidate;
    use crate::space::load_space;

    #[test]
    fn merged_nodes_have_no_tensor_and_a_flatten_is_a_view() {
        let s = load_space("ds-cnn").unwrap();
        let c = Candidate::new(&s, s.first_genotype()).unwrap();
        let g = lower(&c.network, DType::Int8);
        let merged = deployment(&c.network)
            .iter()
            .filter(|d| **d == Deployment::Merged)
            .count();
        assert!(merged > 0);
        assert_eq!(g.tensors.len(), c.network.nodes.len() - merged);
        assert_eq!(
            g.steps.len(),
            g.tensors.len() - 1,
            "one step per tensor but the input"
        );
        let views = g
            .steps
            .iter()
            .filter(|s| matches!(s, DeviceStep::View { .. }));
        assert_eq!(views.count(), 1, "the head's flatten");
        let convs = g
            .steps
            .iter()
            .filter(|s| matches!(s, DeviceStep::Op(op) if op.kind == OpKind::Conv));
        let layers = c
            .network
            .nodes
            .iter()
            .filter(|n| matches!(n.layer, Layer::Conv2d(_)));
        assert_eq!(convs.count(), layers.count());
        assert_eq!(
            g.tensors[g.output].dtype,
            DType::F32,
            "the softmax's probabilities"
        );
    }
}
