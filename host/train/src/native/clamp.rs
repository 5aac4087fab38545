//! ReLU and ReLU6 as one clamp, forward and backward, in place: the gradient passes where the
//! output lies strictly between the bounds (where the input did), as PyTorch's does (burn's
//! clamp also passes it at an input exactly on a bound).

use super::parallel::for_each_chunk;

/// Values a task clamps at least.
const CHUNK: usize = 1 << 14;

/// Clamps `x` to `[low, high]`.
pub fn forward(x: &mut [f32], low: f32, high: f32) {
    let work = x.len();
    let clamp = |_: usize, x: &mut [f32], _: &mut ()| {
        for v in x {
            *v = v.clamp(low, high);
        }
    };
    for_each_chunk(x, CHUNK, work, || (), clamp);
}

/// Turns the output's gradient `dy` into the input's, given the output `y`.
pub fn backward(dy: &mut [f32], y: &[f32], low: f32, high: f32) {
    let mask = |chunk: usize, dy: &mut [f32], _: &mut ()| {
        for (d, &v) in dy.iter_mut().zip(&y[chunk * CHUNK..]) {
            if v <= low || v >= high {
                *d = 0.0;
            }
        }
    };
    for_each_chunk(dy, CHUNK, y.len(), || (), mask);
}
