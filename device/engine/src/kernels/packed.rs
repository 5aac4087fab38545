//! int8 convolution (one group) and dense layers on packed 16-bit pairs, the way CMSIS-NN
//! runs them on a Cortex-M with the DSP extension: [`dsp::smlad`] does two multiply-accumulates
//! per instruction.
//!
//! A convolution gathers the receptive field of two output pixels at a time ("im2col", in the
//! order of a filter's weights: channel, row, column), subtracts the input's zero point and
//! unpacks it into 16-bit lanes (padding taps become 0); then two filters at a time are dotted
//! with the two columns, so that every weight word loaded and unpacked serves two pixels and
//! every column word serves two filters: per 4 input values, 2 weight loads, 4 unpacks, 4
//! loads of column words and 8 `SMLAD`s make 16 MACs (the loop is assembly on a Cortex-M:
//! [`dsp::dot2x2_groups`]). Where it can, every pair of filters runs in one block of assembly
//! with its requantisation ([`dsp::filter_pairs`]), and a 1×1 convolution unpacks its columns
//! straight from the input ([`pointwise_pair`]). A dense layer is the same with one column,
//! its input.
//!
//! Both need working memory in the arena ([`conv_scratch_bytes`], [`dense_scratch_bytes`]),
//! which the planner places like a tensor that lives for one op. The results equal the
//! portable kernels' exactly: the same integer sums, the same requantisation.

use super::Map;
use super::dsp::{
    FilterOutputs, dot2x2_groups, filter_pairs, mac2x2, pair_windows, pointwise_columns, smlad,
    ssub16, sxtb16, sxtb16_ror8, unpack_pair, windows_3x3,
};
use super::int8::{NarrowOutputs, Weighted, Zeros, finish, output_channels};
use crate::blob::{Geometry, OpRecord};
use crate::requant::{MAX_SHIFT, Requantizer};

/// Scratch bytes of an int8 convolution whose filters have `reduction` weights: the gathered
/// bytes of two pixels, then their two unpacked columns, each of [`column_groups`] groups of 4
/// values.
pub fn conv_scratch_bytes(reduction: usize) -> usize {
    6 * 4 * column_groups(reduction)
}

/// The groups of 4 values in a convolution's column of `reduction` values: an even number,
/// as [`filter_pairs`] reads them (the lanes past the reduction are 0).
pub fn column_groups(reduction: usize) -> usize {
    2 * reduction.div_ceil(8)
}

/// Scratch bytes of an int8 dense layer with `features` inputs: one unpacked column.
pub fn dense_scratch_bytes(features: usize) -> usize {
    2 * features.next_multiple_of(4)
}

/// The little-endian word of up to 4 bytes, completed with `fill`.
#[inline]
fn word(bytes: &[u8], fill: u8) -> u32 {
    match <[u8; 4]>::try_from(bytes) {
        Ok(w) => u32::from_le_bytes(w),
        Err(_) => (0..4)
            .rev()
            .fold(0, |v, i| v << 8 | *bytes.get(i).unwrap_or(&fill) as u32),
    }
}

/// The zero point `zero` in both 16-bit lanes of a word.
fn zero_lanes(zero: i32) -> u32 {
    (zero as u16 as u32) * 0x0001_0001
}

/// The 4 values of `v` minus the zero point in both lanes of `z`, as a word of values 0 and 2
/// and a word of values 1 and 3 (what `SXTB16` and `SXTB16 ROR #8` make of a weight word).
#[inline(always)]
fn unpack(v: u32, z: u32) -> [u32; 2] {
    [ssub16(sxtb16(v), z), ssub16(sxtb16_ror8(v), z)]
}

/// `raw` minus `zero` as 16-bit lanes, 4 values at a time ([`unpack`]). A last, partial group
/// is completed with `zero`, so its extra lanes are 0.
fn lanes(raw: &[u8], zero: i32) -> impl Iterator<Item = [u32; 2]> + '_ {
    let z = zero_lanes(zero);
    let (full, rest) = raw.as_chunks::<4>();
    let last = (!rest.is_empty()).then(|| unpack(word(rest, zero as u8), z));
    full.iter()
        .map(move |&w| unpack(u32::from_le_bytes(w), z))
        .chain(last)
}

/// Writes the lanes of `raw0` and `raw1` minus `zero` ([`unpack`]) into the interleaved `cols`
/// (per group of 4 values: the even words of columns 0 and 1, then their odd words); in
/// assembly on a Cortex-M with the DSP extension ([`unpack_pair`]).
// Not inlined: inside `conv` the loop spilled its pointers (18 instructions a word, not 8).
#[inline(never)]
fn unpack_columns(raw0: &[[u8; 4]], raw1: &[[u8; 4]], zero: i32, cols: &mut [[u32; 4]]) {
    let z = zero_lanes(zero);
    if unpack_pair(raw0, raw1, z, cols) {
        return;
    }
    for ((c, w0), w1) in cols.iter_mut().zip(raw0).zip(raw1) {
        let ([e0, o0], [e1, o1]) = (
            unpack(u32::from_le_bytes(*w0), z),
            unpack(u32::from_le_bytes(*w1), z),
        );
        *c = [e0, e1, o0, o1];
    }
}

/// The last, partial weight word of a row (0-filled).
#[inline]
fn tail(row: &[u8]) -> [u8; 4] {
    word(row.as_chunks::<4>().1, 0).to_le_bytes()
}

/// Adds `w`'s 4 weights times a column's lanes `x` to `acc`.
#[inline(always)]
fn mac4(acc: i32, w: [u8; 4], x0: u32, x1: u32) -> i32 {
    let w = u32::from_le_bytes(w);
    smlad(sxtb16_ror8(w), x1, smlad(sxtb16(w), x0, acc))
}

/// Dot products of weight rows `r0` and `r1` (of one length) with the two columns interleaved
/// in `cols` (per group of 4 values: the two columns' words of values 0 and 2, then their
/// words of values 1 and 3, so that each pair lies side by side):
/// `[r0·c0, r0·c1, r1·c0, r1·c1]`.
#[inline(always)]
fn dot2x2(r0: &[u8], r1: &[u8], cols: &[[u32; 4]]) -> [i32; 4] {
    let (w0, w1) = (r0.as_chunks::<4>().0, r1.as_chunks::<4>().0);
    let mut acc = dot2x2_groups(w0, w1, cols);
    if let Some(c) = cols.get(w0.len()).filter(|_| !r0.len().is_multiple_of(4)) {
        let (t0, t1) = (u32::from_le_bytes(tail(r0)), u32::from_le_bytes(tail(r1)));
        mac2x2::<false>(&mut acc, t0, t1, c[0], c[1]);
        mac2x2::<true>(&mut acc, t0, t1, c[2], c[3]);
    }
    acc
}

/// Dot products of weight rows `r0` and `r1` with one column: `[r0·c, r1·c]`.
#[inline(never)]
fn dot2x1(r0: &[u8], r1: &[u8], col: &[[u32; 2]]) -> [i32; 2] {
    let (w0, w1) = (r0.as_chunks::<4>().0, r1.as_chunks::<4>().0);
    let (mut a0, mut a1) = (0, 0);
    for ((&w0, &w1), c) in w0.iter().zip(w1).zip(col) {
        a0 = mac4(a0, w0, c[0], c[1]);
        a1 = mac4(a1, w1, c[0], c[1]);
    }
    if let Some(c) = col.get(w0.len()).filter(|_| !r0.len().is_multiple_of(4)) {
        a0 = mac4(a0, tail(r0), c[0], c[1]);
        a1 = mac4(a1, tail(r1), c[0], c[1]);
    }
    [a0, a1]
}

/// `dst = src` for the short runs of a kernel row, without a call to `memcpy`.
#[inline]
fn copy_run(dst: &mut [u8], src: &[u8]) {
    match (dst, src) {
        ([d], [s, ..]) => *d = *s,
        ([d0, d1], [s0, s1, ..]) => (*d0, *d1) = (*s0, *s1),
        ([d0, d1, d2], [s0, s1, s2, ..]) => (*d0, *d1, *d2) = (*s0, *s1, *s2),
        (dst, src) => {
            for (d, &s) in dst.iter_mut().zip(src) {
                *d = s;
            }
        }
    }
}

/// The rows of a window `KW` wide, `width` apart in `src`, one after the other into `dst`
/// (fixed-size copies: a few loads and stores per row, no call).
#[inline]
fn copy_window<const KW: usize>(dst: &mut [u8], src: &[u8], width: usize) {
    for (ky, d) in dst.as_chunks_mut::<KW>().0.iter_mut().enumerate() {
        if let Some(s) = src.get(ky * width..ky * width + KW) {
            d.copy_from_slice(s);
        }
    }
}

/// A 3×3 window whose rows are `width` apart in `src`, into the 9 bytes of `dst`.
#[inline]
fn copy_3x3(dst: &mut [u8], src: &[u8], width: usize) {
    if let (Ok(d), Some(s)) = (<&mut [u8; 9]>::try_from(dst), src.get(..2 * width + 3)) {
        d[0..3].copy_from_slice(&s[..3]);
        d[3..6].copy_from_slice(&s[width..width + 3]);
        d[6..9].copy_from_slice(&s[2 * width..2 * width + 3]);
    }
}

/// The receptive fields of two neighbouring output pixels of a row under a 3×3 window of stride
/// 1, both inside the map, into `raw0` and `raw1`: per channel and kernel row, one 4-byte load
/// `at` the first window's corner gives both pixels' 3 taps.
/// In assembly on a Cortex-M with the DSP extension ([`pair_windows`]).
#[inline(never)]
fn gather_3x3_pair(input: Map, x: &[u8], at: usize, raw0: &mut [u8], raw1: &mut [u8]) {
    let (plane, width) = (input.plane(), input.width);
    if pair_windows(x, at, plane, width, raw0, raw1) {
        return;
    }
    let windows = raw0.chunks_exact_mut(9).zip(raw1.chunks_exact_mut(9));
    for (c, (d0, d1)) in windows.enumerate() {
        let src = &x[c * plane + at..];
        for ky in 0..3 {
            let w = word(&src[ky * width..ky * width + 4], 0).to_le_bytes();
            d0[3 * ky..3 * ky + 3].copy_from_slice(&w[..3]);
            d1[3 * ky..3 * ky + 3].copy_from_slice(&w[1..]);
        }
    }
}

/// Whether output pixels `p` and `p + 1` of `output` are neighbours in a row whose 3×3 windows
/// of stride 1 lie inside the map: then [`gather_3x3_pair`] gathers both, from the returned
/// offset of the first window's corner in a channel.
fn pair_inside(g: &Geometry, input: Map, output: Map, p: usize) -> Option<usize> {
    let (oy, ox) = (p / output.width, p % output.width);
    let [py, px] = g.padding.map(usize::from);
    let fits = g.kernel == [3, 3]
        && g.stride == [1, 1]
        && ox + 1 < output.width
        && oy >= py
        && oy - py + 3 <= input.height
        && ox >= px
        && ox - px + 4 <= input.width;
    fits.then(|| (oy - py) * input.width + ox - px)
}

/// The largest window whose border pixels [`gather`] reads through a table of taps (a DS-CNN
/// stem's 10×4 fits).
const BORDER_TAPS: usize = 64;

/// The entries of the table of taps [`gather`] builds for a border pixel of a window of
/// `taps` taps, once whatever the channels: 9 for a 3×3 window, [`BORDER_TAPS`] for one of up
/// to that many, none for a larger one (copied channel by channel instead).
pub fn border_table(taps: usize) -> usize {
    match taps {
        9 => 9,
        _ if taps <= BORDER_TAPS => BORDER_TAPS,
        _ => 0,
    }
}

/// The receptive field of a pixel whose window crosses the border, through a `table` of where
/// each tap lies in a channel: a load per tap, or the padding value `zero` for a tap outside
/// the channel (no `memset` call per channel).
#[inline(always)]
fn gather_through(table: &[u32], input: Map, x: &[u8], zero: u8, raw: &mut [u8]) {
    let plane = input.plane();
    for (dst, c) in raw.chunks_exact_mut(table.len()).zip(0..input.channels) {
        let channel = &x[c * plane..(c + 1) * plane];
        for (d, &at) in dst.iter_mut().zip(table) {
            *d = channel.get(at as usize).copied().unwrap_or(zero);
        }
    }
}

/// The receptive field of output pixel (`oy`, `ox`) in filter order, into `raw`; taps in the
/// padding get the input's zero point `zero`.
#[inline(never)]
fn gather(g: &Geometry, input: Map, x: &[u8], zero: u8, oy: usize, ox: usize, raw: &mut [u8]) {
    let [kh, kw] = g.kernel.map(usize::from);
    let y0 = (oy * usize::from(g.stride[0])) as isize - isize::from(g.padding[0]);
    let x0 = (ox * usize::from(g.stride[1])) as isize - isize::from(g.padding[1]);
    let inside = |v: isize, n: usize, k: usize| v >= 0 && v as usize + k <= n;
    let plane = input.plane();
    // The taps of the window that lie inside the map, from `lo` to `hi` along one axis.
    let clip = |start: isize, k: usize, n: usize| {
        let lo = (-start).clamp(0, k as isize) as usize;
        let hi = (n as isize - start).clamp(lo as isize, k as isize) as usize;
        (lo, hi)
    };
    let (ky0, ky1) = clip(y0, kh, input.height);
    let (kx0, kx1) = clip(x0, kw, input.width);
    if [kh, kw] == [3, 3] {
        // In assembly on a Cortex-M with the DSP extension: per channel the padding value, then
        // the rows of the window that lie inside the map (all of them away from the border).
        let corner = (y0 + ky0 as isize) as usize * input.width + (x0 + kx0 as isize) as usize;
        let runs = [ky1 - ky0, kx1 - kx0, 3 * ky0 + kx0];
        if windows_3x3(x, corner, plane, input.width, runs, zero, raw) {
            return;
        }
    }
    if inside(y0, input.height, kh) && inside(x0, input.width, kw) && kh * kw == 1 {
        // One tap per channel: a strided gather.
        let at = y0 as usize * input.width + x0 as usize;
        for (d, &s) in raw.iter_mut().zip(x[at..].iter().step_by(plane)) {
            *d = s;
        }
        return;
    }
    if inside(x0, input.width, kw) && inside(y0, input.height, kh) {
        // The whole window inside the map: per channel, kh runs of kw bytes.
        let at = y0 as usize * input.width + x0 as usize;
        let span = (kh - 1) * input.width + kw;
        for (dst, c) in raw.chunks_exact_mut(kh * kw).zip(0..input.channels) {
            let src = &x[c * plane + at..][..span];
            match kw {
                3 if kh == 3 => copy_3x3(dst, src, input.width),
                3 => copy_window::<3>(dst, src, input.width),
                4 => copy_window::<4>(dst, src, input.width),
                5 => copy_window::<5>(dst, src, input.width),
                _ => {
                    for (d, ky) in dst.chunks_exact_mut(kw).zip(0..kh) {
                        copy_run(d, &src[ky * input.width..]);
                    }
                }
            }
        }
        return;
    }
    // The window crosses the border: per channel, the padding value everywhere, then the
    // rows and columns of the window that lie inside the map (a table of taps for windows of
    // up to BORDER_TAPS taps).
    // Where each tap lies in a channel (out of it for a padding tap), once for all channels.
    let fill = |table: &mut [u32]| {
        for ky in ky0..ky1 {
            let at = (y0 + ky as isize) as usize * input.width;
            for kx in kx0..kx1 {
                table[ky * kw + kx] = (at + (x0 + kx as isize) as usize) as u32;
            }
        }
    };
    match border_table(kh * kw) {
        9 => {
            // The usual 3×3: a table the compiler knows the length of.
            let mut table = [u32::MAX; 9];
            fill(&mut table);
            return gather_through(&table, input, x, zero, raw);
        }
        BORDER_TAPS => {
            let mut table = [u32::MAX; BORDER_TAPS];
            let table = &mut table[..kh * kw];
            fill(table);
            return gather_through(table, input, x, zero, raw);
        }
        _ => {}
    }
    for (dst, c) in raw.chunks_exact_mut(kh * kw).zip(0..input.channels) {
        dst.fill(zero);
        let channel = &x[c * plane..(c + 1) * plane];
        for ky in ky0..ky1 {
            let at = (y0 + ky as isize) as usize * input.width + (x0 + kx0 as isize) as usize;
            copy_run(&mut dst[ky * kw + kx0..ky * kw + kx1], &channel[at..]);
        }
    }
}

/// A convolution with one group, two pixels by two filters at a time (an odd last pixel or
/// filter is computed as a pair with itself). `scratch` holds [`conv_scratch_bytes`] bytes.
///
/// Where both pixels of a pair exist, the filters run in pairs in assembly with their
/// requantisation ([`filter_pairs`], over the [`column_groups`] of any reduction) when every
/// filter's requantisation folds ([`folded_outputs`]); a 1×1 convolution of stride
/// 1 without padding unpacks both pixels' columns straight from the input ([`pointwise_pair`]).
#[allow(clippy::too_many_arguments)]
pub fn conv(
    op: &OpRecord,
    input: Map,
    output: Map,
    x: &[i8],
    c: &Weighted,
    z: Zeros,
    scratch: &mut [u32],
    out: &mut [i8],
) {
    let [kh, kw] = op.geometry.kernel.map(usize::from);
    let k = input.channels * kh * kw;
    let groups = column_groups(k);
    let (raw, cols) = scratch.split_at_mut(2 * groups);
    // The gathered bytes of each pixel in whole words: the bytes past the reduction hold the
    // zero point, so that they unpack to lanes of 0.
    let (raw0, raw1) = bytemuck::cast_slice_mut::<u32, u8>(raw).split_at_mut(4 * groups);
    raw0[k..].fill(z.a as u8);
    raw1[k..].fill(z.a as u8);
    let cols: &mut [[u32; 4]] = bytemuck::cast_slice_mut(&mut cols[..4 * groups]);
    // A 1×1 convolution's columns are unpacked in whole groups of its channels: the group
    // past them, if any, stays 0.
    cols[k.div_ceil(4)..].fill([0; 4]);
    let x: &[u8] = bytemuck::cast_slice(x);
    let weights: &[u8] = bytemuck::cast_slice(c.weights);
    let readable: &[u8] = bytemuck::cast_slice(c.weights_and_after);
    let narrow = NarrowOutputs::of(op, c, z.y);
    let general = finish(op, c, z.y);
    let plane = output.plane();
    let filters = &weights[..output.channels * k];
    let g = &op.geometry;
    let zero = z.a as u8;
    let folded = folded_outputs(op, c, z.y, output.channels, k);
    let pointwise = is_pointwise(g, k);
    for p in (0..plane).step_by(2) {
        let q = (p + 1).min(plane - 1);
        let both = p + 1 < plane;
        if pointwise && both {
            pointwise_pair(x, input.plane(), p, z.a, cols);
        } else {
            let (in0, in1) = (&mut raw0[..k], &mut raw1[..k]);
            match pair_inside(g, input, output, p) {
                Some(at) => gather_3x3_pair(input, x, at, in0, in1),
                None => {
                    let w = output.width;
                    gather(g, input, x, zero, p / w, p % w, in0);
                    gather(g, input, x, zero, q / w, q % w, in1);
                }
            }
            unpack_columns(raw0.as_chunks::<4>().0, raw1.as_chunks::<4>().0, z.a, cols);
        }
        let out = &mut out[p..];
        let (paired, n) = match (&folded, &narrow) {
            (Some(f), Some(n)) if both => {
                filter_pairs(readable, k, cols, f, out, plane);
                (output.channels & !1, n)
            }
            (_, Some(n)) => (0, n),
            (_, None) => {
                every_filter(filters, k, cols, &general, out, plane, both);
                continue;
            }
        };
        // What the assembly did not compute: every filter, or an odd last one.
        if paired < output.channels {
            let rest = &filters[paired * k..];
            let out = &mut out[paired * plane..];
            every_filter(
                rest,
                k,
                cols,
                &|f, a| n.finish(paired + f, a),
                out,
                plane,
                both,
            );
        }
    }
}

/// Whether a convolution of geometry `g` with a reduction of `k` values is a 1×1 of stride 1
/// without padding over whole groups of 4 channels: [`pointwise_pair`] unpacks its columns.
pub fn is_pointwise(g: &Geometry, k: usize) -> bool {
    g.kernel == [1, 1] && g.stride == [1, 1] && g.padding == [0, 0] && k.is_multiple_of(4)
}

/// Whether [`filter_pairs`] can run `filters` filters of `k` weights: at least two filters
/// (it reads each row in [`column_groups`], into the constants after the last one).
pub fn pairs_fit(filters: usize, k: usize) -> bool {
    k > 0 && filters >= 2
}

/// The requantisation of `op`'s `filters` as [`filter_pairs`] runs it, when it can: their
/// shape fits ([`pairs_fit`]) and every filter's shift is at most [`MAX_SHIFT`] with a
/// folding requantisation ([`Requantizer::folded`]); `None` otherwise.
pub fn folded_outputs<'a>(
    op: &OpRecord,
    c: &Weighted<'a>,
    zero: i32,
    filters: usize,
    k: usize,
) -> Option<FilterOutputs<'a>> {
    let (bias, multiplier, shift) = (
        c.bias.get(..filters)?,
        c.multiplier.get(..filters)?,
        c.shift.get(..filters)?,
    );
    let folds = multiplier
        .iter()
        .zip(shift)
        .all(|(&m, &s)| s <= MAX_SHIFT && Requantizer::new(m, s).folded(zero).is_some());
    (pairs_fit(filters, k) && folds).then_some(FilterOutputs {
        bias,
        multiplier,
        shift,
        zero,
        min: op.act_min,
        max: op.act_max,
    })
}

/// The interleaved columns ([`dot2x2`]) of pixels `p` and `p + 1` of a 1×1 convolution of
/// stride 1 without padding, straight from its input `x` (channels of `plane` bytes, a
/// multiple of 4 of them), minus the zero point: per 4 channels, one halfword of each holds
/// both pixels' values, and the halfwords of channels 0 and 2 (1 and 3) side by side unpack
/// ([`sxtb16`]) into both columns' even (odd) words.
#[inline(never)]
fn pointwise_pair(x: &[u8], plane: usize, p: usize, zero: i32, cols: &mut [[u32; 4]]) {
    let z = zero_lanes(zero);
    if pointwise_columns(x, plane, p, z, cols) {
        return;
    }
    for (col, quad) in cols.iter_mut().zip(x.chunks_exact(4 * plane)) {
        let at = &quad[p..];
        let half = |c: usize| u16::from_le_bytes([at[c * plane], at[c * plane + 1]]) as u32;
        let (even, odd) = (half(0) | half(2) << 16, half(1) | half(3) << 16);
        *col = [
            ssub16(sxtb16(even), z),
            ssub16(sxtb16_ror8(even), z),
            ssub16(sxtb16(odd), z),
            ssub16(sxtb16_ror8(odd), z),
        ];
    }
}

/// The outputs of every filter (the rows of `k` bytes of `weights`; `finish(f, acc)`
/// requantises filter `f`'s) at two pixels whose columns are interleaved in `cols`, two filters
/// at a time (an odd last filter as a pair with itself): filter `f`'s go to `out[f * plane]`
/// and, when `both`, `out[f * plane + 1]`.
// Not inlined: the loop then has the registers to itself.
#[inline(never)]
fn every_filter(
    weights: &[u8],
    k: usize,
    cols: &[[u32; 4]],
    finish: &impl Fn(usize, i32) -> i8,
    out: &mut [i8],
    plane: usize,
    both: bool,
) {
    let filters = weights.len() / k;
    let row = |f: usize| &weights[f * k..(f + 1) * k];
    for f in (0..filters).step_by(2) {
        // An odd last filter is computed as a pair with itself.
        let g = (f + 1).min(filters - 1);
        let [a, b, c, d] = dot2x2(row(f), row(g), cols);
        out[f * plane] = finish(f, a);
        out[g * plane] = finish(g, c);
        if both {
            out[f * plane + 1] = finish(f, b);
            out[g * plane + 1] = finish(g, d);
        }
    }
}

/// A dense layer, two rows at a time (an odd last row as a pair with itself). `scratch` holds
/// [`dense_scratch_bytes`] bytes.
pub fn dense(op: &OpRecord, x: &[i8], c: &Weighted, z: Zeros, scratch: &mut [u32], out: &mut [i8]) {
    let k = x.len();
    let col: &mut [[u32; 2]] = bytemuck::cast_slice_mut(&mut scratch[..2 * k.div_ceil(4)]);
    for (c, l) in col.iter_mut().zip(lanes(bytemuck::cast_slice(x), z.a)) {
        *c = l;
    }
    let weights: &[u8] = bytemuck::cast_slice(c.weights);
    let row = |o: usize| &weights[o * k..(o + 1) * k];
    let mut channels = output_channels(op, c, z.y);
    let rows = out.len();
    for (o, pair) in (0..rows).step_by(2).zip(out.chunks_mut(2)) {
        let od = (o + 1).min(rows - 1);
        let [a, b] = dot2x1(row(o), row(od), col);
        for (y, acc) in pair.iter_mut().zip([a, b]) {
            if let Some(channel) = channels.next() {
                *y = channel.finish(acc);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use std::vec;

    use super::*;
    use crate::blob::OpKind;
    use crate::kernels::int8::{conv_portable, dense_portable};
    use crate::kernels::testing::{Constants, Rng, record};

    #[test]
    fn packed_kernels_equal_the_portable_ones() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let mut informative = 0;
        for case in 0..300 {
            let kernel: usize = [1, 3, 5][rng.below(3)];
            let stride = 1 + rng.below(2);
            let pad = rng.below(kernel.div_ceil(2) + 1);
            let input = Map {
                channels: 1 + rng.below(9),
                height: kernel.saturating_sub(2 * pad).max(1) + rng.below(6),
                width: kernel.saturating_sub(2 * pad).max(1) + rng.below(6),
            };
            let size = |n: usize| (n + 2 * pad - kernel) / stride + 1;
            let output = Map {
                channels: 1 + rng.below(7),
                height: size(input.height),
                width: size(input.width),
            };
            let op = record(OpKind::Conv, kernel, stride, pad);
            let k = input.channels * kernel * kernel;
            let owned = Constants::random(&mut rng, output.channels, k, -5000..5000, 31..41);
            let c = owned.weighted();
            let z = rng.zeros();
            let x = rng.bytes(input.channels * input.plane());
            let mut want = vec![0i8; output.channels * output.plane()];
            conv_portable(&op, input, output, &x, &c, z, &mut want);
            let mut got = vec![0i8; want.len()];
            let mut scratch = vec![0u32; conv_scratch_bytes(k) / 4];
            conv(&op, input, output, &x, &c, z, &mut scratch, &mut got);
            assert_eq!(got, want, "conv case {case}: {op:?} {input:?} {output:?}");
            informative += want.iter().any(|&v| v > -100 && v < 120) as usize;

            // The same constants as a dense layer over the flattened input.
            let features = k;
            let xs = rng.bytes(features);
            let dense_op = record(OpKind::Dense, 1, 1, 0);
            let mut want = vec![0i8; output.channels];
            dense_portable(&dense_op, &xs, &c, z, &mut want);
            let mut got = vec![0i8; want.len()];
            let mut scratch = vec![0u32; dense_scratch_bytes(features) / 4];
            dense(&dense_op, &xs, &c, z, &mut scratch, &mut got);
            assert_eq!(got, want, "dense case {case}");
        }
        // Most cases have outputs inside the clamp: the test would pass on clamps alone.
        assert!(informative > 200, "{informative} of 300");
    }

    #[test]
    fn filter_pairs_and_pointwise_columns_equal_the_portable_kernel() {
        let mut rng = Rng(0x6a09_e667_f3bc_c908);
        let (mut paired, mut pointwise) = (0, 0);
        // Shifts that fold: the path of filter_pairs (in assembly on a Cortex-M), with odd and
        // even planes and filter counts, and reductions of whole pairs of groups and of any
        // other length (read in whole pairs of groups into the constants after the weights).
        for case in 0..200 {
            let kernel = [1, 1, 3][rng.below(3)];
            let pad = if kernel == 1 { 0 } else { rng.below(2) };
            let side = |rng: &mut Rng| kernel - 2 * pad + rng.below(5);
            let channels = match rng.below(3) {
                0 => 1 + rng.below(7),
                _ => 8 * (1 + rng.below(3)),
            };
            let input = Map {
                channels: if kernel == 1 {
                    channels.next_multiple_of(4)
                } else {
                    channels
                },
                height: side(&mut rng),
                width: side(&mut rng),
            };
            let output = Map {
                channels: 2 + rng.below(6),
                height: input.height + 2 * pad + 1 - kernel,
                width: input.width + 2 * pad + 1 - kernel,
            };
            let op = record(OpKind::Conv, kernel, 1, pad);
            let k = input.channels * kernel * kernel;
            let owned = Constants::random(&mut rng, output.channels, k, -5000..5000, 33..40);
            let c = owned.weighted();
            let z = rng.zeros();
            paired += folded_outputs(&op, &c, z.y, output.channels, k).is_some() as usize;
            pointwise += is_pointwise(&op.geometry, k) as usize;
            let x = rng.bytes(input.channels * input.plane());
            let mut want = vec![0i8; output.channels * output.plane()];
            conv_portable(&op, input, output, &x, &c, z, &mut want);
            let mut got = vec![0i8; want.len()];
            let mut scratch = vec![u32::MAX; conv_scratch_bytes(k) / 4];
            conv(&op, input, output, &x, &c, z, &mut scratch, &mut got);
            assert_eq!(got, want, "case {case}: {op:?} {input:?} {output:?}");
        }
        assert!(
            paired > 150 && pointwise > 100,
            "{paired} paired, {pointwise} pointwise"
        );
    }
}
