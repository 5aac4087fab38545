//! Batch normalisation in training, forward and backward, on contiguous `f32` slices of shape
//! `[batch, channels, inner]` (`inner` the pixels of a map, or 1 after a dense layer): two
//! passes over the input each way, where burn's default decomposes it into transposed copies
//! and a dozen tensor ops.

use super::parallel::{for_each_chunk, map};

/// A `[batch, channels, inner]` layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    /// Samples.
    pub batch: usize,
    /// Channels, each normalised apart.
    pub channels: usize,
    /// Values of a channel in one sample.
    pub inner: usize,
}

impl Layout {
    /// The layout of a tensor of dimensions `dims` (`[batch, channels, …]`).
    pub fn of(dims: &[usize]) -> Layout {
        Layout {
            batch: dims[0],
            channels: dims[1],
            inner: dims[2..].iter().product(),
        }
    }

    /// The values of channel `c` in each sample, one run per sample.
    fn runs<'a>(&self, v: &'a [f32], c: usize) -> impl Iterator<Item = &'a [f32]> + 'a {
        let (stride, inner) = (self.channels * self.inner, self.inner);
        (0..self.batch).map(move |n| &v[n * stride + c * inner..][..inner])
    }

    fn count(&self) -> f64 {
        (self.batch * self.inner) as f64
    }
}

/// The batch statistics of each channel: mean and biased variance.
pub struct Statistics {
    /// Per channel.
    pub mean: Vec<f32>,
    /// Per channel, biased (divided by the count, not the count − 1).
    pub variance: Vec<f32>,
}

/// Partial sums kept apart by [`sum_pairs`].
const LANES: usize = 8;

/// Σ `f(a, b)` over the pairs of values of the runs `a` and `b`, in f64, as [`LANES`] partial
/// sums added in order at the end: independent sums the compiler vectorises (one running sum is
/// a chain of additions, each waiting for the last), in the same order on every call.
fn sum_pairs<'a>(
    a: impl Iterator<Item = &'a [f32]>,
    b: impl Iterator<Item = &'a [f32]>,
    f: impl Fn(f32, f32) -> f64,
) -> f64 {
    let mut lanes = [0.0f64; LANES];
    for (a, b) in a.zip(b) {
        let (a, b) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
        let rest = a.remainder().iter().zip(b.remainder());
        for (a, b) in a.zip(b) {
            for k in 0..LANES {
                lanes[k] += f(a[k], b[k]);
            }
        }
        for (lane, (&a, &b)) in lanes.iter_mut().zip(rest) {
            *lane += f(a, b);
        }
    }
    lanes.iter().sum()
}

/// Each channel's mean and biased variance over the batch and its pixels (summed in f64, in
/// one order, so a run repeats exactly).
pub fn statistics(l: Layout, x: &[f32]) -> Statistics {
    let (mean, variance): (Vec<f32>, Vec<f32>) = map(l.channels, x.len(), |c| {
        let runs = || l.runs(x, c);
        let mean = sum_pairs(runs(), runs(), |v, _| f64::from(v)) / l.count();
        let squares = sum_pairs(runs(), runs(), |v, _| (f64::from(v) - mean).powi(2));
        (mean as f32, (squares / l.count()) as f32)
    })
    .into_iter()
    .unzip();
    Statistics { mean, variance }
}

fn inverse_std(variance: &[f32], epsilon: f64) -> Vec<f32> {
    variance
        .iter()
        .map(|&v| (1.0 / (f64::from(v) + epsilon).sqrt()) as f32)
        .collect()
}

/// `γ (x − mean) / √(variance + ε) + β`, channel by channel.
pub fn normalise(
    l: Layout,
    x: &[f32],
    s: &Statistics,
    gamma: &[f32],
    beta: &[f32],
    epsilon: f64,
) -> Vec<f32> {
    let inv = inverse_std(&s.variance, epsilon);
    let mut y = vec![0.0; x.len()];
    let run = |run: usize, y: &mut [f32], _: &mut ()| {
        let c = run % l.channels;
        let (scale, mean) = (gamma[c] * inv[c], s.mean[c]);
        for (o, &v) in y.iter_mut().zip(&x[run * l.inner..]) {
            *o = (v - mean) * scale + beta[c];
        }
    };
    for_each_chunk(&mut y, l.inner, x.len(), || (), run);
    y
}

/// The gradients of input, γ and β from the output's gradient `dy`.
pub struct Gradients {
    /// Of the input, in its layout.
    pub x: Vec<f32>,
    /// Of γ, per channel.
    pub gamma: Vec<f32>,
    /// Of β, per channel.
    pub beta: Vec<f32>,
}

/// The backward pass: with x̂ the normalised input, dβ = Σ dy, dγ = Σ dy·x̂, and
/// dx = γ / √(variance + ε) · (dy − dβ / m − x̂ · dγ / m) over the m values of a channel.
pub fn backward(
    l: Layout,
    x: &[f32],
    s: &Statistics,
    gamma: &[f32],
    epsilon: f64,
    dy: &[f32],
) -> Gradients {
    let inv = inverse_std(&s.variance, epsilon);
    let (beta_grad, gamma_grad): (Vec<f32>, Vec<f32>) = map(l.channels, x.len(), |c| {
        let db = sum_pairs(l.runs(dy, c), l.runs(dy, c), |d, _| f64::from(d));
        let (mean, inv) = (s.mean[c], inv[c]);
        let dg = sum_pairs(l.runs(x, c), l.runs(dy, c), |v, d| {
            f64::from(d) * f64::from((v - mean) * inv)
        });
        (db as f32, dg as f32)
    })
    .into_iter()
    .unzip();
    let m = l.count() as f32;
    let mut dx = vec![0.0; x.len()];
    let run = |run: usize, dx: &mut [f32], _: &mut ()| {
        let c = run % l.channels;
        let (mean, inv) = (s.mean[c], inv[c]);
        let (db, dg) = (beta_grad[c] / m, gamma_grad[c] / m);
        let scale = gamma[c] * inv;
        let at = run * l.inner;
        let (x, dy) = (&x[at..at + l.inner], &dy[at..at + l.inner]);
        for ((o, &v), &d) in dx.iter_mut().zip(x).zip(dy) {
            *o = scale * (d - db - (v - mean) * inv * dg);
        }
    };
    for_each_chunk(&mut dx, l.inner, x.len(), || (), run);
    Gradients {
        x: dx,
        gamma: gamma_grad,
        beta: beta_grad,
    }
}
