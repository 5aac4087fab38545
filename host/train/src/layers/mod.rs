//! The burn faces of each IR layer type, one file each, behind one trait: the step that
//! computes the layer in a [`GraphModel`], with the burn modules that hold its parameters, and
//! how those parameters are read back.
//!
//! A layer type's model faces are its file in `edgenas-model`'s `network/layers`, its ONNX
//! faces its file in `edgenas-onnx`'s `layers`; these are the faces that need burn, so they
//! live in the only crate that names it. Adding a layer type here is its file ([`burn`]
//! follows `edgenas_model::with_layer!`, and does not compile until the file is there).

mod activation;
mod add;
mod batch_norm;
mod conv2d;
mod dense;
mod flatten;
mod global_avg_pool;
mod input;
mod pool;
mod softmax;
mod zero;

use std::fmt::Debug;
use std::sync::Arc;

use burn::prelude::*;
use edgenas_model::network::{Layer, Node, Shape};
use edgenas_model::weights::{Array, LayerWeights, WeightsMismatch};

use crate::TrainError;
use crate::model::{Batch, GraphModel};

/// What every layer type answers on burn's side.
pub(crate) trait BurnLayer {
    /// The step that computes the layer, its parameters (from `x.weights`) added to the
    /// model's module lists.
    fn build(&self, x: &mut Build<'_>) -> Result<Arc<dyn Forward>, TrainError>;
    /// Whether the layer, as the network's output, turns logits into the output (a softmax):
    /// training then reads the logits before it.
    fn ends_logits(&self) -> bool {
        false
    }
}

/// One node's computation in a built model (a layer without parameters is its own step).
pub(crate) trait Forward: Debug + Send + Sync {
    /// The node's output from its `inputs` (in input order); `network_input` is the batch the
    /// network was given.
    fn forward(&self, model: &GraphModel, inputs: Vec<Batch>, network_input: &Batch) -> Batch;
    /// The node's weights, read back from the model's modules (weighted layers only).
    fn weights(&self, _model: &GraphModel) -> Option<LayerWeights> {
        None
    }
}

/// The registry: the burn faces of each layer type (`with_layer!` matches the types).
pub(crate) fn burn(layer: &Layer) -> &dyn BurnLayer {
    edgenas_model::with_layer!(layer, l => l)
}

/// One node being built into a [`GraphModel`].
pub(crate) struct Build<'a> {
    /// The model so far, whose module lists the layer's parameters join.
    pub model: &'a mut GraphModel,
    /// The IR node.
    pub node: &'a Node,
    /// The shape of its first input (none for the input node).
    pub in_shape: Option<Shape>,
    /// Its weights.
    pub weights: Option<&'a LayerWeights>,
    /// Where the parameters live.
    pub device: &'a Device,
}

impl Build<'_> {
    /// The error for a parameterised node without weights of its kind (`Weights::check`
    /// rules it out).
    pub fn missing_weights(&self) -> TrainError {
        WeightsMismatch::Missing(self.node.name.clone()).into()
    }
}

/// The tensor data of an array.
fn tensor_data(a: &Array) -> TensorData {
    TensorData::new(a.data.clone(), a.shape.clone())
}

/// A tensor's values as an array.
pub(crate) fn to_array<const D: usize>(t: Tensor<D>) -> Array {
    let shape = t.dims().to_vec();
    let data = t
        .into_data()
        .convert::<f32>()
        .try_to_vec::<f32>()
        .expect("f32 tensor data");
    Array { shape, data }
}

/// The single input of a layer that reads one.
fn single(inputs: Vec<Batch>) -> Batch {
    inputs
        .into_iter()
        .next()
        .expect("shape inference checked the inputs")
}

/// The feature maps of a batch (shape inference checked that it is one).
fn image(b: Batch) -> Tensor<4> {
    match b {
        Batch::Image(t) => t,
        Batch::Flat(_) => unreachable!("the IR checked that this layer reads a feature map"),
    }
}

/// A batch as vectors (feature maps flattened).
fn flat(b: Batch) -> Tensor<2> {
    match b {
        Batch::Flat(t) => t,
        Batch::Image(t) => t.flatten(1, 3),
    }
}

/// `f4` or `f2` applied to a batch of feature maps or vectors.
fn map(
    b: Batch,
    f4: impl Fn(Tensor<4>) -> Tensor<4>,
    f2: impl Fn(Tensor<2>) -> Tensor<2>,
) -> Batch {
    match b {
        Batch::Image(t) => Batch::Image(f4(t)),
        Batch::Flat(t) => Batch::Flat(f2(t)),
    }
}
