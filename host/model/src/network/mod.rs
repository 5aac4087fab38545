//! The network IR: a graph of layers with shape inference and static costs.
//!
//! [`decode`] turns a space and a genotype into a [`Network`]: a list of [`Node`]s in execution
//! order (every node's inputs come before it), starting with the input. This module knows
//! nothing of burn, ONNX or boards; training, export and costing read the IR.

pub mod blocks;
mod builder;
mod decode;
pub mod layers;
mod shape;

pub use builder::Builder;
pub use decode::{DecodeError, decode, decode_with_input, resolve_front_end, resolve_input};
pub use layers::{Layer, LayerOp};
pub use shape::Shape;

/// Index of a node in [`Network::nodes`].
pub type NodeId = usize;

/// One layer of the network, with its inputs and its inferred output shape.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    /// Unique name: the block instance and the layer (`s1.b2.dw`).
    pub name: String,
    /// The layer.
    pub layer: Layer,
    /// The nodes it reads, all earlier in the list.
    pub inputs: Vec<NodeId>,
    /// Its output shape.
    pub shape: Shape,
}

/// A decoded network: nodes in execution order, node 0 the input.
#[derive(Clone, Debug, PartialEq)]
pub struct Network {
    /// Every node, in execution order.
    pub nodes: Vec<Node>,
    /// The node whose output is the network's output.
    pub output: NodeId,
    /// Number of classes.
    pub classes: usize,
}

impl Network {
    /// The input shape.
    pub fn input_shape(&self) -> Shape {
        self.nodes[0].shape
    }

    /// The shapes of a node's inputs.
    pub fn input_shapes(&self, id: NodeId) -> Vec<Shape> {
        self.nodes[id]
            .inputs
            .iter()
            .map(|&i| self.nodes[i].shape)
            .collect()
    }

    /// The nodes that read node `id`.
    pub fn consumers(&self, id: NodeId) -> Vec<NodeId> {
        (0..self.nodes.len())
            .filter(|&n| self.nodes[n].inputs.contains(&id))
            .collect()
    }
}
