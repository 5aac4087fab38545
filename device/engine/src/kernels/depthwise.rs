//! int8 depthwise convolutions on a padded plane of 16-bit values, with the DSP extension's
//! dual multiply-accumulates.
//!
//! Channel by channel, the input plane is written into scratch as 16-bit values with the
//! padding around it (the zero point, written once per op; the taps times the zero point come
//! off the bias), so that no output pixel needs a border test. Any window of up to
//! [`MAX_PAIRS`] pairs of taps and strides of 1 and 2 run so, each output a sum of `SMLAD`s
//! over pairs of neighbouring taps ([`general`]). A 3×3 window of stride 1, the usual one, has
//! its own loop: two neighbouring output pixels of a row are computed together: per
//! kernel row, one pair of words holds the four input values `p0..p3` they read, and with the
//! row's weights packed as `(w0, w1)` and `(w1, w2)`, four instructions make both pixels' six
//! multiply-accumulates:
//!
//! ```text
//! a0 += p0·w0 + p1·w1  (SMLAD)     a0 += p2·w2        (SMLABT)
//! a1 += p1·w0          (SMLATB)    a1 += p2·w1 + p3·w2 (SMLAD)
//! ```
//!
//! A row of odd width computes its last pixel as a pair with a column of the padding and
//! keeps one. The scratch ([`scratch_bytes`]) is laid out by the planner like a tensor that
//! lives for one op. Results equal the portable kernel's exactly.

use super::Map;
use super::dsp::{
    DepthwiseFrame, depthwise_rows, smlabt, smlad, smlatb, sxtb16, sxtb16_ror8, widen_rows,
};
use super::int8::{OutputChannel, Weighted, Zeros, output_channels};
use crate::blob::OpRecord;

/// The most pairs of taps (a window's rows × its columns halved, rounded up) a window may have
/// to run on a padded plane: a 7×7 has 28, a DS-CNN stem's 10×4 20.
pub const MAX_PAIRS: usize = 32;

/// The rows and columns of the padded plane a depthwise convolution of `kernel` and `stride`
/// with `output_plane` (height, width) runs on: the rows and columns its windows cover, with
/// the output's width rounded up to even (a 3×3 of stride 1 computes pairs of outputs, an odd
/// width's last with a column of padding), the columns rounded up to even (rows start on a
/// word). `None` for a window of more than [`MAX_PAIRS`] pairs, a stride above 2, or (but
/// for the 3×3 of stride 1) a window larger than the `input_plane` (height, width): most of its
/// taps would fall in the padding, which the portable loop skips and the plane does not.
pub fn plane(
    kernel: [usize; 2],
    stride: [usize; 2],
    input_plane: [usize; 2],
    output_plane: [usize; 2],
) -> Option<[usize; 2]> {
    let ([kh, kw], [sh, sw], [height, width]) = (kernel, stride, output_plane);
    let inside = kh <= input_plane[0] && kw <= input_plane[1];
    let fits = kh * kw.div_ceil(2) <= MAX_PAIRS
        && (1..=2).contains(&sh)
        && (1..=2).contains(&sw)
        && (inside || is_3x3_stride_1(kernel, stride));
    let columns = if is_3x3_stride_1(kernel, stride) {
        width.next_multiple_of(2) + 2
    } else {
        // A window of an odd width reads its last pair with the column after it.
        (width.max(1) - 1) * sw + 2 * kw.div_ceil(2)
    };
    (fits && height > 0 && kh > 0 && kw > 0)
        .then(|| [(height - 1) * sh + kh, columns.next_multiple_of(2)])
}

/// Whether a window has its own loop: 3×3 of stride 1.
fn is_3x3_stride_1(kernel: [usize; 2], stride: [usize; 2]) -> bool {
    kernel == [3, 3] && stride == [1, 1]
}

/// Scratch bytes of an int8 depthwise convolution with a padded plane of `rows × columns`
/// 16-bit values ([`plane`]).
pub fn scratch_bytes([rows, columns]: [usize; 2]) -> usize {
    rows * columns * 2
}

/// A depthwise convolution on its padded `plane` ([`plane`]: rows and columns) in `scratch`
/// ([`scratch_bytes`] of it).
#[allow(clippy::too_many_arguments)]
pub fn depthwise(
    op: &OpRecord,
    [rows, columns]: [usize; 2],
    input: Map,
    output: Map,
    x: &[i8],
    c: &Weighted,
    z: Zeros,
    scratch: &mut [u32],
    out: &mut [i8],
) {
    let g = &op.geometry;
    let (kernel, stride) = (g.kernel.map(usize::from), g.stride.map(usize::from));
    let plane = &mut scratch[..rows * columns / 2];
    // The padding holds the zero point: written once, never overwritten.
    plane.fill(pack(z.a as i8, z.a as i8));
    let padding = g.padding.map(usize::from);
    // The input rows and columns the windows reach.
    let reached = [
        input.height.min(rows.saturating_sub(padding[0])),
        input.width.min(columns.saturating_sub(padding[1])),
    ];
    let channels = c
        .weights
        .chunks_exact(kernel[0] * kernel[1])
        .zip(x.chunks_exact(input.plane()))
        .zip(output_channels(op, c, z.y))
        .enumerate();
    for (ch, ((taps, map), finish)) in channels {
        fill(plane, columns, map, input.width, reached, padding);
        // The plane holds the values, not their difference from the zero point: the sum of
        // the taps times the zero point comes off the start, the same for every output.
        let start = taps
            .iter()
            .fold(0i32, |a, &w| a.wrapping_sub(z.a.wrapping_mul(w as i32)));
        let y = &mut out[ch * output.plane()..];
        let three = <&[i8; 9]>::try_from(taps).ok();
        if let Some(taps) = three.filter(|_| is_3x3_stride_1(kernel, stride)) {
            let last = ch + 1 == output.channels;
            three_by_three(plane, columns, taps, start, &finish, y, output, last);
        } else {
            let y = &mut y[..output.plane()];
            let values: &[u16] = bytemuck::cast_slice(plane);
            general(
                values,
                columns,
                taps,
                kernel,
                stride,
                start,
                &finish,
                y,
                output.width,
            );
        }
    }
}

/// Two int8 values as the two 16-bit lanes of a word.
fn pack(lo: i8, hi: i8) -> u32 {
    lo as i16 as u16 as u32 | (hi as i16 as u16 as u32) << 16
}

/// One channel of a 3×3 convolution of stride 1 into `y` (its outputs, then the next
/// channels'; `last` when there are none) from its `plane` (rows of `columns` values): in
/// assembly where the requantisation folds ([`depthwise_rows`]), else in Rust ([`channel`]).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn three_by_three(
    plane: &[u32],
    columns: usize,
    taps: &[i8; 9],
    start: i32,
    finish: &OutputChannel,
    y: &mut [i8],
    output: Map,
    last: bool,
) {
    let (words, width, pairs) = (columns / 2, output.width, output.width.div_ceil(2));
    let w01: [u32; 3] = core::array::from_fn(|k| pack(taps[3 * k], taps[3 * k + 1]));
    let w12: [u32; 3] = core::array::from_fn(|k| pack(taps[3 * k + 1], taps[3 * k + 2]));
    // An odd width's last pair writes a byte into the next row: not past the last channel.
    let rows = output.height - usize::from(last && width % 2 == 1);
    let done = match finish.requantizer.folded(finish.zero) {
        Some(f) if rows > 0 => {
            let lanes = |v: i8| u32::from_ne_bytes([v as u8; 4]);
            let mut frame = DepthwiseFrame {
                weights: core::array::from_fn(|k| [w01[k], w12[k]]),
                bias: finish.bias.wrapping_add(start),
                multiplier: f.multiplier,
                round: f.round,
                shift: f.shift,
                min: lanes(finish.min),
                max: lanes(finish.max),
                skip: (4 * (words - pairs)) as u32,
                pairs: pairs as u32,
                rows: rows as u32,
                back: width as i32 - 2 * pairs as i32,
            };
            depthwise_rows(plane, words, &mut frame, y).then_some(rows)
        }
        _ => None,
    };
    let y = &mut y[..output.plane()];
    let first = done.unwrap_or(0);
    channel(plane, words, [w01, w12], start, finish, y, width, first);
}

/// One channel of any window and stride of 1 or 2 ([`plane`]) into `y` (rows of `width`)
/// from its padded `values` (rows of `columns`): per output, per kernel row, an `SMLAD` per
/// pair of taps (an odd window's last with a weight of 0).
// Not inlined: the loop then has the registers to itself.
#[inline(never)]
#[allow(clippy::too_many_arguments)]
fn general(
    values: &[u16],
    columns: usize,
    taps: &[i8],
    [kh, kw]: [usize; 2],
    [sh, sw]: [usize; 2],
    start: i32,
    finish: &OutputChannel,
    y: &mut [i8],
    width: usize,
) {
    let half = kw.div_ceil(2);
    let mut weights = [0u32; MAX_PAIRS];
    for (w, row) in weights.chunks_exact_mut(half).zip(taps.chunks_exact(kw)) {
        for (w, t) in w.iter_mut().zip(row.chunks(2)) {
            *w = pack(t[0], t.get(1).copied().unwrap_or(0));
        }
    }
    let weights = &weights[..kh * half];
    for (oy, row) in y.chunks_exact_mut(width).enumerate() {
        for (ox, o) in row.iter_mut().enumerate() {
            let mut acc = start;
            for (ky, w) in weights.chunks_exact(half).enumerate() {
                let at = (oy * sh + ky) * columns + ox * sw;
                for (p, &w) in values[at..at + 2 * half].chunks_exact(2).zip(w) {
                    acc = smlad(p[0] as u32 | (p[1] as u32) << 16, w, acc);
                }
            }
            *o = finish.finish(acc);
        }
    }
}

/// The outputs of one channel (rows of `width` in `y`) from row `first` on, from its padded
/// `plane` (rows of `words` words) and its kernel rows' weights packed as `(w0, w1)` and
/// `(w1, w2)`, each accumulator from `start`: the rows [`depthwise_rows`] did not compute.
// Not inlined: the loop then has the registers to itself.
#[inline(never)]
#[allow(clippy::too_many_arguments)]
fn channel(
    plane: &[u32],
    words: usize,
    [w01, w12]: [[u32; 3]; 2],
    start: i32,
    finish: &OutputChannel,
    y: &mut [i8],
    width: usize,
    first: usize,
) {
    for (oy, row) in y.chunks_exact_mut(width).enumerate().skip(first) {
        let at = |k: usize| &plane[(oy + k) * words..(oy + k + 1) * words];
        let (r0, r1, r2) = (at(0), at(1), at(2));
        let windows = r0.windows(2).zip(r1.windows(2)).zip(r2.windows(2));
        for (pair, ((p0, p1), p2)) in row.chunks_mut(2).zip(windows) {
            let (mut a0, mut a1) = (start, start);
            for (k, p) in [p0, p1, p2].into_iter().enumerate() {
                a0 = smlabt(p[1], w12[k], smlad(p[0], w01[k], a0));
                a1 = smlad(p[1], w12[k], smlatb(p[0], w01[k], a1));
            }
            pair[0] = finish.finish(a0);
            if let Some(second) = pair.get_mut(1) {
                *second = finish.finish(a1);
            }
        }
    }
}

/// Writes the first `reached` rows and columns of channel `map` (rows of `width`) into `plane`
/// (rows of `columns` 16-bit values, two a word), `padding` rows and columns in from its
/// corner: 4 values at a time, unpacked with `SXTB16` and written as two words, then the row's
/// last 0–3 one by one (in assembly on a Cortex-M when the rows are whole: [`widen_rows`]).
// Not inlined: its loops then have the registers to themselves.
#[inline(never)]
fn fill(
    plane: &mut [u32],
    columns: usize,
    map: &[i8],
    width: usize,
    [rows, used]: [usize; 2],
    [ph, pw]: [usize; 2],
) {
    let bytes: &mut [u8] = bytemuck::cast_slice_mut(plane);
    let bytes = &mut bytes[2 * (ph * columns + pw)..];
    if rows == 0 || used == 0 || used == width && widen_rows(map, width, rows, bytes, 2 * columns) {
        return;
    }
    let rows = bytes
        .chunks_mut(2 * columns)
        .zip(map.chunks_exact(width).take(rows));
    for (dst, src) in rows {
        let (groups, tail) = src[..used].as_chunks::<4>();
        let (dst_groups, dst_tail) = dst[..2 * used].split_at_mut(8 * groups.len());
        for (d, s) in dst_groups.as_chunks_mut::<8>().0.iter_mut().zip(groups) {
            let (even, odd) = {
                let w = u32::from_le_bytes(s.map(|b| b as u8));
                (sxtb16(w), sxtb16_ror8(w))
            };
            // Values 0 and 1, then 2 and 3.
            let low = (even & 0xffff) | odd << 16;
            let high = (odd & 0xffff_0000) | even >> 16;
            d[..4].copy_from_slice(&low.to_le_bytes());
            d[4..].copy_from_slice(&high.to_le_bytes());
        }
        for (d, &s) in dst_tail.as_chunks_mut::<2>().0.iter_mut().zip(tail) {
            *d = (s as i16).to_le_bytes();
        }
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use std::vec;

    use super::*;
    use crate::DType;
    use crate::blob::OpKind;
    use crate::kernels::OpShape;
    use crate::kernels::int8::conv_portable;
    use crate::kernels::testing::{Constants, Rng, record};

    /// Runs `cases` random depthwise convolutions of `kernel`s and `stride`s drawn by `draw`
    /// through [`depthwise`] and the portable kernel, on maps at least `least(kernel side,
    /// padding)` high and wide; the count whose outputs are not all clamped.
    fn against_the_portable_kernel(
        rng: &mut Rng,
        cases: usize,
        draw: impl Fn(&mut Rng) -> ([usize; 2], usize, usize),
        least: impl Fn(usize, usize) -> usize,
    ) -> usize {
        let mut informative = 0;
        for case in 0..cases {
            let ([kh, kw], stride, pad) = draw(rng);
            let channels = 2 + rng.below(6);
            let input = Map {
                channels,
                height: least(kh, pad) + rng.below(7),
                width: least(kw, pad) + rng.below(9),
            };
            let size = |n: usize, k: usize| (n + 2 * pad - k) / stride + 1;
            let output = Map {
                channels,
                height: size(input.height, kh),
                width: size(input.width, kw),
            };
            let mut op = record(OpKind::Conv, 3, stride, pad);
            op.geometry.kernel = [kh as u8, kw as u8];
            op.geometry.groups = channels as u16;
            let shape = OpShape::of(&op, DType::Int8, input, output);
            let plane = shape
                .depthwise_plane()
                .expect("a depthwise window on a plane");
            let owned = Constants::random(rng, channels, kh * kw, -500..500, 31..37);
            let c = owned.weighted();
            let z = rng.zeros();
            let x = rng.bytes(channels * input.plane());
            let mut want = vec![0i8; channels * output.plane()];
            conv_portable(&op, input, output, &x, &c, z, &mut want);
            let mut got = vec![0i8; want.len()];
            // Scratch full of junk: the kernel writes the padding itself.
            let mut scratch = vec![u32::MAX; shape.scratch_bytes() / 4];
            depthwise(&op, plane, input, output, &x, &c, z, &mut scratch, &mut got);
            assert_eq!(
                got, want,
                "case {case}: {kh}x{kw}/{stride} {input:?} pad {pad}"
            );
            informative += want.iter().any(|&v| v > -100 && v < 120) as usize;
        }
        informative
    }

    #[test]
    fn depthwise_3x3_of_stride_1_equals_the_portable_kernel() {
        // Padding 0 to 2, odd and even widths, maps from 1×1 up.
        let mut rng = Rng(0x2545_f491_4f6c_dd1d);
        let draw = |r: &mut Rng| ([3, 3], 1, r.below(3));
        let least = |k: usize, pad: usize| (k + 1).saturating_sub(2 * pad).max(1);
        let informative = against_the_portable_kernel(&mut rng, 300, draw, least);
        // Most cases have outputs inside the clamp: the test would pass on clamps alone.
        assert!(informative > 200, "{informative} of 300");
    }

    #[test]
    fn depthwise_windows_of_every_shape_equal_the_portable_kernel() {
        // Windows 1–7 square, the DS-CNN stem's 10×4, strides 1 and 2, padding up to half the
        // window, maps at least as large as the window.
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let draw = |r: &mut Rng| {
            let kernel = match r.below(8) {
                7 => [10, 4],
                k => [k + 1; 2],
            };
            (kernel, 1 + r.below(2), r.below(kernel[1] / 2 + 1))
        };
        let informative = against_the_portable_kernel(&mut rng, 300, draw, |k, _| k);
        assert!(informative > 200, "{informative} of 300");
    }

    #[test]
    fn a_plane_is_for_strides_of_1_and_2_and_windows_of_up_to_32_pairs_inside_the_map() {
        let map = |channels| Map {
            channels,
            height: 25,
            width: 5,
        };
        let mut op = record(OpKind::Conv, 3, 1, 1);
        op.geometry.groups = 64;
        let shape = OpShape::of(&op, DType::Int8, map(64), map(64));
        // 27 rows of 8 (5 rounded up to 6, plus 2) 16-bit values.
        assert_eq!(shape.depthwise_plane(), Some([27, 8]));
        assert_eq!(shape.scratch_bytes(), 27 * 8 * 2);
        // Stride 2 (13 × 3 outputs): rows 12 · 2 + 3, columns 2 · 2 + 4.
        let strided = OpShape {
            stride: [2, 2],
            output: Map {
                channels: 64,
                height: 13,
                width: 3,
            },
            ..shape
        };
        assert_eq!(strided.depthwise_plane(), Some([27, 8]));
        let f32 = OpShape {
            dtype: DType::F32,
            ..shape
        };
        let stride_3 = OpShape {
            stride: [3, 3],
            ..shape
        };
        let too_wide = OpShape {
            kernel: [9, 9],
            ..shape
        };
        let grouped = OpShape {
            input: map(128),
            ..shape
        };
        // A 5×5 on a map 4 wide: most taps in the padding.
        let narrow = OpShape {
            kernel: [5, 5],
            input: Map {
                width: 4,
                ..map(64)
            },
            ..shape
        };
        for other in [f32, stride_3, too_wide, grouped, narrow] {
            assert_eq!(other.depthwise_plane(), None, "{other:?}");
            assert_eq!(other.scratch_bytes(), 0, "{other:?}");
        }
    }
}
