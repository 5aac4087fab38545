//! One burn module for any network of the IR: it follows the graph node by node, each node's
//! step built by its layer type's file in [`crate::layers`].

use std::sync::Arc;

use burn::module::{Module, Param};
use burn::nn::conv::Conv2d as BurnConv2d;
use burn::nn::{BatchNorm as BurnBatchNorm, Linear};
use burn::prelude::*;
use burn::tensor::Gradients;

use edgenas_model::network::Network;
use edgenas_model::weights::Weights;

use crate::TrainError;
use crate::layers::{Build, Forward, burn, to_array};

/// A node: its step, its inputs, and the last node that reads it (to free its tensor).
#[derive(Clone, Debug)]
struct Step {
    forward: Arc<dyn Forward>,
    inputs: Vec<usize>,
    last_reader: usize,
}

/// A batch going through the graph: feature maps `[n, c, h, w]` or vectors `[n, f]`.
#[derive(Clone, Debug)]
pub enum Batch {
    /// `[n, c, h, w]`.
    Image(Tensor<4>),
    /// `[n, f]`.
    Flat(Tensor<2>),
}

impl Batch {
    /// The batch's values, flattened sample after sample.
    pub fn values(self) -> Vec<f32> {
        let data = match self {
            Batch::Image(t) => t.into_data(),
            Batch::Flat(t) => t.into_data(),
        };
        data.convert::<f32>()
            .try_to_vec::<f32>()
            .expect("f32 tensor data")
    }
}

/// A burn module built from a [`Network`]: its convolutions, batch norms and dense layers in
/// node order, and the graph that connects them.
#[derive(Module, Debug)]
pub struct GraphModel {
    /// The convolutions, in node order.
    pub(crate) convs: Vec<BurnConv2d>,
    /// The batch norms, in node order.
    pub(crate) norms: Vec<BurnBatchNorm>,
    /// The dense layers, in node order.
    pub(crate) denses: Vec<Linear>,
    #[module(skip)]
    steps: Vec<Step>,
    /// The node whose output is the logits (the network output, or the input of its softmax).
    #[module(skip)]
    logits: usize,
}

impl GraphModel {
    /// Builds the module for `net` with `weights` (which must fit it, see `Weights::check`) on
    /// `device`.
    pub fn new(
        net: &Network,
        weights: &Weights,
        device: &Device,
    ) -> Result<GraphModel, TrainError> {
        weights.check(net)?;
        let mut m = GraphModel {
            convs: Vec::new(),
            norms: Vec::new(),
            denses: Vec::new(),
            steps: Vec::with_capacity(net.nodes.len()),
            logits: net.output,
        };
        for (id, node) in net.nodes.iter().enumerate() {
            let layer = burn(&node.layer);
            let forward = layer.build(&mut Build {
                model: &mut m,
                node,
                in_shape: node.inputs.first().map(|&i| net.nodes[i].shape),
                weights: weights.get(&node.name),
                device,
            })?;
            if id == net.output && layer.ends_logits() {
                m.logits = node.inputs[0];
            }
            m.steps.push(Step {
                forward,
                inputs: node.inputs.clone(),
                last_reader: 0,
            });
        }
        for id in 0..m.steps.len() {
            for i in m.steps[id].inputs.clone() {
                m.steps[i].last_reader = id;
            }
        }
        Ok(m)
    }

    /// The model with every batch norm normalising by its running statistics, also on an
    /// autodiff device (where it would otherwise use the batch's).
    pub(crate) fn with_frozen_norms(mut self) -> GraphModel {
        for norm in &mut self.norms {
            norm.training = Param::from_bool(false);
        }
        self
    }

    /// Each convolution's and dense layer's weight, as values and their gradient in `grads`
    /// (flattened alike); a weight the loss does not reach has a zero gradient.
    pub(crate) fn weight_gradients(&self, grads: &Gradients) -> Vec<(Vec<f32>, Vec<f32>)> {
        fn pair<const D: usize>(weight: Tensor<D>, grads: &Gradients) -> (Vec<f32>, Vec<f32>) {
            let values = to_array(weight.clone().inner()).data;
            let grad = weight
                .grad(grads)
                .map_or_else(|| vec![0.0; values.len()], |g| to_array(g).data);
            (values, grad)
        }
        let convs = self.convs.iter().map(|c| pair(c.weight.val(), grads));
        let denses = self.denses.iter().map(|d| pair(d.weight.val(), grads));
        convs.chain(denses).collect()
    }

    /// The logits (the output before a final softmax) for a batch, `[n, classes]`.
    pub fn logits(&self, input: Batch) -> Tensor<2> {
        match self.run(input, self.logits) {
            Batch::Flat(t) => t,
            Batch::Image(t) => t.flatten(1, 3),
        }
    }

    /// The network's output for a batch (probabilities when it ends with a softmax).
    pub fn output(&self, input: Batch) -> Batch {
        self.run(input, self.steps.len() - 1)
    }

    /// The dimensions of every node's output for a batch, in node order (node 0: the input):
    /// what tests compare with the IR's shape inference.
    pub fn trace_shapes(&self, input: Batch) -> Vec<Vec<usize>> {
        let mut shapes = Vec::with_capacity(self.steps.len());
        self.run_recording(input, self.steps.len() - 1, &mut |b| shapes.push(dims(b)));
        shapes
    }

    /// The values of every node's output for a batch, in node order, each flattened
    /// (sample-major): what calibration reads.
    pub fn node_values(&self, input: Batch) -> Vec<Vec<f32>> {
        let mut values = Vec::with_capacity(self.steps.len());
        self.run_recording(input, self.steps.len() - 1, &mut |b| {
            values.push(b.clone().values())
        });
        values
    }

    /// Runs the graph up to node `target` and returns its value. Tensors are dropped after
    /// their last reader.
    fn run(&self, input: Batch, target: usize) -> Batch {
        self.run_recording(input, target, &mut |_| {})
    }

    /// [`Self::run`], showing every node's output to `record`, in node order.
    fn run_recording(&self, input: Batch, target: usize, record: &mut dyn FnMut(&Batch)) -> Batch {
        record(&input);
        let mut values: Vec<Option<Batch>> = vec![None; self.steps.len()];
        values[0] = Some(input);
        if target == 0 {
            return values[0].take().expect("the input is there");
        }
        for id in 1..=target {
            let step = &self.steps[id];
            let inputs = step
                .inputs
                .iter()
                .map(|&i| values[i].clone().expect("inputs run first"))
                .collect();
            let network_input = values[0].as_ref().expect("the input stays");
            let out = step.forward.forward(self, inputs, network_input);
            for &i in &step.inputs {
                if self.steps[i].last_reader == id && i != 0 {
                    values[i] = None;
                }
            }
            record(&out);
            values[id] = Some(out);
        }
        values[target].take().expect("the target ran")
    }

    /// Reads the module's parameters and batch norm statistics back into our own structure.
    pub fn weights(&self, net: &Network) -> Weights {
        let mut out = Weights::default();
        for (node, step) in net.nodes.iter().zip(&self.steps) {
            if let Some(w) = step.forward.weights(self) {
                out.layers.insert(node.name.clone(), w);
            }
        }
        out
    }
}

fn dims(b: &Batch) -> Vec<usize> {
    match b {
        Batch::Image(t) => t.dims().to_vec(),
        Batch::Flat(t) => t.dims().to_vec(),
    }
}
