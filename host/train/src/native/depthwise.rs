//! Depthwise convolution (one input channel a group, any channel multiplier) with the channels
//! innermost: each sample's map is turned to `[pixel, channel]`, so that every kernel tap is one
//! multiply-add over all the output channels at once — a loop the compiler vectorises, however
//! small the map. (Channel by channel, a 4×4 map gives rows of 3 or 4 pixels, and the time goes
//! into loop overhead rather than arithmetic.)
//!
//! An output channel `oc` reads input channel `oc / multiplier`; the input is spread to the
//! output's channels when it is turned, and the input gradient summed back when it is turned
//! back. Sums run in one order whatever the threads do.

use super::conv::Geometry;
use super::parallel::{for_each_chunk, map};

/// The taps that reach inside the map, output pixel by output pixel.
struct Taps {
    /// `(tap, input pixel)` pairs, output pixel after output pixel.
    pairs: Vec<(usize, usize)>,
    /// Where each output pixel's pairs start in `pairs`; one more entry than pixels.
    starts: Vec<usize>,
}

impl Taps {
    fn of(g: &Geometry) -> Taps {
        let mut pairs = Vec::new();
        let mut starts = vec![0];
        // The input index along `axis` of output `o` and kernel offset `k`, if inside the map.
        let at = |axis: usize, o: usize, k: usize| {
            (o * g.stride[axis] + k * g.dilation[axis])
                .checked_sub(g.padding[axis])
                .filter(|&i| i < g.input[axis])
        };
        for oy in 0..g.output[0] {
            for ox in 0..g.output[1] {
                for ky in 0..g.kernel[0] {
                    let Some(iy) = at(0, oy, ky) else { continue };
                    for kx in 0..g.kernel[1] {
                        if let Some(ix) = at(1, ox, kx) {
                            pairs.push((ky * g.kernel[1] + kx, iy * g.input[1] + ix));
                        }
                    }
                }
                starts.push(pairs.len());
            }
        }
        Taps { pairs, starts }
    }

    /// The pairs of output pixel `p`.
    fn of_pixel(&self, p: usize) -> &[(usize, usize)] {
        &self.pairs[self.starts[p]..self.starts[p + 1]]
    }
}

/// Output channels per input channel.
fn multiplier(g: &Geometry) -> usize {
    g.out_channels / g.in_channels
}

/// The weight `[out_channels, 1, taps]` turned to `[taps, out_channels]`.
fn weight_by_tap(g: &Geometry, weight: &[f32]) -> Vec<f32> {
    let taps = g.taps();
    let mut t = vec![0.0; weight.len()];
    for (oc, filter) in weight.chunks(taps).enumerate() {
        for (tap, &w) in filter.iter().enumerate() {
            t[tap * g.out_channels + oc] = w;
        }
    }
    t
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

/// `acc += w · x`, element by element.
fn multiply_add(acc: &mut [f32], w: &[f32], x: &[f32]) {
    for ((a, &w), &x) in acc.iter_mut().zip(w).zip(x) {
        *a += w * x;
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
    let (taps, wt) = (Taps::of(g), weight_by_tap(g, weight));
    let (cout, in_size, out_plane) = (g.out_channels, g.in_channels * g.in_plane(), g.out_plane());
    let mut y = vec![0.0; g.batch * cout * out_plane];
    let sample = |n: usize, y: &mut [f32], (xt, yt): &mut (Vec<f32>, Vec<f32>)| {
        spread_input(g, &x[n * in_size..(n + 1) * in_size], xt);
        for (p, acc) in yt.chunks_mut(cout).enumerate() {
            acc.copy_from_slice(bias);
            for &(tap, i) in taps.of_pixel(p) {
                multiply_add(acc, &wt[tap * cout..][..cout], &xt[i * cout..][..cout]);
            }
        }
        turn(out_plane, yt, y);
    };
    for_each_chunk(&mut y, cout * out_plane, g.macs(), scratch(g), sample);
    y
}

/// The gradient of the input from the weight and the output's gradient `dy`.
pub fn input_gradient(g: &Geometry, weight: &[f32], dy: &[f32]) -> Vec<f32> {
    let (taps, wt) = (Taps::of(g), weight_by_tap(g, weight));
    let (cout, in_plane, out_plane) = (g.out_channels, g.in_plane(), g.out_plane());
    let m = multiplier(g);
    let mut dx = vec![0.0; g.batch * g.in_channels * in_plane];
    let sample = |n: usize, dx: &mut [f32], (dxt, dyt): &mut (Vec<f32>, Vec<f32>)| {
        turn(cout, &dy[n * cout * out_plane..][..cout * out_plane], dyt);
        dxt.fill(0.0);
        for (p, d) in dyt.chunks(cout).enumerate() {
            for &(tap, i) in taps.of_pixel(p) {
                multiply_add(&mut dxt[i * cout..][..cout], &wt[tap * cout..][..cout], d);
            }
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

/// Runs of samples whose weight gradients are summed apart (in parallel), then in order.
const SUM_RUNS: usize = 8;

/// The gradient of the weight from the input `x` and the output's gradient `dy`.
pub fn weight_gradient(g: &Geometry, x: &[f32], dy: &[f32]) -> Vec<f32> {
    let taps = Taps::of(g);
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
            for (p, d) in dyt.chunks(cout).enumerate() {
                for &(tap, i) in taps.of_pixel(p) {
                    multiply_add(&mut dwt[tap * cout..][..cout], &xt[i * cout..][..cout], d);
                }
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
