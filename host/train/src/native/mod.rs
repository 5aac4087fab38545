//! Training's heaviest ops on the CPU, forward and backward, written for our networks: 2-D
//! convolution (dense, pointwise, depthwise and grouped) and batch normalisation with the
//! batch's statistics.
//!
//! burn 0.22's `flex` backend has fast forward convolutions but leaves the backward passes to
//! burn's generic defaults (a transposed convolution for the input gradient, a loop over groups
//! for the weight gradient) and decomposes batch normalisation into a dozen tensor ops with
//! transposed copies; those took most of a convolutional network's training time. These ops
//! are a backend extension (`#[backend_extension]`, burn's mechanism for custom ops) of the
//! flex backend with their own autodiff backward steps, so the rest of burn — the optimiser,
//! the other ops, the autodiff graph — stays as it is. The kernels are in [`conv`] and
//! [`norm`]; matrix products go through the `gemm` crate that flex links. Every sum is taken in
//! one order whatever the threads do, so a seeded run repeats exactly.

use burn::backend::autodiff::NodeId;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Dispatch, Flex, backend_extension};
use burn::tensor::ops::{ConvOptions, MaxPoolOptions};
use burn::tensor::{Tensor, TensorData};

mod conv;
mod norm;
mod parallel;
mod pool;

/// The native ops, on the flex backend and its autodiff wrapper (other backends keep burn's).
#[backend_extension(Flex, Autodiff)]
pub trait NativeTraining: burn::backend::Backend {
    /// `conv2d(x, weight) + bias`.
    fn native_conv2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self>;

    /// Batch normalisation by the batch's statistics: the output, the mean and the biased
    /// variance per channel.
    fn native_batch_norm_train(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        epsilon: f64,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>);

    /// 2-D max pooling (dilation 1, output size rounded down).
    fn native_max_pool2d(x: FloatTensor<Self>, options: MaxPoolOptions<2>) -> FloatTensor<Self>;
}

/// The pooling of `options` over an input of dimensions `dims`.
fn pool_geometry(dims: &[usize], o: &MaxPoolOptions<2>) -> pool::Pool {
    let output = |axis: usize| {
        let (before, after) = o.padding[axis];
        (dims[2 + axis] + before + after).saturating_sub(o.kernel_size[axis]) / o.stride[axis] + 1
    };
    pool::Pool {
        planes: dims[0] * dims[1],
        input: [dims[2], dims[3]],
        kernel: o.kernel_size,
        stride: o.stride,
        padding: o.padding.map(|(before, _)| before),
        output: [output(0), output(1)],
    }
}

/// Max pooling of `x`: the output, its dimensions and where each maximum came from.
fn max_pool(x: &FlexTensor, options: &MaxPoolOptions<2>) -> (FlexTensor, Vec<usize>, Vec<u32>) {
    let (dims, x) = values(x);
    let p = pool_geometry(&dims, options);
    let (y, from) = pool::max_forward(&p, &x);
    (
        tensor(y, vec![dims[0], dims[1], p.output[0], p.output[1]]),
        dims,
        from,
    )
}

impl NativeTraining for Flex {
    fn native_conv2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self> {
        let (x_dims, x) = values(&x);
        let (w_dims, w) = values(&weight);
        let (_, b) = values(&bias);
        let output = options
            .padding
            .iter()
            .zip(&options.stride)
            .zip(&options.dilation)
            .enumerate()
            .map(|(axis, ((&(before, after), &stride), &dilation))| {
                let reach = dilation * (w_dims[2 + axis] - 1) + 1;
                (x_dims[2 + axis] + before + after).saturating_sub(reach) / stride + 1
            });
        let out: Vec<usize> = output.collect();
        let dy_dims = [x_dims[0], w_dims[0], out[0], out[1]];
        let g = geometry(&x_dims, &w_dims, &dy_dims, &options);
        tensor(conv::forward(&g, &x, &w, &b), dy_dims.to_vec())
    }

    fn native_batch_norm_train(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        epsilon: f64,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        let (dims, x) = values(&x);
        let ((_, gamma), (_, beta)) = (values(&gamma), values(&beta));
        let layout = norm::Layout::of(&dims);
        let s = norm::statistics(layout, &x);
        let y = norm::normalise(layout, &x, &s, &gamma, &beta, epsilon);
        let channels = vec![layout.channels];
        (
            tensor(y, dims),
            tensor(s.mean, channels.clone()),
            tensor(s.variance, channels),
        )
    }

    fn native_max_pool2d(x: FloatTensor<Self>, options: MaxPoolOptions<2>) -> FloatTensor<Self> {
        max_pool(&x, &options).0
    }
}

#[derive(Debug)]
struct MaxPoolBackward;

impl Backward<Flex, 1> for MaxPoolBackward {
    /// The input's dimensions, the options, and where each maximum came from.
    type State = (Vec<usize>, MaxPoolOptions<2>, Vec<u32>);

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [node_x] = ops.parents;
        let grad = grads.consume::<Flex>(&ops.node);
        let (dims, options, from) = ops.state;
        if let Some(node) = node_x {
            let (_, dy) = values(&grad);
            let p = pool_geometry(&dims, &options);
            grads.register::<Flex>(node.id, tensor(pool::max_backward(&p, &from, &dy), dims));
        }
    }
}

#[derive(Debug)]
struct NormBackward;

impl Backward<Flex, 3> for NormBackward {
    type State = (NodeId, NodeId, FloatTensor<Flex>, FloatTensor<Flex>, f64);

    fn backward(
        self,
        ops: Ops<Self::State, 3>,
        grads: &mut Gradients,
        checkpointer: &mut Checkpointer,
    ) {
        let [node_x, node_gamma, node_beta] = ops.parents;
        let grad = grads.consume::<Flex>(&ops.node);
        let (x_state, gamma_state, mean, variance, epsilon) = ops.state;
        let x: FloatTensor<Flex> = checkpointer.retrieve_node_output(x_state);
        let gamma: FloatTensor<Flex> = checkpointer.retrieve_node_output(gamma_state);
        let (dims, x) = values(&x);
        let (_, gamma) = values(&gamma);
        let (_, dy) = values(&grad);
        let s = norm::Statistics {
            mean: values(&mean).1.into_owned(),
            variance: values(&variance).1.into_owned(),
        };
        let layout = norm::Layout::of(&dims);
        let g = norm::backward(layout, &x, &s, &gamma, epsilon, &dy);
        let channels = vec![layout.channels];
        if let Some(node) = node_x {
            grads.register::<Flex>(node.id, tensor(g.x, dims));
        }
        if let Some(node) = node_gamma {
            grads.register::<Flex>(node.id, tensor(g.gamma, channels.clone()));
        }
        if let Some(node) = node_beta {
            grads.register::<Flex>(node.id, tensor(g.beta, channels));
        }
    }
}

#[derive(Debug)]
struct ConvBackward;

/// The elements of `t` in row-major order, with its dimensions.
fn values(t: &FlexTensor) -> (Vec<usize>, std::borrow::Cow<'_, [f32]>) {
    let dims = t.layout().shape().to_vec();
    match t.as_slice::<f32>() {
        Some(v) => (dims, std::borrow::Cow::Borrowed(v)),
        None => (
            dims,
            std::borrow::Cow::Owned(
                t.to_contiguous()
                    .as_slice::<f32>()
                    .expect("f32 training tensors")
                    .to_vec(),
            ),
        ),
    }
}

fn tensor(data: Vec<f32>, dims: Vec<usize>) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(data, dims))
}

fn geometry(x: &[usize], w: &[usize], dy: &[usize], o: &ConvOptions<2>) -> conv::Geometry {
    conv::Geometry {
        batch: x[0],
        in_channels: x[1],
        input: [x[2], x[3]],
        out_channels: w[0],
        kernel: [w[2], w[3]],
        stride: o.stride,
        padding: o.padding.map(|(before, _)| before),
        dilation: o.dilation,
        groups: o.groups,
        output: [dy[2], dy[3]],
    }
}

impl Backward<Flex, 3> for ConvBackward {
    type State = (NodeId, NodeId, ConvOptions<2>);

    fn backward(
        self,
        ops: Ops<Self::State, 3>,
        grads: &mut Gradients,
        checkpointer: &mut Checkpointer,
    ) {
        let [node_x, node_w, node_b] = ops.parents;
        let grad = grads.consume::<Flex>(&ops.node);
        let (x_state, w_state, options) = ops.state;
        let x: FloatTensor<Flex> = checkpointer.retrieve_node_output(x_state);
        let w: FloatTensor<Flex> = checkpointer.retrieve_node_output(w_state);
        let (x_dims, x) = values(&x);
        let (w_dims, w) = values(&w);
        let (dy_dims, dy) = values(&grad);
        let g = geometry(&x_dims, &w_dims, &dy_dims, &options);
        if let Some(node) = node_x {
            grads.register::<Flex>(node.id, tensor(conv::input_gradient(&g, &w, &dy), x_dims));
        }
        if let Some(node) = node_w {
            grads.register::<Flex>(node.id, tensor(conv::weight_gradient(&g, &x, &dy), w_dims));
        }
        if let Some(node) = node_b {
            grads.register::<Flex>(
                node.id,
                tensor(conv::bias_gradient(&g, &dy), vec![g.out_channels]),
            );
        }
    }
}

impl<C: CheckpointStrategy> NativeTraining for Autodiff<Flex, C> {
    fn native_conv2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self> {
        match ConvBackward
            .prepare::<C>([x.node(), weight.node(), bias.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(mut prep) => {
                let xs = prep.checkpoint(&x);
                let ws = prep.checkpoint(&weight);
                let out = Flex::native_conv2d(
                    x.into_primitive(),
                    weight.into_primitive(),
                    bias.into_primitive(),
                    options.clone(),
                );
                prep.finish((xs, ws, options), out)
            }
            OpsKind::UnTracked(prep) => prep.finish(Flex::native_conv2d(
                x.into_primitive(),
                weight.into_primitive(),
                bias.into_primitive(),
                options,
            )),
        }
    }

    fn native_batch_norm_train(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        epsilon: f64,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        let statistic = |t| FloatTensor::<Self>::new(t);
        match NormBackward
            .prepare::<C>([x.node(), gamma.node(), beta.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(mut prep) => {
                let xs = prep.checkpoint(&x);
                let gs = prep.checkpoint(&gamma);
                let (y, mean, variance) = Flex::native_batch_norm_train(
                    x.into_primitive(),
                    gamma.into_primitive(),
                    beta.into_primitive(),
                    epsilon,
                );
                let y = prep.finish((xs, gs, mean.clone(), variance.clone(), epsilon), y);
                (y, statistic(mean), statistic(variance))
            }
            OpsKind::UnTracked(prep) => {
                let (y, mean, variance) = Flex::native_batch_norm_train(
                    x.into_primitive(),
                    gamma.into_primitive(),
                    beta.into_primitive(),
                    epsilon,
                );
                (prep.finish(y), statistic(mean), statistic(variance))
            }
        }
    }

    fn native_max_pool2d(x: FloatTensor<Self>, options: MaxPoolOptions<2>) -> FloatTensor<Self> {
        match MaxPoolBackward
            .prepare::<C>([x.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let (y, dims, from) = max_pool(&x.into_primitive(), &options);
                prep.finish((dims, options, from), y)
            }
            OpsKind::UnTracked(prep) => {
                prep.finish(Flex::native_max_pool2d(x.into_primitive(), options))
            }
        }
    }
}

/// 2-D max pooling through the native op (CPU only, as [`conv2d`]).
pub fn max_pool2d(x: Tensor<4>, options: MaxPoolOptions<2>) -> Tensor<4> {
    Tensor::from_dispatch(<Dispatch as NativeTraining>::native_max_pool2d(
        x.into_dispatch(),
        options,
    ))
}

/// Batch normalisation with the batch's own statistics, through the native op: the output,
/// and each channel's mean and biased variance (without gradients), `[channels]`.
pub fn batch_norm_train<const D: usize>(
    x: Tensor<D>,
    gamma: Tensor<1>,
    beta: Tensor<1>,
    epsilon: f64,
) -> (Tensor<D>, Tensor<1>, Tensor<1>) {
    let (y, mean, variance) = <Dispatch as NativeTraining>::native_batch_norm_train(
        x.into_dispatch(),
        gamma.into_dispatch(),
        beta.into_dispatch(),
        epsilon,
    );
    (
        Tensor::from_dispatch(y),
        Tensor::from_dispatch(mean),
        Tensor::from_dispatch(variance),
    )
}

/// `conv2d(x, weight) + bias` through the native op (CPU only: the tensors must be on the
/// flex device, with or without autodiff).
pub fn conv2d(
    x: Tensor<4>,
    weight: Tensor<4>,
    bias: Tensor<1>,
    options: ConvOptions<2>,
) -> Tensor<4> {
    Tensor::from_dispatch(<Dispatch as NativeTraining>::native_conv2d(
        x.into_dispatch(),
        weight.into_dispatch(),
        bias.into_dispatch(),
        options,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::prelude::*;
    use burn::tensor::Distribution;

    /// The largest difference between `a` and `b` relative to `b`'s largest magnitude.
    fn relative_difference(a: Tensor<1>, b: Tensor<1>) -> f32 {
        let scale = b.clone().abs().max().into_scalar::<f32>().max(1e-6);
        (a - b).abs().max().into_scalar::<f32>() / scale
    }

    /// Output and gradients of input, weight and bias under a random linear loss, by the native
    /// op and by burn's own convolution.
    fn compare(x: [usize; 4], out: usize, kernel: [usize; 2], options: ConvOptions<2>) {
        let device = Device::flex().autodiff();
        let groups = options.groups;
        let x = Tensor::<4>::random(x, Distribution::Default, &device);
        let w = Tensor::<4>::random(
            [out, x.dims()[1] / groups, kernel[0], kernel[1]],
            Distribution::Default,
            &device,
        );
        let b = Tensor::<1>::random([out], Distribution::Default, &device);
        let dims = burn::tensor::module::conv2d(x.clone(), w.clone(), None, options.clone()).dims();
        let r = Tensor::<4>::random(dims, Distribution::Default, &device);
        let run = |native: bool| {
            let (x, w, b) = (
                x.clone().require_grad(),
                w.clone().require_grad(),
                b.clone().require_grad(),
            );
            let y = if native {
                conv2d(x.clone(), w.clone(), b.clone(), options.clone())
            } else {
                burn::tensor::module::conv2d(x.clone(), w.clone(), Some(b.clone()), options.clone())
            };
            let loss = (y.clone() * r.clone()).sum();
            let grads = loss.backward();
            let flat = |t: Tensor<4>| t.flatten::<1>(0, 3);
            [
                flat(y.inner()),
                flat(x.grad(&grads).unwrap()),
                flat(w.grad(&grads).unwrap()),
                b.grad(&grads).unwrap(),
            ]
        };
        let (native, reference) = (run(true), run(false));
        for (what, (a, b)) in ["output", "input", "weight", "bias"]
            .iter()
            .zip(native.into_iter().zip(reference))
        {
            let d = relative_difference(a, b);
            assert!(
                d < 1e-4,
                "{what}: {d} for {x:?} → {out}, {kernel:?}, {options:?}",
                x = x.dims()
            );
        }
    }

    #[test]
    fn native_batch_norm_matches_burns() {
        let device = Device::flex().autodiff();
        // The last large enough to run on every core (`parallel`).
        for dims in [[4, 3, 5, 5], [2, 6, 1, 1], [8, 2, 3, 7], [8, 16, 33, 33]] {
            let x = Tensor::<4>::random(dims, Distribution::Default, &device);
            let gamma = Tensor::<1>::random([dims[1]], Distribution::Default, &device);
            let beta = Tensor::<1>::random([dims[1]], Distribution::Default, &device);
            let r = Tensor::<4>::random(dims, Distribution::Default, &device);
            let run = |native: bool| {
                let (x, gamma, beta) = (
                    x.clone().require_grad(),
                    gamma.clone().require_grad(),
                    beta.clone().require_grad(),
                );
                let (y, mean, variance) = if native {
                    batch_norm_train(x.clone(), gamma.clone(), beta.clone(), 1e-5)
                } else {
                    let t = burn::tensor::module::batch_norm_train(
                        x.clone(),
                        gamma.clone(),
                        beta.clone(),
                        1e-5,
                    );
                    (t.output, t.mean, t.variance)
                };
                let grads = (y.clone() * r.clone()).sum().backward();
                [
                    y.inner().flatten::<1>(0, 3),
                    x.grad(&grads).unwrap().flatten::<1>(0, 3),
                    gamma.grad(&grads).unwrap(),
                    beta.grad(&grads).unwrap(),
                    mean.inner(),
                    variance.inner(),
                ]
            };
            let names = ["output", "input", "gamma", "beta", "mean", "variance"];
            for (what, (a, b)) in names.iter().zip(run(true).into_iter().zip(run(false))) {
                let d = relative_difference(a, b);
                assert!(d < 1e-4, "{what}: {d} for {dims:?}");
            }
        }
    }

    #[test]
    fn native_max_pooling_matches_burns() {
        let device = Device::flex().autodiff();
        let options = |k: usize, s: usize, p: usize| {
            MaxPoolOptions::new([k; 2])
                .with_stride([s; 2])
                .with_padding([p; 2])
        };
        for (dims, o) in [
            ([4, 3, 8, 8], options(2, 2, 0)),
            ([2, 5, 7, 9], options(3, 2, 1)),
            ([2, 2, 5, 5], options(3, 1, 1)),
            ([3, 4, 1, 1], options(1, 1, 0)),
            ([8, 16, 32, 32], options(2, 2, 0)),
        ] {
            let x = Tensor::<4>::random(dims, Distribution::Default, &device);
            let out = burn::tensor::module::max_pool2d(x.clone(), o.clone()).dims();
            let r = Tensor::<4>::random(out, Distribution::Default, &device);
            let run = |native: bool| {
                let x = x.clone().require_grad();
                let y = if native {
                    max_pool2d(x.clone(), o.clone())
                } else {
                    burn::tensor::module::max_pool2d(x.clone(), o.clone())
                };
                let grads = (y.clone() * r.clone()).sum().backward();
                [
                    y.inner().flatten::<1>(0, 3),
                    x.grad(&grads).unwrap().flatten::<1>(0, 3),
                ]
            };
            for (what, (a, b)) in ["output", "input"]
                .iter()
                .zip(run(true).into_iter().zip(run(false)))
            {
                let d = relative_difference(a, b);
                assert!(d < 1e-6, "{what}: {d} for {dims:?}, {o:?}");
            }
        }
    }

    #[test]
    fn native_gradients_match_burns_over_many_shapes() {
        let o = |stride, padding, dilation, groups| {
            ConvOptions::new([stride; 2], [padding; 2], [dilation; 2], groups)
        };
        // Dense 3×3 and 5×5, strided, unpadded and padded.
        compare([2, 4, 7, 7], 6, [3, 3], o(1, 1, 1, 1));
        compare([3, 3, 9, 8], 5, [3, 3], o(2, 1, 1, 1));
        compare([2, 2, 6, 6], 3, [5, 5], o(1, 2, 1, 1));
        compare([1, 3, 10, 4], 4, [10, 4], o(2, 0, 1, 1));
        // Pointwise, and 1×1 with a stride.
        compare([4, 8, 5, 5], 16, [1, 1], o(1, 0, 1, 1));
        compare([2, 8, 6, 6], 4, [1, 1], o(2, 0, 1, 1));
        // Depthwise (channel multiplier 1 and 2) and grouped.
        compare([2, 6, 7, 7], 6, [3, 3], o(1, 1, 1, 6));
        compare([2, 4, 9, 9], 8, [5, 5], o(2, 2, 1, 4));
        compare([2, 8, 5, 5], 4, [3, 3], o(1, 1, 1, 2));
        // Odd cases: a 1×1 input, a kernel larger than the input with padding, dilation.
        compare([3, 5, 1, 1], 7, [1, 1], o(1, 0, 1, 1));
        compare([2, 3, 2, 2], 4, [3, 3], o(1, 1, 1, 1));
        compare([2, 3, 1, 1], 3, [3, 3], o(1, 1, 1, 3));
        compare([1, 2, 9, 9], 3, [3, 3], o(1, 2, 2, 1));
        // Large enough to run on every core (`parallel`): dense, strided depthwise.
        compare([4, 16, 16, 16], 32, [3, 3], o(1, 1, 1, 1));
        compare([4, 32, 20, 20], 32, [3, 3], o(2, 1, 1, 32));
    }
}
