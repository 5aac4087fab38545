//! int8 depthwise convolutions of a square odd kernel (3×3, 5×5, 7×7) and stride 1 or 2 on a
//! padded plane of 16-bit lanes, with the DSP extension's dual multiply-accumulates.
//!
//! Channel by channel, the input plane is written into scratch as 16-bit values with the
//! padding around it (the zero point, written once per op; the taps times the zero point come
//! off the bias), so that no output pixel needs a border test. Two neighbouring output pixels
//! of a row are then computed together: per
//! kernel row, one pair of words holds the four input values `p0..p3` they read, and with the
//! row's weights packed as `(w0, w1)` and `(w1, w2)`, four instructions make both pixels' six
//! multiply-accumulates:
//!
//! ```text
//! a0 += p0·w0 + p1·w1  (SMLAD)     a0 += p2·w2        (SMLABT)
//! a1 += p1·w0          (SMLATB)    a1 += p2·w1 + p3·w2 (SMLAD)
//! ```
//!
//! At stride 2 the pair reads five inputs `p0..p4` a kernel row, and with the weights packed as
//! `(w0, w1)` and `(w2, 0)`: `a0 += p0·w0 + p1·w1` and `a1 += p2·w0 + p3·w1` (`SMLAD`),
//! `a0 += p2·w2` and `a1 += p4·w2` (`SMLABB`).
//!
//! A kernel of 2h + 1 columns does the same with h + 1 words a kernel row (h + 2 at stride 2):
//! at stride 1 the weights packed as `(w0, w1) … (w2h−2, w2h−1)` for the first pixel and `(w1,
//! w2) … (w2h−1, w2h)` for the second, at stride 2 as `(w0, w1) … (w2h−2, w2h−1), (w2h, 0)`
//! for both, a word further for the second: 2h + 2 instructions for 4h + 2 MACs.
//!
//! A 3×3 kernel's rows run in assembly ([`depthwise_rows`]); a larger one's, and a row of odd
//! width's last pixel (as a pair with a column of the padding, keeping one), in Rust on the
//! same instructions. The scratch ([`scratch_bytes`]) is laid out by the planner like a
//! tensor that lives for one op. Results equal the portable kernel's exactly.

use super::Map;
use super::dsp::{
    DepthwiseFrame, depthwise_rows, every_byte, smlabb, smlabt, smlad, smlatb, sxtb16, sxtb16_ror8,
    widen_rows,
};
use super::int8::{OutputChannel, Weighted, Zeros, output_channels};
use crate::blob::OpRecord;

/// The largest kernel (rows and columns) the plane kernel runs: 7×7.
const LARGEST: usize = 7;

/// The rows and columns of the padded plane a depthwise convolution of `kernel` and `stride`
/// with `output_plane` (height, width) runs on, or `None` for a convolution this kernel does
/// not run (only a square kernel of 3, 5 or 7 and a stride of 1 or 2 in both directions): the
/// rows the outputs' windows cover, and the columns of every pair of outputs' windows, a pair
/// starting on a word (so a column more than the padded input when the output's width is
/// odd). Input rows below the last window (a stride-2 map without padding) are not copied.
pub fn plane(
    kernel: [usize; 2],
    stride: [usize; 2],
    output_plane: [usize; 2],
) -> Option<[usize; 2]> {
    let [height, width] = output_plane;
    let k = kernel[0];
    if kernel[1] != k || k.is_multiple_of(2) || !(3..=LARGEST).contains(&k) {
        return None;
    }
    match stride {
        [1, 1] => Some([height + k - 1, width.next_multiple_of(2) + k - 1]),
        [2, 2] => Some([2 * height + k - 2, 2 * width.next_multiple_of(2) + k - 1]),
        _ => None,
    }
}

/// Scratch bytes of an int8 depthwise convolution with a padded plane of `rows × columns`
/// 16-bit values ([`plane`]).
pub fn scratch_bytes([rows, columns]: [usize; 2]) -> usize {
    rows * columns * 2
}

/// Two int8 values as the 16-bit lanes of a word: `lo` in lane 0, `hi` in lane 1.
fn pack(lo: i8, hi: i8) -> u32 {
    lo as i16 as u16 as u32 | (hi as i16 as u16 as u32) << 16
}

/// A kernel row's 2h + 1 taps as `N` = 2h words the way a pair's MACs take them: at stride 1
/// `(w0, w1) … (w2h−2, w2h−1)` for the first pixel, then `(w1, w2) … (w2h−1, w2h)` for the
/// second; at stride 2 `(w0, w1) … (w2h−2, w2h−1)`, then `(w2h, 0)`, for both.
fn row_weights<const N: usize>(taps: &[i8], stride: usize) -> [u32; N] {
    let (h, taps) = (N / 2, &taps[..N + 1]);
    let mut words = [0; N];
    for m in 0..h {
        words[m] = pack(taps[2 * m], taps[2 * m + 1]);
        words[h + m] = match stride {
            1 => pack(taps[2 * m + 1], taps[2 * m + 2]),
            _ if m == 0 => pack(taps[2 * h], 0),
            _ => 0,
        };
    }
    words
}

/// A depthwise convolution of a 3×3, 5×5 or 7×7 kernel and stride 1 or 2 on its padded
/// `plane` ([`plane`]: rows and columns) in `scratch` ([`scratch_bytes`] of it).
#[allow(clippy::too_many_arguments)]
pub fn depthwise_on_plane(
    op: &OpRecord,
    plane: [usize; 2],
    input: Map,
    output: Map,
    x: &[i8],
    c: &Weighted,
    z: Zeros,
    scratch: &mut [u32],
    out: &mut [i8],
) {
    let run = match op.geometry.kernel[0] {
        3 => channels::<3, 2>,
        5 => channels::<5, 4>,
        _ => channels::<7, 6>,
    };
    run(op, plane, input, output, x, c, z, scratch, out)
}

/// [`depthwise_on_plane`] of a `K` × `K` kernel, channel by channel (`N` = K − 1 words of
/// weights a kernel row).
// Not inlined: its per-channel loop then has a frame of its own, not the engine's whole
// dispatch's spilled one (measured on DS-CNN: 3.162 to 3.160 instructions per MAC, a small gain).
#[inline(never)]
#[allow(clippy::too_many_arguments)]
fn channels<const K: usize, const N: usize>(
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
    let words = columns / 2;
    let plane = &mut scratch[..rows * words];
    // The padding holds the zero point: written once, never overwritten.
    plane.fill(pack(z.a as i8, z.a as i8));
    let [ph, pw] = op.geometry.padding.map(usize::from);
    let stride = usize::from(op.geometry.stride[0]);
    let (width, pairs) = (output.width, output.width.div_ceil(2));
    // The input rows some window reads (at stride 2 a last row below them all is left out).
    let copied = input.height.min(rows.saturating_sub(ph));
    let channels = c
        .weights
        .chunks_exact(K * K)
        .zip(x.chunks_exact(input.plane()))
        .zip(output_channels(op, c, z.y))
        .enumerate();
    for (ch, ((taps, map), finish)) in channels {
        if copied > 0 {
            fill(
                plane,
                columns,
                &map[..copied * input.width],
                input.width,
                [ph, pw],
            );
        }
        // The plane holds the values, not their difference from the zero point: the sum of
        // the taps times the zero point comes off the start, the same for every output.
        let start = taps
            .iter()
            .fold(0i32, |a, &w| a.wrapping_sub(z.a.wrapping_mul(w as i32)));
        let weights: [[u32; N]; K] =
            core::array::from_fn(|r| row_weights::<N>(&taps[r * K..], stride));
        let y = &mut out[ch * output.plane()..][..output.plane()];
        let rows = output.height;
        let ran = match finish.requantizer.folded(finish.zero) {
            Some(f) if K == 3 && rows > 0 && width > 1 => {
                let mut frame = DepthwiseFrame {
                    weights: core::array::from_fn(|r| [weights[r][0], weights[r][1]]),
                    bias: finish.bias.wrapping_add(start),
                    multiplier: f.multiplier,
                    round: f.round,
                    shift: f.shift,
                    min: every_byte(finish.min),
                    max: every_byte(finish.max),
                    skip: (4 * stride * (words - pairs)) as u32,
                    pairs: (width / 2) as u32,
                    rows: rows as u32,
                    odd: (width % 2) as u32,
                };
                match stride {
                    1 => depthwise_rows::<1>(plane, words, &mut frame, y),
                    _ => depthwise_rows::<2>(plane, words, &mut frame, y),
                }
            }
            _ => false,
        };
        if !ran {
            let rows = Rows {
                plane,
                words,
                stride,
                weights: &weights,
                start,
            };
            rows.channel(&finish, y, width);
        }
    }
}

/// One channel's padded plane and the packed weights of its `K` kernel rows, for
/// [`Rows::channel`].
struct Rows<'a, const K: usize, const N: usize> {
    /// The plane: rows of `words` words.
    plane: &'a [u32],
    words: usize,
    /// 1 or 2.
    stride: usize,
    /// Per kernel row, its weights ([`row_weights`]).
    weights: &'a [[u32; N]; K],
    /// Where each accumulator starts: the taps times the zero point, negated.
    start: i32,
}

impl<const K: usize, const N: usize> Rows<'_, K, N> {
    /// The outputs of the channel (rows of `width` in `y`) under a kernel of `K` × `K`, a
    /// pair of pixels at a time: where [`depthwise_rows`] does not run (every kernel but a
    /// 3×3 whose requantisation folds).
    // Not inlined: the loop then has the registers to itself.
    #[inline(never)]
    fn channel(&self, finish: &OutputChannel, y: &mut [i8], width: usize) {
        let (h, stride, words) = (K / 2, self.stride, self.words);
        for (oy, row) in y.chunks_exact_mut(width).enumerate() {
            let kernel_rows: [&[u32]; K] =
                core::array::from_fn(|r| &self.plane[(stride * oy + r) * words..][..words]);
            for (j, pair) in row.chunks_mut(2).enumerate() {
                let (mut a0, mut a1) = (self.start, self.start);
                for (p, w) in kernel_rows.iter().zip(self.weights) {
                    if stride == 1 {
                        let p = &p[j..][..h + 1];
                        for m in 0..h {
                            a0 = smlad(p[m], w[m], a0);
                        }
                        a0 = smlabt(p[h], w[2 * h - 1], a0);
                        a1 = smlatb(p[0], w[0], a1);
                        for m in 1..=h {
                            a1 = smlad(p[m], w[h + m - 1], a1);
                        }
                    } else {
                        let p = &p[2 * j..][..h + 2];
                        for m in 0..h {
                            a0 = smlad(p[m], w[m], a0);
                            a1 = smlad(p[m + 1], w[m], a1);
                        }
                        a0 = smlabb(p[h], w[h], a0);
                        a1 = smlabb(p[h + 1], w[h], a1);
                    }
                }
                pair[0] = finish.finish(a0);
                if let Some(second) = pair.get_mut(1) {
                    *second = finish.finish(a1);
                }
            }
        }
    }
}

/// Writes channel `map` (rows of `width`) into `plane` (rows of `columns` 16-bit values, two a
/// word), `padding` rows and columns in from its corner: 4 values at a time, unpacked with
/// `SXTB16` and written as two words, then the row's last 0–3 one by one (in assembly on a
/// Cortex-M: [`widen_rows`]).
// Not inlined: its loops then have the registers to themselves.
#[inline(never)]
fn fill(plane: &mut [u32], columns: usize, map: &[i8], width: usize, [ph, pw]: [usize; 2]) {
    let bytes: &mut [u8] = bytemuck::cast_slice_mut(plane);
    let bytes = &mut bytes[2 * (ph * columns + pw)..];
    if widen_rows(map, width, map.len() / width, bytes, 2 * columns) {
        return;
    }
    let rows = bytes.chunks_mut(2 * columns);
    for (dst, src) in rows.zip(map.chunks_exact(width)) {
        let (groups, tail) = src.as_chunks::<4>();
        let (dst_groups, dst_tail) = dst[..2 * width].split_at_mut(8 * groups.len());
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

    #[test]
    fn depthwise_on_the_plane_equals_the_portable_kernel() {
        let mut rng = Rng(0x2545_f491_4f6c_dd1d);
        let mut informative = 0;
        // Kernels 3×3, 5×5 and 7×7, strides 1 and 2 (every pairing: 2 and 3 are coprime),
        // padding 0 to half the kernel, odd and even heights and widths, maps from 1×1 up.
        for case in 0..600 {
            let (k, stride) = ([3, 5, 7][case % 3], 1 + case % 2);
            let pad = rng.below(k / 2 + 1);
            let channels = 2 + rng.below(6);
            let least = k.saturating_sub(2 * pad).max(1);
            let input = Map {
                channels,
                height: least + rng.below(8),
                width: least + rng.below(11),
            };
            let size = |n: usize| (n + 2 * pad - k) / stride + 1;
            let output = Map {
                channels,
                height: size(input.height),
                width: size(input.width),
            };
            let mut op = record(OpKind::Conv, k, stride, pad);
            op.geometry.groups = channels as u16;
            let shape = OpShape::of(&op, DType::Int8, input, output);
            let plane = shape.depthwise_plane().expect("a plane");
            let owned = Constants::random(&mut rng, channels, k * k, -500..500, 31..37);
            let c = owned.weighted();
            let z = rng.zeros();
            let x = rng.bytes(channels * input.plane());
            let mut want = vec![0i8; channels * output.plane()];
            conv_portable(&op, input, output, &x, &c, z, &mut want);
            let mut got = vec![0i8; want.len()];
            // Scratch full of junk: the kernel writes the padding itself.
            let mut scratch = vec![u32::MAX; shape.scratch_bytes() / 4];
            depthwise_on_plane(&op, plane, input, output, &x, &c, z, &mut scratch, &mut got);
            assert_eq!(
                got, want,
                "case {case}: {k}×{k} {input:?} stride {stride} pad {pad}"
            );
            informative += want.iter().any(|&v| v > -100 && v < 120) as usize;
        }
        // Most cases have outputs inside the clamp: the test would pass on clamps alone.
        assert!(informative > 450, "{informative} of 600");
    }

    #[test]
    fn only_a_square_kernel_of_3_5_or_7_at_stride_1_or_2_gets_a_plane_and_its_scratch() {
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
        let f32 = OpShape {
            dtype: DType::F32,
            ..shape
        };
        // Stride 2 to 13×3 outputs: 27 rows (2 · 13 + 1) of 10 (3 rounded up to 4, times 2,
        // plus 2) values.
        let strided = OpShape {
            stride: [2, 2],
            output: Map {
                channels: 64,
                height: 13,
                width: 3,
            },
            ..shape
        };
        assert_eq!(strided.depthwise_plane(), Some([27, 10]));
        assert_eq!(strided.scratch_bytes(), 27 * 10 * 2);
        let one_way = OpShape {
            stride: [1, 2],
            ..shape
        };
        // A 5×5 gets one (2 columns and rows more than a 3×3's), a 9×9 and a 3×5 do not.
        let wide = OpShape {
            kernel: [5, 5],
            ..shape
        };
        assert_eq!(wide.depthwise_plane(), Some([29, 10]));
        let wider = OpShape {
            kernel: [9, 9],
            ..shape
        };
        let oblong = OpShape {
            kernel: [3, 5],
            ..shape
        };
        let grouped = OpShape {
            input: map(128),
            ..shape
        };
        for other in [f32, one_way, wider, oblong, grouped] {
            assert_eq!(other.depthwise_plane(), None, "{other:?}");
            assert_eq!(other.scratch_bytes(), 0, "{other:?}");
        }
    }
}
