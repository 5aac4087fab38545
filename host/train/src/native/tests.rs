//! Every native op held to burn's own on values and gradients.

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
    // (Each channel gets at least 16 values: with two, the variance can be near 0 and the
    // gradient ill-conditioned, and burn's f32 statistics then differ from our f64 ones.)
    for dims in [[4, 3, 5, 5], [16, 6, 1, 1], [8, 2, 3, 7], [8, 16, 33, 33]] {
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
fn native_clamps_match_burns_relu_and_relu6() {
    let device = Device::flex().autodiff();
    // Large enough to run on every core too (`parallel`).
    for dims in [[4, 3, 5, 5], [16, 16, 32, 32]] {
        let x = Tensor::<4>::random(dims, Distribution::Normal(0.0, 5.0), &device);
        // A value exactly on a bound has no derivative: PyTorch (and we) pass none, burn's
        // clamp passes the gradient; such draws (about one run in 200) are moved off it.
        let x = x.clone().mask_fill(x.clone().equal_elem(0.0), 0.5);
        let x = x.clone().mask_fill(x.clone().equal_elem(6.0), 6.5);
        let r = Tensor::<4>::random(dims, Distribution::Default, &device);
        for high in [f32::INFINITY, 6.0] {
            let run = |native: bool| {
                let x = x.clone().require_grad();
                let y = match (native, high.is_finite()) {
                    (true, _) => clamp(x.clone(), 0.0, high),
                    (false, true) => x.clone().clamp(0.0, 6.0),
                    (false, false) => burn::tensor::activation::relu(x.clone()),
                };
                let grads = (y.clone() * r.clone()).sum().backward();
                [
                    y.inner().flatten::<1>(0, 3),
                    x.grad(&grads).unwrap().flatten::<1>(0, 3),
                ]
            };
            let pairs = run(true).into_iter().zip(run(false));
            for (what, (a, b)) in ["output", "input"].iter().zip(pairs) {
                let d = relative_difference(a, b);
                assert!(d == 0.0, "{what}: {d} for {dims:?}, high {high}");
            }
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

#[test]
fn native_gradients_match_burns_on_random_shapes() {
    let mut rng = edgenas_model::rng::Rng::new(24);
    let mut pick = |n: usize| rng.below(n);
    for _ in 0..40 {
        let groups = [1, 1, 2, 4][pick(4)];
        let depthwise = pick(3) == 0;
        let channels = groups * (1 + pick(4));
        let (groups, out) = if depthwise {
            (channels, channels * (1 + pick(2)))
        } else {
            (groups, groups * (1 + pick(5)))
        };
        let kernel = [1 + pick(5), 1 + pick(5)];
        let padding = pick(3);
        let dilation = 1 + pick(2);
        let stride = 1 + pick(2);
        // An input at least as large as the dilated kernel, padding counted.
        let reach = |k: usize| (dilation * (k - 1) + 1).saturating_sub(2 * padding).max(1);
        let size = [reach(kernel[0]) + pick(6), reach(kernel[1]) + pick(6)];
        let options = ConvOptions::new([stride; 2], [padding; 2], [dilation; 2], groups);
        compare(
            [1 + pick(3), channels, size[0], size[1]],
            out,
            kernel,
            options,
        );
    }
}
