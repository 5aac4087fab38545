//! Building a network node by node, with shape inference at every step.

use super::layers::{Activation, ActivationKind, BatchNorm, Conv2d, Flatten, Input};
use super::{DecodeError, Layer, Network, Node, NodeId, Shape};

/// Appends layers to a network under construction; blocks use it to expand themselves.
#[derive(Debug)]
pub struct Builder {
    nodes: Vec<Node>,
    current: NodeId,
    prefix: String,
    classes: usize,
}

impl Builder {
    /// A network holding only its input.
    pub fn new(input: Shape, classes: usize) -> Builder {
        Builder {
            nodes: vec![Node {
                name: "input".into(),
                layer: Layer::Input(Input { shape: input }),
                inputs: vec![],
                shape: input,
            }],
            current: 0,
            prefix: String::new(),
            classes,
        }
    }

    /// Names the block instance that the next layers belong to (`s1.b2`).
    pub fn set_block(&mut self, name: &str) {
        self.prefix = name.to_string();
    }

    /// The node that the next block reads (the output of the last block).
    pub fn current(&self) -> NodeId {
        self.current
    }

    /// Makes `id` the output of the current block.
    pub fn set_current(&mut self, id: NodeId) {
        self.current = id;
    }

    /// The output shape of a node.
    pub fn shape(&self, id: NodeId) -> Shape {
        self.nodes[id].shape
    }

    /// The number of classes of the network.
    pub fn classes(&self) -> usize {
        self.classes
    }

    /// Adds a layer reading `inputs`, infers its shape, and returns its id.
    pub fn add(
        &mut self,
        name: &str,
        layer: Layer,
        inputs: &[NodeId],
    ) -> Result<NodeId, DecodeError> {
        let shapes: Vec<Shape> = inputs.iter().map(|&i| self.nodes[i].shape).collect();
        let full = format!("{}.{name}", self.prefix);
        let shape = layer
            .op()
            .output_shape(&shapes)
            .map_err(|message| DecodeError {
                layer: full.clone(),
                message: format!("{} {message}", layer.op().kind()),
            })?;
        self.nodes.push(Node {
            name: full,
            layer,
            inputs: inputs.to_vec(),
            shape,
        });
        Ok(self.nodes.len() - 1)
    }

    /// Convolution (no bias), batch norm and an optional activation, reading `input`.
    #[allow(clippy::too_many_arguments)]
    pub fn conv_bn_act(
        &mut self,
        name: &str,
        input: NodeId,
        out: usize,
        kernel: [usize; 2],
        stride: [usize; 2],
        groups: usize,
        act: Option<ActivationKind>,
    ) -> Result<NodeId, DecodeError> {
        let conv = Conv2d::same(out, kernel, stride, groups);
        let c = self.add(name, Layer::Conv2d(conv), &[input])?;
        let bn = self.add(
            &format!("{name}_bn"),
            Layer::BatchNorm(BatchNorm { epsilon: 1e-5 }),
            &[c],
        )?;
        self.act(&format!("{name}_act"), bn, act)
    }

    /// An activation reading `input`, or `input` itself for none.
    pub fn act(
        &mut self,
        name: &str,
        input: NodeId,
        act: Option<ActivationKind>,
    ) -> Result<NodeId, DecodeError> {
        match act {
            None => Ok(input),
            Some(kind) => self.add(name, Layer::Activation(Activation { kind }), &[input]),
        }
    }

    /// `input` as a vector: itself if it is one, else a flatten of it.
    pub fn flat(&mut self, input: NodeId) -> Result<NodeId, DecodeError> {
        match self.shape(input) {
            Shape::Vector(_) => Ok(input),
            Shape::Image { .. } => self.add("flatten", Layer::Flatten(Flatten), &[input]),
        }
    }

    /// The finished network; its output is the current node.
    pub fn finish(self) -> Network {
        Network {
            output: self.current,
            nodes: self.nodes,
            classes: self.classes,
        }
    }
}
