//! f32 kernels. Constants are the op's weights followed by one bias per output channel (Conv,
//! Dense), or a scale and then a shift per channel (Affine).

use super::{Map, map, zip};
use crate::blob::{Activation, OpRecord};

/// The fused activation of `act` applied to `v`.
#[inline]
pub fn activate(act: Activation, v: f32) -> f32 {
    match act {
        Activation::None => v,
        Activation::Relu => v.max(0.0),
        Activation::Relu6 => v.clamp(0.0, 6.0),
        Activation::HardSwish => hard_swish(v),
    }
}

/// Convolution; `consts` holds the weights then the biases.
pub fn conv(op: &OpRecord, input: Map, output: Map, x: &[f32], consts: &[f32], out: &mut [f32]) {
    let (w, bias) = consts.split_at(consts.len() - output.channels);
    super::conv(
        &op.geometry,
        input,
        output,
        x,
        w,
        out,
        |c| bias[c],
        |a, x, w| a + x * w,
        |_, a| activate(op.activation, a),
    );
}

/// Fully connected layer; `consts` holds the weights (one row per output) then the biases.
pub fn dense(op: &OpRecord, x: &[f32], consts: &[f32], out: &mut [f32]) {
    let (w, bias) = consts.split_at(consts.len() - out.len());
    super::dense(
        x,
        w,
        out,
        |o| bias[o],
        |a, x, w| a + x * w,
        |_, a| activate(op.activation, a),
    );
}

/// Max pooling.
pub fn max_pool(op: &OpRecord, input: Map, output: Map, x: &[f32], out: &mut [f32]) {
    super::pool(
        &op.geometry,
        input,
        output,
        x,
        out,
        f32::NEG_INFINITY,
        f32::max,
        |a, _| a,
    );
}

/// Average pooling.
pub fn avg_pool(op: &OpRecord, input: Map, output: Map, x: &[f32], out: &mut [f32]) {
    super::pool(
        &op.geometry,
        input,
        output,
        x,
        out,
        0.0,
        |a, v| a + v,
        |a, n| a / n as f32,
    );
}

/// The mean of each channel.
pub fn global_avg_pool(input: Map, x: &[f32], out: &mut [f32]) {
    for (c, y) in out.iter_mut().enumerate() {
        let plane = &x[c * input.plane()..(c + 1) * input.plane()];
        *y = plane.iter().sum::<f32>() / plane.len() as f32;
    }
}

/// `a + b` with `op`'s fused activation (an input that is `None` is the output itself).
pub fn add(op: &OpRecord, out: &mut [f32], a: Option<&[f32]>, b: Option<&[f32]>) {
    zip(out, a, b, |x, y| activate(op.activation, x + y));
}

/// `scale[c] × x + shift[c]` per channel; `consts` holds the scales then the shifts.
pub fn affine(channels: usize, consts: &[f32], out: &mut [f32], src: Option<&[f32]>) {
    let (scale, shift) = consts.split_at(channels);
    let inner = out.len() / channels;
    map(out, src, |i, v| {
        let c = i / inner;
        scale[c] * v + shift[c]
    });
}

/// Hard-swish: `x · min(max(x + 3, 0), 6) / 6`.
pub fn hard_swish(v: f32) -> f32 {
    v * (v + 3.0).clamp(0.0, 6.0) / 6.0
}

/// A ReLU, ReLU6 or hard-swish of its own.
pub fn activation(op: &OpRecord, out: &mut [f32], src: Option<&[f32]>) {
    map(out, src, |_, v| activate(op.activation, v));
}

/// Softmax over all elements (the output of a `[1, N]` tensor).
pub fn softmax(out: &mut [f32], src: Option<&[f32]>) {
    let max = src
        .unwrap_or(out)
        .iter()
        .fold(f32::NEG_INFINITY, |m, &v| m.max(v));
    map(out, src, |_, v| libm::expf(v - max));
    let sum: f32 = out.iter().sum();
    out.iter_mut().for_each(|v| *v /= sum);
}
