//! The kernels: loops over feature maps shared by both element types, and the arithmetic of
//! each type in [`f32`] and [`int8`].
//!
//! Feature maps are NCHW with a batch of 1, as in ONNX. The loops take their element
//! arithmetic as closures, so one loop serves f32 and int8 and the two cannot drift apart.
//! Shapes are checked when a blob is loaded ([`crate::check`]); the loops index within them.

mod depthwise;
#[allow(unsafe_code)] // Inline assembly of the DSP instructions: see the module.
mod dsp;
pub mod f32;
pub mod int8;
mod packed;
#[cfg(test)]
mod testing;

use crate::DType;
use crate::blob::{Geometry, OpKind, OpRecord};

// Public so that the host's latency predictor counts the loops the packed convolution runs
// with the kernel's own rules.
pub use packed::{border_table, column_groups, is_pointwise, pairs_fit};

/// What the choice of an op's kernel and its working memory depend on: its kind, datum type,
/// groups, window, stride and the maps it reads and writes (a dense layer's input is a map of
/// its features, 1×1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpShape {
    /// What it computes.
    pub kind: OpKind,
    /// The output's datum type.
    pub dtype: DType,
    /// Groups of a convolution (1 otherwise).
    pub groups: usize,
    /// Window height and width (1×1 for a dense layer).
    pub kernel: [usize; 2],
    /// Stride along height and width (1 for a dense layer).
    pub stride: [usize; 2],
    /// The input map.
    pub input: Map,
    /// The output map.
    pub output: Map,
}

impl OpShape {
    /// The shape of `op` (a record of the blob) from `input` to `output` with `dtype`.
    pub fn of(op: &OpRecord, dtype: DType, input: Map, output: Map) -> OpShape {
        let g = &op.geometry;
        OpShape {
            kind: op.kind,
            dtype,
            groups: usize::from(g.groups.max(1)),
            kernel: g.kernel.map(usize::from),
            stride: g.stride.map(usize::from),
            input,
            output,
        }
    }

    /// The padded plane (rows, columns) of an int8 depthwise convolution (one filter per
    /// channel, more than one channel) that [`depthwise`] runs; `None` for any other op.
    pub fn depthwise_plane(&self) -> Option<[usize; 2]> {
        let depthwise = self.kind == OpKind::Conv
            && self.dtype == DType::Int8
            && self.groups > 1
            && self.groups == self.input.channels
            && self.groups == self.output.channels;
        let output = [self.output.height, self.output.width];
        depthwise
            .then(|| depthwise::plane(self.kernel, self.stride, output))
            .flatten()
    }

    /// Bytes of working memory the op needs in the arena while it runs: the int8 convolutions
    /// of one group and the int8 dense layers gather their input into 16-bit columns
    /// ([`packed`]), the int8 depthwise ones pad a channel into 16-bit values ([`depthwise`]);
    /// nothing else needs any. The figure is the same on every target, so a blob runs
    /// anywhere; the planner places the scratch like a tensor that lives for one op.
    pub fn scratch_bytes(&self) -> usize {
        let [kh, kw] = self.kernel;
        match (self.kind, self.dtype) {
            (OpKind::Conv, DType::Int8) if self.groups == 1 => {
                packed::conv_scratch_bytes(self.input.channels * kh * kw)
            }
            (OpKind::Conv, DType::Int8) => {
                self.depthwise_plane().map_or(0, depthwise::scratch_bytes)
            }
            (OpKind::Dense, DType::Int8) => packed::dense_scratch_bytes(self.input.channels),
            _ => 0,
        }
    }
}

/// A feature map's channels, height and width.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Map {
    /// Channels.
    pub channels: usize,
    /// Height.
    pub height: usize,
    /// Width.
    pub width: usize,
}

impl Map {
    /// Elements in one channel.
    pub fn plane(&self) -> usize {
        self.height * self.width
    }
}

/// The input rows (or columns) a window at output position `o` covers: the first and the
/// end, clipped to the map, for a kernel of `k` with `stride` and `pad` (and the offset of the
/// first inside the kernel). Public so that the host's latency predictor counts the loops the
/// kernels run with the kernels' own clipping.
#[inline]
pub fn window(o: usize, k: usize, stride: usize, pad: usize, size: usize) -> (usize, usize, usize) {
    let start = (o * stride) as isize - pad as isize;
    let first = start.max(0) as usize;
    let end = ((start + k as isize).max(0) as usize).min(size);
    // Offset of `first` inside the kernel.
    (first, end.max(first), (first as isize - start) as usize)
}

/// Output columns computed together: their accumulators live on the stack, and each weight is
/// applied to the whole run of columns (a loop the compiler vectorises).
pub const COLUMNS: usize = 64;

/// The output columns `ox` in `first..end` whose input column `ox·stride + kx − pad` lies in
/// `0..width`.
#[inline]
fn columns(
    first: usize,
    end: usize,
    kx: usize,
    stride: usize,
    pad: usize,
    width: usize,
) -> (usize, usize) {
    // ox·stride + kx ≥ pad  and  ox·stride + kx − pad ≤ width − 1.
    let lo = pad.saturating_sub(kx).div_ceil(stride);
    let hi = if width + pad > kx {
        (width + pad - kx - 1) / stride + 1
    } else {
        0
    };
    (first.max(lo), end.min(hi).max(first.max(lo)))
}

/// A grouped 2-D convolution: for every output element, `finish(channel, acc)` of the
/// accumulator started at `init(channel)` and folded with `mac(acc, x, w)` over the group's
/// input channels and the window, in that order. Padding contributes nothing (zero in f32, the
/// zero point in int8). Output rows are computed [`COLUMNS`] at a time; a pointwise
/// convolution (1×1, stride 1, no padding) treats each channel as one long row.
#[allow(clippy::too_many_arguments)]
#[inline]
pub fn conv<T: Copy, A: Copy>(
    g: &Geometry,
    input: Map,
    output: Map,
    x: &[T],
    w: &[T],
    out: &mut [T],
    init: impl Fn(usize) -> A,
    mac: impl Fn(A, T, T) -> A,
    finish: impl Fn(usize, A) -> T,
) {
    let [kh, kw] = g.kernel.map(usize::from);
    let [sh, sw] = g.stride.map(usize::from);
    let [ph, pw] = g.padding.map(usize::from);
    let pointwise = kh == 1 && kw == 1 && sh == 1 && sw == 1 && ph == 0 && pw == 0;
    let (input, output) = if pointwise {
        let row = |m: Map| Map {
            channels: m.channels,
            height: 1,
            width: m.plane(),
        };
        (row(input), row(output))
    } else {
        (input, output)
    };
    let groups = usize::from(g.groups);
    let in_per_group = input.channels / groups;
    let out_per_group = output.channels / groups;
    let per_filter = in_per_group * kh * kw;
    for oc in 0..output.channels {
        let ic0 = (oc / out_per_group) * in_per_group;
        let filter = &w[oc * per_filter..(oc + 1) * per_filter];
        let out_plane = &mut out[oc * output.plane()..(oc + 1) * output.plane()];
        for oy in 0..output.height {
            let (y0, y1, ky0) = window(oy, kh, sh, ph, input.height);
            let out_row = &mut out_plane[oy * output.width..(oy + 1) * output.width];
            for first in (0..output.width).step_by(COLUMNS) {
                let end = (first + COLUMNS).min(output.width);
                let mut acc = [init(oc); COLUMNS];
                for ic in 0..in_per_group {
                    let plane = &x[(ic0 + ic) * input.plane()..(ic0 + ic + 1) * input.plane()];
                    let taps = &filter[ic * kh * kw..(ic + 1) * kh * kw];
                    for (ky, y) in (ky0..).zip(y0..y1) {
                        let row = &plane[y * input.width..(y + 1) * input.width];
                        for (kx, &wv) in taps[ky * kw..(ky + 1) * kw].iter().enumerate() {
                            let (lo, hi) = columns(first, end, kx, sw, pw, input.width);
                            if lo == hi {
                                continue;
                            }
                            let start = lo * sw + kx - pw;
                            let acc = &mut acc[lo - first..hi - first];
                            if sw == 1 {
                                let xs = &row[start..start + (hi - lo)];
                                for (a, &xv) in acc.iter_mut().zip(xs) {
                                    *a = mac(*a, xv, wv);
                                }
                            } else {
                                for (a, &xv) in acc.iter_mut().zip(row[start..].iter().step_by(sw))
                                {
                                    *a = mac(*a, xv, wv);
                                }
                            }
                        }
                    }
                }
                for (o, &a) in out_row[first..end].iter_mut().zip(&acc) {
                    *o = finish(oc, a);
                }
            }
        }
    }
}

/// A fully connected layer: `out[o] = finish(o, fold of mac over x and row o of w)`.
#[inline]
pub fn dense<T: Copy, A: Copy>(
    x: &[T],
    w: &[T],
    out: &mut [T],
    init: impl Fn(usize) -> A,
    mac: impl Fn(A, T, T) -> A,
    finish: impl Fn(usize, A) -> T,
) {
    let features = x.len();
    for (o, y) in out.iter_mut().enumerate() {
        let row = &w[o * features..(o + 1) * features];
        let acc = x
            .iter()
            .zip(row)
            .fold(init(o), |a, (&xv, &wv)| mac(a, xv, wv));
        *y = finish(o, acc);
    }
}

/// A pooling window over each channel: `finish(acc, count)` of `add` folded over the window's
/// elements inside the map; `count` is the number of them, or the kernel's area when the
/// geometry counts the padding.
#[allow(clippy::too_many_arguments)]
#[inline]
pub fn pool<T: Copy, A: Copy>(
    g: &Geometry,
    input: Map,
    output: Map,
    x: &[T],
    out: &mut [T],
    init: A,
    add: impl Fn(A, T) -> A,
    finish: impl Fn(A, usize) -> T,
) {
    let [kh, kw] = g.kernel.map(usize::from);
    let [sh, sw] = g.stride.map(usize::from);
    let [ph, pw] = g.padding.map(usize::from);
    for c in 0..output.channels {
        let plane = &x[c * input.plane()..(c + 1) * input.plane()];
        for oy in 0..output.height {
            let (y0, y1, _) = window(oy, kh, sh, ph, input.height);
            for ox in 0..output.width {
                let (x0, x1, _) = window(ox, kw, sw, pw, input.width);
                let mut acc = init;
                for y in y0..y1 {
                    for &v in &plane[y * input.width + x0..y * input.width + x1] {
                        acc = add(acc, v);
                    }
                }
                let count = if g.count_include_pad {
                    kh * kw
                } else {
                    (y1 - y0) * (x1 - x0)
                };
                out[(c * output.height + oy) * output.width + ox] = finish(acc, count);
            }
        }
    }
}

/// Applies `f` to every element: `out[i] = f(i, src[i])`, where `src` is `out` itself when it
/// is `None` (an op running in place).
#[inline]
pub fn map<T: Copy>(out: &mut [T], src: Option<&[T]>, f: impl Fn(usize, T) -> T) {
    match src {
        None => out.iter_mut().enumerate().for_each(|(i, v)| *v = f(i, *v)),
        Some(s) => out
            .iter_mut()
            .zip(s)
            .enumerate()
            .for_each(|(i, (o, &v))| *o = f(i, v)),
    }
}

/// `out[i] = f(a[i], b[i])`, where an input that is `None` is `out` itself (in place).
#[inline]
pub fn zip<T: Copy>(out: &mut [T], a: Option<&[T]>, b: Option<&[T]>, f: impl Fn(T, T) -> T) {
    match (a, b) {
        (Some(a), Some(b)) => {
            for ((o, &x), &y) in out.iter_mut().zip(a).zip(b) {
                *o = f(x, y);
            }
        }
        (None, Some(b)) => out.iter_mut().zip(b).for_each(|(o, &y)| *o = f(*o, y)),
        (Some(a), None) => out.iter_mut().zip(a).for_each(|(o, &x)| *o = f(x, *o)),
        (None, None) => out.iter_mut().for_each(|o| *o = f(*o, *o)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_are_clipped_to_the_map() {
        // 3-wide kernel, pad 1, stride 1, on 4 columns.
        assert_eq!(window(0, 3, 1, 1, 4), (0, 2, 1));
        assert_eq!(window(1, 3, 1, 1, 4), (0, 3, 0));
        assert_eq!(window(3, 3, 1, 1, 4), (2, 4, 0));
    }

    #[test]
    fn a_3x3_convolution_with_padding_sums_its_neighbours() {
        let g = Geometry {
            kernel: [3, 3],
            stride: [1, 1],
            padding: [1, 1],
            groups: 1,
            count_include_pad: false,
        };
        let m = Map {
            channels: 1,
            height: 3,
            width: 3,
        };
        let x = [1.0f32; 9];
        let w = [1.0f32; 9];
        let mut out = [0.0f32; 9];
        conv(
            &g,
            m,
            m,
            &x,
            &w,
            &mut out,
            |_| 0.0,
            |a, x, w| a + x * w,
            |_, a| a,
        );
        assert_eq!(out, [4.0, 6.0, 4.0, 6.0, 9.0, 6.0, 4.0, 6.0, 4.0]);
    }
}
