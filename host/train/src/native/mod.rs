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

use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Dispatch, backend_extension};
use burn::tensor::ops::{ConvOptions, MaxPoolOptions};
use burn::tensor::{Tensor, TensorData};

mod autodiff;
mod clamp;
mod conv;
mod depthwise;
mod flex;
mod norm;
mod parallel;
mod pool;
#[cfg(test)]
mod tests;

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

    /// `x` clamped to `[low, high]` (ReLU6: 0 and 6).
    fn native_clamp(x: FloatTensor<Self>, low: f32, high: f32) -> FloatTensor<Self>;
}

/// The elements of `t` in row-major order, with its dimensions.
pub(super) fn values(t: &FlexTensor) -> (Vec<usize>, std::borrow::Cow<'_, [f32]>) {
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

/// `t`'s values changed in place by `f`, in row-major order: copied first only when `t` is
/// strided or shared with another tensor.
pub(super) fn map_in_place(t: FlexTensor, f: impl FnOnce(&mut [f32])) -> FlexTensor {
    let mut t = if t.is_contiguous() && t.layout().start_offset() == 0 {
        t
    } else {
        t.to_contiguous()
    };
    let n = t.layout().shape().num_elements();
    f(&mut t.storage_mut::<f32>()[..n]);
    t
}

/// A flex tensor of `dims` holding `data` (row-major).
pub(super) fn tensor(data: Vec<f32>, dims: Vec<usize>) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(data, dims))
}

/// The convolution of an input of dimensions `x` by a weight of `w` into an output of `dy`.
pub(super) fn geometry(
    x: &[usize],
    w: &[usize],
    dy: &[usize],
    o: &ConvOptions<2>,
) -> conv::Geometry {
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

/// Pixels along one axis of a window reaching `reach` input pixels, moved every `stride` over
/// `size` pixels padded by `before` and `after` (rounded down), for convolution and pooling.
pub(super) fn output_size(
    size: usize,
    (before, after): (usize, usize),
    reach: usize,
    stride: usize,
) -> usize {
    (size + before + after).saturating_sub(reach) / stride + 1
}

/// The pooling of `options` over an input of dimensions `dims`.
pub(super) fn pool_geometry(dims: &[usize], o: &MaxPoolOptions<2>) -> pool::Pool {
    let output = |axis: usize| {
        output_size(
            dims[2 + axis],
            o.padding[axis],
            o.kernel_size[axis],
            o.stride[axis],
        )
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

/// `x` clamped to `[low, high]` through the native op (CPU only, as [`conv2d`]); the model
/// uses it for ReLU6.
pub fn clamp<const D: usize>(x: Tensor<D>, low: f32, high: f32) -> Tensor<D> {
    Tensor::from_dispatch(<Dispatch as NativeTraining>::native_clamp(
        x.into_dispatch(),
        low,
        high,
    ))
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
