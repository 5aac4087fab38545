//! Depthwise convolution (one input channel a group, any channel multiplier) with the channels
//! innermost: each sample's map is turned to `[pixel, channel]`, so that every kernel tap is one
//! multiply-add over all the output channels at once — a loop the compiler vectorises, however
//! small the map. (Channel by channel, a 4×4 map gives rows of 3 or 4 pixels, and the time goes
//! into loop overhead rather than arithmetic.) [`Geometry`] picks this layout when the channels
//! outnumber an output row's pixels.
//!
//! All three passes are one kernel, [`gather`]: a row of sums, each the sum over a list of
//! `(a, b)` pairs of `A[a] · B[b]` channel by channel. The output sums (tap, input pixel) pairs
//! of weights and inputs per output pixel; the input gradient (tap, output pixel) pairs of
//! weights and output gradients per input pixel; the weight gradient (input pixel, output
//! pixel) pairs of inputs and output gradients per tap. Each list is built once per op, and
//! every sum runs in one order whatever the threads do.
//!
//! An output channel `oc` reads input channel `oc / multiplier`; the input is spread to the
//! output's channels when it is turned, and the input gradient summed back when it is turned
//! back.

use super::conv::{Geometry, SUM_RUNS};
use super::parallel::{for_each_chunk, map};

/// Lists of `(a, b)` index pairs, one list per destination row.
struct Pairs {
    /// The pairs, destination after destination.
    pairs: Vec<(usize, usize)>,
    /// Where each destination's pairs start in `pairs`; one more entry than destinations.
    starts: Vec<usize>,
}

impl Pairs {
    /// Every `(key, a, b)` of `items` as the pair `(a, b)` of destination `key` (of `keys`),
    /// in the items' order within each destination.
    fn group(keys: usize, items: &[[usize; 3]]) -> Pairs {
        let mut starts = vec![0; keys + 1];
        for &[key, ..] in items {
            starts[key + 1] += 1;
        }
        for k in 0..keys {
            starts[k + 1] += starts[k];
        }
        let mut next = starts.clone();
        let mut pairs = vec![(0, 0); items.len()];
        for &[key, a, b] in items {
            pairs[next[key]] = (a, b);
            next[key] += 1;
        }
        Pairs { pairs, starts }
    }

    /// The pairs of destination `d`.
    fn of(&self, d: usize) -> &[(usize, usize)] {
        &self.pairs[self.starts[d]..self.starts[d + 1]]
    }
}

/// Every `(output pixel, tap, input pixel)` where a tap reaches inside the map: the
/// geometry's runs ([`Geometry::runs`]) pixel by pixel.
fn reaches(g: &Geometry) -> Vec<[usize; 3]> {
    g.runs()
        .iter()
        .flat_map(|r| {
            (0..r.len).map(move |k| [r.output_at + k, r.tap, r.input_at + k * g.stride[1]])
        })
        .collect()
}

/// Channels summed side by side in registers by [`gather`].
const BLOCK: usize = 8;

/// `dst[c] += Σ a[i · width + c] · b[j · width + c]` over the pairs `(i, j)`, for each of the
/// `width` channels of `dst`. Blocks of [`BLOCK`] channels are summed in registers over all the
/// pairs before they are stored.
fn gather(dst: &mut [f32], pairs: &[(usize, usize)], a: &[f32], b: &[f32]) {
    let width = dst.len();
    let blocks = width / BLOCK * BLOCK;
    for start in (0..blocks).step_by(BLOCK) {
        let mut sum = [0.0f32; BLOCK];
        sum.copy_from_slice(&dst[start..start + BLOCK]);
        for &(i, j) in pairs {
            let a = &a[i * width + start..][..BLOCK];
            let b = &b[j * width + start..][..BLOCK];
            for k in 0..BLOCK {
                sum[k] += a[k] * b[k];
            }
        }
        dst[start..start + BLOCK].copy_from_slice(&sum);
    }
    for c in blocks..width {
        for &(i, j) in pairs {
            dst[c] += a[i * width + c] * b[j * width + c];
        }
    }
}

/// Output channels per input channel.
fn multiplier(g: &Geometry) -> usize {
    g.out_channels / g.in_channels
}

/// One sample's input `[in_channels, pixels]` turned to `[pixels, out_channels]`, each input
/// channel repeated for its output channels.
fn spread_input(g: &Geometry, x: &[f32], xt: &mut [f32]) {
    let (plane, m) = (g.in_plane(), multiplier(g));
    if m == 1 {
        return turn(g.in_channels, x, xt);
    }
    for oc in 0..g.out_channels {
        let channel = &x[oc / m * plane..][..plane];
        for (p, &v) in channel.iter().enumerate() {
            xt[p * g.out_channels + oc] = v;
        }
    }
}

/// One sample's `[channels, pixels]` map `v` turned to `[pixels, channels]`.
fn turn(channels: usize, v: &[f32], vt: &mut [f32]) {
    let plane = v.len() / channels;
    for (c, channel) in v.chunks(plane).enumerate() {
        for (p, &value) in channel.iter().enumerate() {
            vt[p * channels + c] = value;
        }
    }
}

/// Scratch of one task: a turned input and a turned output.
fn scratch(g: &Geometry) -> impl Fn() -> (Vec<f32>, Vec<f32>) + Sync + Send {
    let (input, output) = (
        g.in_plane() * g.out_channels,
        g.out_plane() * g.out_channels,
    );
    move || (vec![0.0; input], vec![0.0; output])
}

/// The convolution's output, `[batch, out_channels, output]`.
pub fn forward(g: &Geometry, x: &[f32], weight: &[f32], bias: &[f32]) -> Vec<f32> {
    let by_output = Pairs::group(g.out_plane(), &reaches(g));
    // The weight `[out_channels, 1, taps]` turned to `[taps, out_channels]`.
    let mut wt = vec![0.0; weight.len()];
    turn(g.out_channels, weight, &mut wt);
    let (cout, in_size, out_plane) = (g.out_channels, g.in_channels * g.in_plane(), g.out_plane());
    let mut y = vec![0.0; g.batch * cout * out_plane];
    let sample = |n: usize, y: &mut [f32], (xt, yt): &mut (Vec<f32>, Vec<f32>)| {
        spread_input(g, &x[n * in_size..(n + 1) * in_size], xt);
        for (p, sums) in yt.chunks_mut(cout).enumerate() {
            sums.copy_from_slice(bias);
            gather(sums, by_output.of(p), &wt, xt);
        }
        turn(out_plane, yt, y);
    };
    for_each_chunk(&mut y, cout * out_plane, g.macs(), scratch(g), sample);
    y
}

/// The gradient of the input from the weight and the output's gradient `dy`.
pub fn input_gradient(g: &Geometry, weight: &[f32], dy: &[f32]) -> Vec<f32> {
    let by_input: Vec<[usize; 3]> = reaches(g).iter().map(|&[p, t, i]| [i, t, p]).collect();
    let by_input = Pairs::group(g.in_plane(), &by_input);
    let mut wt = vec![0.0; weight.len()];
    turn(g.out_channels, weight, &mut wt);
    let (cout, in_plane, out_plane) = (g.out_channels, g.in_plane(), g.out_plane());
    let m = multiplier(g);
    let mut dx = vec![0.0; g.batch * g.in_channels * in_plane];
    let sample = |n: usize, dx: &mut [f32], (dxt, dyt): &mut (Vec<f32>, Vec<f32>)| {
        turn(cout, &dy[n * cout * out_plane..][..cout * out_plane], dyt);
        for (i, sums) in dxt.chunks_mut(cout).enumerate() {
            sums.fill(0.0);
            gather(sums, by_input.of(i), &wt, dyt);
        }
        if m == 1 {
            turn(in_plane, dxt, dx);
        } else {
            for (c, channel) in dx.chunks_mut(in_plane).enumerate() {
                for (i, v) in channel.iter_mut().enumerate() {
                    *v = dxt[i * cout + c * m..][..m].iter().sum();
                }
            }
        }
    };
    let in_size = g.in_channels * in_plane;
    for_each_chunk(&mut dx, in_size, g.macs(), scratch(g), sample);
    dx
}

/// The gradient of the weight from the input `x` and the output's gradient `dy`.
pub fn weight_gradient(g: &Geometry, x: &[f32], dy: &[f32]) -> Vec<f32> {
    let by_tap: Vec<[usize; 3]> = reaches(g).iter().map(|&[p, t, i]| [t, i, p]).collect();
    let by_tap = Pairs::group(g.taps(), &by_tap);
    let (cout, in_size, out_plane) = (g.out_channels, g.in_channels * g.in_plane(), g.out_plane());
    let per_run = g.batch.div_ceil(SUM_RUNS).max(1);
    let scratch = scratch(g);
    let partial = |run: usize| {
        let mut dwt = vec![0.0; g.taps() * cout];
        let (mut xt, mut dyt) = scratch();
        for n in run * per_run..((run + 1) * per_run).min(g.batch) {
            spread_input(g, &x[n * in_size..(n + 1) * in_size], &mut xt);
            turn(
                cout,
                &dy[n * cout * out_plane..][..cout * out_plane],
                &mut dyt,
            );
            for (tap, sums) in dwt.chunks_mut(cout).enumerate() {
                gather(sums, by_tap.of(tap), &xt, &dyt);
            }
        }
        dwt
    };
    let mut dwt = vec![0.0; g.taps() * cout];
    for part in map(g.batch.div_ceil(per_run), g.macs(), partial) {
        dwt.iter_mut().zip(part).for_each(|(a, b)| *a += b);
    }
    // Back to `[out_channels, 1, taps]`.
    let mut dw = vec![0.0; dwt.len()];
    turn(g.taps(), &dwt, &mut dw);
    dw
}
