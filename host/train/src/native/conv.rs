//! A 2-D convolution on contiguous NCHW `f32` slices, forward and backward: the output, and the
//! gradients of the input, the weight and the bias.
//!
//! One group: a matrix product per sample (`gemm`), with `im2col`/`col2im` around it unless
//! the kernel is 1×1. Several groups (depthwise): direct loops over the rows of the map each
//! kernel tap reaches. burn's CPU backend computes the input gradient as a generic transposed
//! convolution and a grouped weight gradient group by group through slices.

use gemm::{Parallelism, gemm};

use super::depthwise;
use super::parallel::{for_each_chunk, map};

/// The geometry of one convolution: input `[batch, in_channels, height, width]`, weight
/// `[out_channels, in_channels / groups, kernel]`, output `[batch, out_channels, out]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Geometry {
    /// Samples.
    pub batch: usize,
    /// Input channels.
    pub in_channels: usize,
    /// Input height and width.
    pub input: [usize; 2],
    /// Output channels.
    pub out_channels: usize,
    /// Kernel height and width.
    pub kernel: [usize; 2],
    /// Stride along height and width.
    pub stride: [usize; 2],
    /// Padding before the first row and column (what follows the last one only changes the
    /// output's size, given in `output`).
    pub padding: [usize; 2],
    /// Dilation along height and width.
    pub dilation: [usize; 2],
    /// Groups (the input and output channels split alike).
    pub groups: usize,
    /// Output height and width.
    pub output: [usize; 2],
}

/// One output row's stretch that one kernel tap reaches inside the map: output pixels
/// `output_at..output_at + len` (offsets in a channel) read input pixels `input_at`,
/// `input_at + stride`, … .
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Run {
    /// The tap, `ky · kernel width + kx`.
    pub(super) tap: usize,
    pub(super) input_at: usize,
    pub(super) output_at: usize,
    pub(super) len: usize,
}

impl Geometry {
    pub(super) fn in_plane(&self) -> usize {
        self.input[0] * self.input[1]
    }

    pub(super) fn out_plane(&self) -> usize {
        self.output[0] * self.output[1]
    }

    pub(super) fn taps(&self) -> usize {
        self.kernel[0] * self.kernel[1]
    }

    /// Input channels per group.
    pub(super) fn group_inputs(&self) -> usize {
        self.in_channels / self.groups
    }

    /// Output channels per group.
    fn group_outputs(&self) -> usize {
        self.out_channels / self.groups
    }

    /// Multiply-adds of the whole convolution (also of each gradient).
    pub(super) fn macs(&self) -> usize {
        self.batch * self.out_channels * self.out_plane() * self.group_inputs() * self.taps()
    }

    /// One input channel a group, more than one group, and more output channels than an
    /// output row has pixels: [`depthwise`]'s case, whose loops run over the channels where
    /// the loops here run along the rows (measured on the spaces' depthwise shapes: 8 channels
    /// of 14 × 14 are faster here, 16 of 8 × 8 or 64 of 4 × 4 there).
    fn is_depthwise(&self) -> bool {
        self.groups > 1 && self.group_inputs() == 1 && self.out_channels >= self.output[1]
    }

    /// A 1×1 kernel of stride 1 without padding: the input is already the `im2col` matrix.
    fn is_pointwise(&self) -> bool {
        self.kernel == [1, 1] && self.stride == [1, 1] && self.padding == [0, 0]
    }

    /// Along `axis`, for kernel offset `k`: the first output index whose input lies in the
    /// map, how many do, and the input index of the first.
    fn span(&self, axis: usize, k: usize) -> (usize, usize, usize) {
        let (s, p) = (self.stride[axis], self.padding[axis]);
        let (size, out) = (self.input[axis], self.output[axis]);
        let offset = k * self.dilation[axis];
        // Output o reads input o·s + offset − p, which must lie in [0, size).
        let first = p.saturating_sub(offset).div_ceil(s);
        match (size + p).checked_sub(offset + 1).map(|v| v / s) {
            Some(last) if last >= first && first < out => {
                let count = last.min(out - 1) - first + 1;
                (first, count, first * s + offset - p)
            }
            _ => (0, 0, 0),
        }
    }

    /// Every [`Run`] of the kernel over the map, computed once per op.
    pub(super) fn runs(&self) -> Vec<Run> {
        let mut runs = Vec::new();
        for ky in 0..self.kernel[0] {
            let (oy0, rows, iy0) = self.span(0, ky);
            for kx in 0..self.kernel[1] {
                let (ox0, len, ix0) = self.span(1, kx);
                if len == 0 {
                    continue;
                }
                runs.extend((0..rows).map(|r| Run {
                    tap: ky * self.kernel[1] + kx,
                    input_at: (iy0 + r * self.stride[0]) * self.input[1] + ix0,
                    output_at: (oy0 + r) * self.output[1] + ox0,
                    len,
                }));
            }
        }
        runs
    }
}

/// `out[i] += w · input[i · stride]` for the `out.len()` outputs of a run.
fn gather_add(out: &mut [f32], input: &[f32], w: f32, stride: usize) {
    if stride == 1 {
        for (o, &v) in out.iter_mut().zip(input) {
            *o += w * v;
        }
    } else {
        for (o, &v) in out.iter_mut().zip(input.iter().step_by(stride)) {
            *o += w * v;
        }
    }
}

/// `input[i · stride] += w · out[i]`: the transpose of [`gather_add`].
fn scatter_add(input: &mut [f32], out: &[f32], w: f32, stride: usize) {
    if stride == 1 {
        for (v, &o) in input.iter_mut().zip(out) {
            *v += w * o;
        }
    } else {
        for (v, &o) in input.iter_mut().step_by(stride).zip(out) {
            *v += w * o;
        }
    }
}

/// Σ `input[i · stride] · out[i]`.
fn strided_dot(input: &[f32], out: &[f32], stride: usize) -> f32 {
    if stride == 1 {
        input.iter().zip(out).map(|(a, b)| a * b).sum()
    } else {
        input
            .iter()
            .step_by(stride)
            .zip(out)
            .map(|(a, b)| a * b)
            .sum()
    }
}

/// Above this many multiply-adds a matrix product runs on every core; below it one core is
/// faster (the hand-off costs more than the product).
const PARALLEL_MACS: usize = 1 << 21;

/// `dst (m×n) = [dst +] a (m×k) · b (k×n)`, each factor given with its row and column strides.
#[allow(clippy::too_many_arguments)]
fn matmul(
    [m, n, k]: [usize; 3],
    dst: &mut [f32],
    accumulate: bool,
    a: &[f32],
    [a_rs, a_cs]: [usize; 2],
    b: &[f32],
    [b_rs, b_cs]: [usize; 2],
) {
    if m == 0 || n == 0 {
        return;
    }
    let last = |rs: usize, cs: usize, rows: usize, cols: usize| {
        (rows.max(1) - 1) * rs + (cols.max(1) - 1) * cs
    };
    assert!(dst.len() >= m * n, "the product's destination is too short");
    assert!(
        k == 0 || a.len() > last(a_rs, a_cs, m, k),
        "the left factor is too short"
    );
    assert!(
        k == 0 || b.len() > last(b_rs, b_cs, k, n),
        "the right factor is too short"
    );
    let parallelism = if m * n * k >= PARALLEL_MACS {
        Parallelism::Rayon(0)
    } else {
        Parallelism::None
    };
    // SAFETY: every index gemm reads or writes lies within the slices, as the asserts above
    // check for the strides given, and `dst` does not overlap `a` or `b` (a `&mut` borrow).
    unsafe {
        gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            a.as_ptr(),
            a_cs as isize,
            a_rs as isize,
            b.as_ptr(),
            b_cs as isize,
            b_rs as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            parallelism,
        );
    }
}

/// The `im2col` matrix of one sample `x` (`[in_channels, plane]`, one group): a row per input
/// channel and kernel tap, a column per output pixel; taps outside the map are 0.
fn im2col(g: &Geometry, runs: &[Run], x: &[f32], col: &mut [f32]) {
    let (plane, taps, out_plane) = (g.in_plane(), g.taps(), g.out_plane());
    col.fill(0.0);
    for c in 0..g.in_channels {
        let channel = &x[c * plane..(c + 1) * plane];
        for r in runs {
            let row = &mut col[(c * taps + r.tap) * out_plane..][..out_plane];
            gather_add(
                &mut row[r.output_at..r.output_at + r.len],
                &channel[r.input_at..],
                1.0,
                g.stride[1],
            );
        }
    }
}

/// Adds the `im2col`-shaped `col` back into one sample's input gradient `dx`.
fn col2im(g: &Geometry, runs: &[Run], col: &[f32], dx: &mut [f32]) {
    let (plane, taps, out_plane) = (g.in_plane(), g.taps(), g.out_plane());
    for c in 0..g.in_channels {
        let channel = &mut dx[c * plane..(c + 1) * plane];
        for r in runs {
            let row = &col[(c * taps + r.tap) * out_plane..][..out_plane];
            scatter_add(
                &mut channel[r.input_at..],
                &row[r.output_at..r.output_at + r.len],
                1.0,
                g.stride[1],
            );
        }
    }
}

/// The `im2col` scratch of one task: empty for a 1×1 convolution, which needs none.
fn col_scratch(g: &Geometry) -> impl Fn() -> Vec<f32> + Sync + Send {
    let len = if g.is_pointwise() {
        0
    } else {
        g.in_channels * g.taps() * g.out_plane()
    };
    move || vec![0.0; len]
}

/// The convolution of `x` by `weight` plus `bias`: the output, `[batch, out_channels, output]`.
pub fn forward(g: &Geometry, x: &[f32], weight: &[f32], bias: &[f32]) -> Vec<f32> {
    if g.is_depthwise() {
        return depthwise::forward(g, x, weight, bias);
    }
    let (in_plane, out_plane) = (g.in_plane(), g.out_plane());
    let mut y = vec![0.0; g.batch * g.out_channels * out_plane];
    let runs = g.runs();
    if g.groups == 1 {
        // Per sample: y (out_channels × plane) = bias + W (out_channels × rows) · col.
        let (rows, in_size) = (g.in_channels * g.taps(), g.in_channels * in_plane);
        let sample = |n: usize, y: &mut [f32], col: &mut Vec<f32>| {
            for (channel, &b) in y.chunks_mut(out_plane).zip(bias) {
                channel.fill(b);
            }
            let x = &x[n * in_size..(n + 1) * in_size];
            let cols: &[f32] = if g.is_pointwise() {
                x
            } else {
                im2col(g, &runs, x, col);
                col
            };
            let shape = [g.out_channels, out_plane, rows];
            matmul(shape, y, true, weight, [rows, 1], cols, [out_plane, 1]);
        };
        let out_size = g.out_channels * out_plane;
        for_each_chunk(&mut y, out_size, g.macs(), col_scratch(g), sample);
    } else {
        // Per sample and output channel: the bias, then each input channel of its group
        // through every run of the kernel.
        let (cin, cout, taps) = (g.group_inputs(), g.group_outputs(), g.taps());
        let channel = |task: usize, y: &mut [f32], _: &mut ()| {
            let (n, oc) = (task / g.out_channels, task % g.out_channels);
            y.fill(bias[oc]);
            for i in 0..cin {
                let x = &x[(n * g.in_channels + oc / cout * cin + i) * in_plane..][..in_plane];
                let w = &weight[(oc * cin + i) * taps..][..taps];
                for r in &runs {
                    let out = &mut y[r.output_at..r.output_at + r.len];
                    gather_add(out, &x[r.input_at..], w[r.tap], g.stride[1]);
                }
            }
        };
        for_each_chunk(&mut y, out_plane, g.macs(), || (), channel);
    }
    y
}

/// The gradient of the input from the weight and the output's gradient `dy`.
pub fn input_gradient(g: &Geometry, weight: &[f32], dy: &[f32]) -> Vec<f32> {
    if g.is_depthwise() {
        return depthwise::input_gradient(g, weight, dy);
    }
    let (in_plane, out_plane) = (g.in_plane(), g.out_plane());
    let mut dx = vec![0.0; g.batch * g.in_channels * in_plane];
    let runs = g.runs();
    let out_size = g.out_channels * out_plane;
    if g.groups == 1 {
        // Per sample: col = Wᵀ (rows × out_channels) · dy (out_channels × plane), into dx.
        let rows = g.in_channels * g.taps();
        let sample = |n: usize, dx: &mut [f32], col: &mut Vec<f32>| {
            let dy = &dy[n * out_size..(n + 1) * out_size];
            let shape = [rows, out_plane, g.out_channels];
            if g.is_pointwise() {
                matmul(shape, dx, false, weight, [1, rows], dy, [out_plane, 1]);
            } else {
                matmul(shape, col, false, weight, [1, rows], dy, [out_plane, 1]);
                col2im(g, &runs, col, dx);
            }
        };
        let in_size = g.in_channels * in_plane;
        for_each_chunk(&mut dx, in_size, g.macs(), col_scratch(g), sample);
    } else {
        // Per sample and group: each input channel gathers from every output channel of the
        // group, through every run of the kernel.
        let (cin, cout, taps) = (g.group_inputs(), g.group_outputs(), g.taps());
        let group = |task: usize, dx: &mut [f32], _: &mut ()| {
            let (n, group) = (task / g.groups, task % g.groups);
            for o in 0..cout {
                let oc = group * cout + o;
                let dy = &dy[(n * g.out_channels + oc) * out_plane..][..out_plane];
                for i in 0..cin {
                    let w = &weight[(oc * cin + i) * taps..][..taps];
                    let dx = &mut dx[i * in_plane..(i + 1) * in_plane];
                    for r in &runs {
                        let out = &dy[r.output_at..r.output_at + r.len];
                        scatter_add(&mut dx[r.input_at..], out, w[r.tap], g.stride[1]);
                    }
                }
            }
        };
        for_each_chunk(&mut dx, cin * in_plane, g.macs(), || (), group);
    }
    dx
}

/// Runs of samples whose weight gradients are summed apart (in parallel), then in order.
pub(super) const SUM_RUNS: usize = 8;

/// The gradient of the weight from the input `x` and the output's gradient `dy`.
pub fn weight_gradient(g: &Geometry, x: &[f32], dy: &[f32]) -> Vec<f32> {
    if g.is_depthwise() {
        return depthwise::weight_gradient(g, x, dy);
    }
    let (in_plane, out_plane) = (g.in_plane(), g.out_plane());
    let (cin, taps) = (g.group_inputs(), g.taps());
    let size = g.out_channels * cin * taps;
    let runs = g.runs();
    if g.groups == 1 {
        // dW (out_channels × rows) += dy (out_channels × plane) · colᵀ (plane × rows) over the
        // samples of each of a fixed number of runs of samples, then the runs' sums in order:
        // the same sums in the same order on every call, however the threads are scheduled.
        let rows = g.in_channels * taps;
        let (in_size, out_size) = (g.in_channels * in_plane, g.out_channels * out_plane);
        let per_run = g.batch.div_ceil(SUM_RUNS).max(1);
        let scratch = col_scratch(g);
        let partial = |run: usize| {
            let mut dw = vec![0.0; size];
            let mut col = scratch();
            for n in run * per_run..((run + 1) * per_run).min(g.batch) {
                let x = &x[n * in_size..(n + 1) * in_size];
                let cols: &[f32] = if g.is_pointwise() {
                    x
                } else {
                    im2col(g, &runs, x, &mut col);
                    &col
                };
                let dy = &dy[n * out_size..(n + 1) * out_size];
                let shape = [g.out_channels, rows, out_plane];
                matmul(
                    shape,
                    &mut dw,
                    true,
                    dy,
                    [out_plane, 1],
                    cols,
                    [1, out_plane],
                );
            }
            dw
        };
        let mut dw = vec![0.0; size];
        for part in map(g.batch.div_ceil(per_run), g.macs(), partial) {
            dw.iter_mut().zip(part).for_each(|(a, b)| *a += b);
        }
        dw
    } else {
        // Per output channel: its filter summed over the samples, run by run.
        let cout = g.group_outputs();
        let mut dw = vec![0.0; size];
        let filter = |oc: usize, dw: &mut [f32], _: &mut ()| {
            for n in 0..g.batch {
                let dy = &dy[(n * g.out_channels + oc) * out_plane..][..out_plane];
                for i in 0..cin {
                    let x = &x[(n * g.in_channels + oc / cout * cin + i) * in_plane..];
                    let dw = &mut dw[i * taps..(i + 1) * taps];
                    for r in &runs {
                        let out = &dy[r.output_at..r.output_at + r.len];
                        dw[r.tap] += strided_dot(&x[r.input_at..], out, g.stride[1]);
                    }
                }
            }
        };
        for_each_chunk(&mut dw, cin * taps, g.macs(), || (), filter);
        dw
    }
}

/// The gradient of the bias: the output's gradient summed over samples and pixels.
pub fn bias_gradient(g: &Geometry, dy: &[f32]) -> Vec<f32> {
    let plane = g.out_plane();
    let mut db = vec![0.0; g.out_channels];
    for sample in dy.chunks(g.out_channels * plane) {
        for (d, channel) in db.iter_mut().zip(sample.chunks(plane)) {
            *d += channel.iter().sum::<f32>();
        }
    }
    db
}
