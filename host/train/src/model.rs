//! One burn module for any network of the IR: it follows the graph node by node.

use burn::module::{Module, Param, RunningState};
use burn::nn::conv::{Conv2d as BurnConv2d, Conv2dConfig};
use burn::nn::{
    BatchNorm as BurnBatchNorm, BatchNormConfig, Linear, LinearConfig, PaddingConfig2d,
};
use burn::prelude::*;
use burn::tensor::Gradients;
use burn::tensor::activation::{hard_swish, relu, softmax};
use burn::tensor::module::{adaptive_avg_pool2d, avg_pool2d, max_pool2d};
use burn::tensor::ops::{AvgPoolOptions, ConvOptions, MaxPoolOptions};

use edgenas_model::network::layers::{ActivationKind, PoolKind};
use edgenas_model::network::{Layer, Network, Shape};
use edgenas_model::weights::{Array, LayerWeights, Weights, WeightsMismatch};

use crate::TrainError;

/// What one node of the graph does, with indices into the model's layer lists.
#[derive(Clone, Debug)]
enum Op {
    Input,
    Conv(usize, ConvOptions<2>),
    Norm(usize),
    Dense(usize),
    MaxPool(MaxPoolOptions<2>),
    AvgPool(AvgPoolOptions<2>),
    GlobalAvgPool,
    Add,
    Relu,
    Relu6,
    HardSwish,
    Flatten,
    Softmax,
    Zero(Shape),
}

/// A node: its op, its inputs, and the last node that reads it (to free its tensor).
#[derive(Clone, Debug)]
struct Step {
    op: Op,
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

/// ReLU6 of the feature maps `x`: on the CPU through edgenas's native clamp (burn's clamp
/// backward, a masked select, took a fifth of a MobileNetV2's training time), elsewhere
/// through burn's. (burn's ReLU, and ReLU6 after a dense layer, are as fast as ours.)
fn relu6(x: Tensor<4>) -> Tensor<4> {
    if x.device().inner() == Device::flex() {
        crate::native::clamp(x, 0.0, 6.0)
    } else {
        x.clamp(0.0, 6.0)
    }
}

/// Max pooling of `x`: on the CPU through edgenas's native op (its backward pass is our own,
/// `crate::native`), elsewhere through burn's.
fn max_pool(x: Tensor<4>, options: &MaxPoolOptions<2>) -> Tensor<4> {
    if x.device().inner() == Device::flex() {
        crate::native::max_pool2d(x, options.clone())
    } else {
        max_pool2d(x, options.clone())
    }
}

/// Batch norm `bn` of `x`: in training on the CPU through edgenas's native op (its forward and
/// backward passes are our own, `crate::native`), with the running statistics updated as
/// burn's module updates them; otherwise through burn's module.
fn norm<const D: usize>(bn: &BurnBatchNorm, x: Tensor<D>) -> Tensor<D> {
    let device = x.device();
    let training = device.is_autodiff() && bn.training.is_enabled();
    if !training || device.clone().inner() != Device::flex() {
        return bn.forward(x);
    }
    let (y, mean, variance) =
        crate::native::batch_norm_train(x, bn.gamma.val(), bn.beta.val(), bn.epsilon);
    let m = bn.momentum;
    let blend = |running: Tensor<1>, batch: Tensor<1>| {
        running
            .to_device(&device)
            .mul_scalar(1.0 - m)
            .add(batch.mul_scalar(m))
            .detach()
    };
    bn.running_mean
        .update(blend(bn.running_mean.value_sync(), mean));
    bn.running_var
        .update(blend(bn.running_var.value_sync(), variance));
    y
}

/// A burn module built from a [`Network`]: its convolutions, batch norms and dense layers in
/// node order, and the graph that connects them.
#[derive(Module, Debug)]
pub struct GraphModel {
    convs: Vec<BurnConv2d>,
    norms: Vec<BurnBatchNorm>,
    denses: Vec<Linear>,
    #[module(skip)]
    steps: Vec<Step>,
    /// The node whose output is the logits (the network output, or the input of its softmax).
    #[module(skip)]
    logits: usize,
}

fn tensor_data(a: &Array) -> TensorData {
    TensorData::new(a.data.clone(), a.shape.clone())
}

fn to_array<const D: usize>(t: Tensor<D>) -> Array {
    let shape = t.dims().to_vec();
    let data = t
        .into_data()
        .convert::<f32>()
        .try_to_vec::<f32>()
        .expect("f32 tensor data");
    Array { shape, data }
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
        for node in &net.nodes {
            let w = weights.get(&node.name);
            let in_shape = node.inputs.first().map(|&i| net.nodes[i].shape);
            let op = match (&node.layer, w) {
                (Layer::Input(_), _) => Op::Input,
                (Layer::Conv2d(c), Some(LayerWeights::Conv2d { weight, bias })) => {
                    let cin = in_shape.map_or(0, |s| s.channels());
                    let [ph, pw] = c.padding;
                    let mut conv = Conv2dConfig::new([cin, c.out_channels], c.kernel)
                        .with_stride(c.stride)
                        .with_padding(PaddingConfig2d::Explicit(ph, pw, ph, pw))
                        .with_groups(c.groups)
                        .with_bias(c.bias)
                        .init(device);
                    conv.weight = Param::from_data(tensor_data(weight), device);
                    conv.bias = bias
                        .as_ref()
                        .map(|b| Param::from_data(tensor_data(b), device));
                    m.convs.push(conv);
                    let options = ConvOptions::new(c.stride, c.padding, [1, 1], c.groups);
                    Op::Conv(m.convs.len() - 1, options)
                }
                (Layer::Dense(d), Some(LayerWeights::Dense { weight, bias })) => {
                    let fan_in = in_shape.map_or(0, |s| s.elements());
                    let mut linear = LinearConfig::new(fan_in, d.out_features)
                        .with_bias(d.bias)
                        .init(device);
                    // burn keeps `[in, out]`; our weights are `[out, in]`.
                    let w = Tensor::<2>::from_data(tensor_data(weight), device).transpose();
                    linear.weight = Param::from_data(w.into_data(), device);
                    linear.bias = bias
                        .as_ref()
                        .map(|b| Param::from_data(tensor_data(b), device));
                    m.denses.push(linear);
                    Op::Dense(m.denses.len() - 1)
                }
                (
                    Layer::BatchNorm(_),
                    Some(LayerWeights::BatchNorm {
                        gamma,
                        beta,
                        running_mean,
                        running_var,
                        epsilon,
                    }),
                ) => {
                    let mut bn = BatchNormConfig::new(node.shape.channels())
                        .with_epsilon(*epsilon)
                        .init(device);
                    bn.gamma = Param::from_data(tensor_data(gamma), device);
                    bn.beta = Param::from_data(tensor_data(beta), device);
                    bn.running_mean =
                        RunningState::new(Tensor::from_data(tensor_data(running_mean), device));
                    bn.running_var =
                        RunningState::new(Tensor::from_data(tensor_data(running_var), device));
                    m.norms.push(bn);
                    Op::Norm(m.norms.len() - 1)
                }
                (Layer::Pool(p), _) => match p.kind {
                    PoolKind::Max => Op::MaxPool(
                        MaxPoolOptions::new([p.kernel; 2])
                            .with_stride([p.stride; 2])
                            .with_padding([p.padding; 2]),
                    ),
                    PoolKind::Avg => {
                        let mut o = AvgPoolOptions::new([p.kernel; 2])
                            .with_stride([p.stride; 2])
                            .with_padding([p.padding; 2]);
                        o.count_include_pad = p.count_include_pad;
                        Op::AvgPool(o)
                    }
                },
                (Layer::GlobalAvgPool(_), _) => Op::GlobalAvgPool,
                (Layer::Add(_), _) => Op::Add,
                (Layer::Activation(a), _) => match a.kind {
                    ActivationKind::Relu => Op::Relu,
                    ActivationKind::Relu6 => Op::Relu6,
                    ActivationKind::HardSwish => Op::HardSwish,
                },
                (Layer::Flatten(_), _) => Op::Flatten,
                (Layer::Softmax(_), _) => {
                    if m.steps.len() == net.output {
                        m.logits = node.inputs[0];
                    }
                    Op::Softmax
                }
                (Layer::Zero(z), _) => Op::Zero(z.shape),
                // `check` saw weights of the right kind for every parameterised node.
                _ => return Err(WeightsMismatch::Missing(node.name.clone()).into()),
            };
            m.steps.push(Step {
                op,
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

    /// Convolution `i` of `x`: on the CPU through edgenas's native op (whose backward passes
    /// are our own, `crate::native`), elsewhere through burn's module.
    fn conv(&self, i: usize, options: &ConvOptions<2>, x: Tensor<4>) -> Tensor<4> {
        let conv = &self.convs[i];
        if x.device().inner() != Device::flex() {
            return conv.forward(x);
        }
        let weight = conv.weight.val();
        let bias = match &conv.bias {
            Some(b) => b.val(),
            None => Tensor::zeros([weight.dims()[0]], &x.device()),
        };
        crate::native::conv2d(x, weight, bias, options.clone())
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
            let get = |values: &Vec<Option<Batch>>, k: usize| {
                values[step.inputs[k]].clone().expect("inputs run first")
            };
            let out = match &step.op {
                Op::Input => unreachable!("only node 0 is the input"),
                Op::Conv(i, options) => {
                    Batch::Image(self.conv(*i, options, image(get(&values, 0))))
                }
                Op::Dense(i) => Batch::Flat(self.denses[*i].forward(flat(get(&values, 0)))),
                Op::Norm(i) => match get(&values, 0) {
                    Batch::Image(t) => Batch::Image(norm(&self.norms[*i], t)),
                    Batch::Flat(t) => Batch::Flat(norm(&self.norms[*i], t)),
                },
                Op::MaxPool(o) => Batch::Image(max_pool(image(get(&values, 0)), o)),
                Op::AvgPool(o) => Batch::Image(avg_pool2d(image(get(&values, 0)), o.clone())),
                Op::GlobalAvgPool => {
                    Batch::Image(adaptive_avg_pool2d(image(get(&values, 0)), [1, 1]))
                }
                Op::Add => match (get(&values, 0), get(&values, 1)) {
                    (Batch::Image(a), Batch::Image(b)) => Batch::Image(a + b),
                    (Batch::Flat(a), Batch::Flat(b)) => Batch::Flat(a + b),
                    _ => unreachable!("the IR checked that added shapes are equal"),
                },
                Op::Relu => map(get(&values, 0), relu, relu),
                Op::Relu6 => map(get(&values, 0), relu6, |t| t.clamp(0.0, 6.0)),
                Op::HardSwish => map(get(&values, 0), hard_swish, hard_swish),
                Op::Flatten => Batch::Flat(flat(get(&values, 0))),
                Op::Softmax => Batch::Flat(softmax(flat(get(&values, 0)), 1)),
                Op::Zero(shape) => {
                    let (n, device) = match values[0].as_ref().expect("the input stays") {
                        Batch::Image(t) => (t.dims()[0], t.device()),
                        Batch::Flat(t) => (t.dims()[0], t.device()),
                    };
                    match *shape {
                        Shape::Image { c, h, w } => {
                            Batch::Image(Tensor::zeros([n, c, h, w], &device))
                        }
                        Shape::Vector(f) => Batch::Flat(Tensor::zeros([n, f], &device)),
                    }
                }
            };
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
            let w = match (&step.op, &node.layer) {
                (Op::Conv(i, _), _) => {
                    let c = &self.convs[*i];
                    LayerWeights::Conv2d {
                        weight: to_array(c.weight.val()),
                        bias: c.bias.as_ref().map(|b| to_array(b.val())),
                    }
                }
                (Op::Dense(i), _) => {
                    let d = &self.denses[*i];
                    LayerWeights::Dense {
                        weight: to_array(d.weight.val().transpose()),
                        bias: d.bias.as_ref().map(|b| to_array(b.val())),
                    }
                }
                (Op::Norm(i), Layer::BatchNorm(b)) => {
                    let n = &self.norms[*i];
                    LayerWeights::BatchNorm {
                        gamma: to_array(n.gamma.val()),
                        beta: to_array(n.beta.val()),
                        running_mean: to_array(n.running_mean.value()),
                        running_var: to_array(n.running_var.value()),
                        epsilon: b.epsilon,
                    }
                }
                _ => continue,
            };
            out.layers.insert(node.name.clone(), w);
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

fn image(b: Batch) -> Tensor<4> {
    match b {
        Batch::Image(t) => t,
        Batch::Flat(_) => unreachable!("the IR checked that this layer reads a feature map"),
    }
}

fn flat(b: Batch) -> Tensor<2> {
    match b {
        Batch::Flat(t) => t,
        Batch::Image(t) => t.flatten(1, 3),
    }
}

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
