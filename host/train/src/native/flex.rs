//! The native ops on the flex backend: forward passes (and the max pooling's record of where
//! each maximum came from, which its backward step needs).

use burn::backend::Flex;
use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::tensor::ops::{ConvOptions, MaxPoolOptions};

use super::{
    NativeTraining, clamp, conv, geometry, map_in_place, norm, output_size, pool, pool_geometry,
    tensor, values,
};

/// Max pooling of `x`: the output, its dimensions and where each maximum came from.
pub(super) fn max_pool(
    x: &FlexTensor,
    options: &MaxPoolOptions<2>,
) -> (FlexTensor, Vec<usize>, Vec<u32>) {
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
        let out = |axis: usize| {
            let reach = options.dilation[axis] * (w_dims[2 + axis] - 1) + 1;
            let padding = options.padding[axis];
            output_size(x_dims[2 + axis], padding, reach, options.stride[axis])
        };
        let dy_dims = [x_dims[0], w_dims[0], out(0), out(1)];
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

    fn native_clamp(x: FloatTensor<Self>, low: f32, high: f32) -> FloatTensor<Self> {
        map_in_place(x, |x| clamp::forward(x, low, high))
    }
}
