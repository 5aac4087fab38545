//! int8 depthwise 3×3 convolutions of stride 1 and 2 on a padded plane of 16-bit lanes, with
//! the DSP extension's dual multiply-accumulates.
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
//! A row of odd width computes its last pixel alone (in Rust, as a pair with a column of the
//! padding, keeping one). The scratch ([`scratch_bytes`]) is laid out by the planner like a
//! tensor that lives for one op. Results equal the portable kernel's exactly.

use super::Map;
use super::dsp::{
    DepthwiseFrame, depthwise_rows, every_byte, smlabb, smlabt, smlad, smlatb, sxtb16, sxtb16_ror8,
    widen_rows,
};
use super::int8::{OutputChannel, Weighted, Zeros, output_channels};
use crate::blob::OpRecord;

/// The rows and columns of the padded plane a depthwise convolution of `kernel` and `stride`
/// with `output_plane` (height, width) runs on, or `None` for a convolution this kernel does
/// not run (only 3×3 of stride 1 or 2 in both directions): the rows the outputs' windows
/// cover, and the columns of every pair of outputs' windows, a pair starting on a word (so a
/// column more than the padded input when the output's width is odd). Input rows below the
/// last window (a stride-2 map of odd height without padding) are not copied.
pub fn plane(
    kernel: [usize; 2],
    stride: [usize; 2],
    output_plane: [usize; 2],
) -> Option<[usize; 2]> {
    let [height, width] = output_plane;
    match (kernel, stride) {
        ([3, 3], [1, 1]) => Some([height + 2, width.next_multiple_of(2) + 2]),
        ([3, 3], [2, 2]) => Some([2 * height + 1, 2 * width.next_multiple_of(2) + 2]),
        _ => None,
    }
}

/// Scratch bytes of an int8 depthwise convolution with a padded plane of `rows × columns`
/// 16-bit values ([`plane`]).
pub fn scratch_bytes([rows, columns]: [usize; 2]) -> usize {
    rows * columns * 2
}

/// A depthwise 3×3 convolution of stride 1 or 2 on its padded `plane` ([`plane`]: rows and
/// columns) in `scratch` ([`scratch_bytes`] of it).
// Not inlined: its per-channel loop then has a frame of its own, not the engine's whole
// dispatch's spilled one (measured on DS-CNN: 3.162 to 3.160 instructions per MAC, a small gain).
#[inline(never)]
#[allow(clippy::too_many_arguments)]
pub fn depthwise_3x3(
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
    let pack = |lo: i8, hi: i8| lo as i16 as u16 as u32 | (hi as i16 as u16 as u32) << 16;
    // The padding holds the zero point: written once, never overwritten.
    plane.fill(pack(z.a as i8, z.a as i8));
    let [ph, pw] = op.geometry.padding.map(usize::from);
    let stride = usize::from(op.geometry.stride[0]);
    let (width, pairs) = (output.width, output.width.div_ceil(2));
    // The input rows some window reads (at stride 2 a last row below them all is left out).
    let copied = input.height.min(rows.saturating_sub(ph));
    let channels = c
        .weights
        .chunks_exact(9)
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
        // Each kernel row's weights as a pair's MACs take them: `(w0, w1)` and `(w1, w2)` at
        // stride 1, `(w0, w1)` and `(w2, 0)` at stride 2.
        let weights: [[u32; 2]; 3] = core::array::from_fn(|k| {
            let [w0, w1, w2] = [taps[3 * k], taps[3 * k + 1], taps[3 * k + 2]];
            match stride {
                1 => [pack(w0, w1), pack(w1, w2)],
                _ => [pack(w0, w1), pack(w2, 0)],
            }
        });
        let y = &mut out[ch * output.plane()..][..output.plane()];
        let rows = output.height;
        let ran = match finish.requantizer.folded(finish.zero) {
            Some(f) if rows > 0 && width > 1 => {
                let mut frame = DepthwiseFrame {
                    weights,
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
            channel(plane, words, stride, weights, start, &finish, y, width);
        }
    }
}

/// The outputs of one channel (rows of `width` in `y`) from its padded `plane` (rows of
/// `words` words) at `stride` (1 or 2) and its kernel rows' weights packed as the pair's MACs
/// take them, each accumulator from `start`: where [`depthwise_rows`] does not run.
// Not inlined: the loop then has the registers to itself.
#[inline(never)]
#[allow(clippy::too_many_arguments)]
fn channel(
    plane: &[u32],
    words: usize,
    stride: usize,
    weights: [[u32; 2]; 3],
    start: i32,
    finish: &OutputChannel,
    y: &mut [i8],
    width: usize,
) {
    for (oy, row) in y.chunks_exact_mut(width).enumerate() {
        let at = |k: usize| &plane[(stride * oy + k) * words..][..words];
        let kernel_rows = [at(0), at(1), at(2)];
        for (j, pair) in row.chunks_mut(2).enumerate() {
            let (mut a0, mut a1) = (start, start);
            for (p, [wa, wb]) in kernel_rows.iter().zip(weights) {
                if stride == 1 {
                    a0 = smlabt(p[j + 1], wb, smlad(p[j], wa, a0));
                    a1 = smlad(p[j + 1], wb, smlatb(p[j], wa, a1));
                } else {
                    let [p0, p1, p2] = [p[2 * j], p[2 * j + 1], p[2 * j + 2]];
                    a0 = smlabb(p1, wb, smlad(p0, wa, a0));
                    a1 = smlabb(p2, wb, smlad(p1, wa, a1));
                }
            }
            pair[0] = finish.finish(a0);
            if let Some(second) = pair.get_mut(1) {
                *second = finish.finish(a1);
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
    fn depthwise_3x3_equals_the_portable_kernel() {
        let mut rng = Rng(0x2545_f491_4f6c_dd1d);
        let mut informative = 0;
        // Strides 1 and 2, padding 0 to 2, odd and even heights and widths, maps from 1×1 up.
        for case in 0..400 {
            let stride = 1 + case % 2;
            let pad = rng.below(3);
            let channels = 2 + rng.below(6);
            let least = 3usize.saturating_sub(2 * pad).max(1);
            let input = Map {
                channels,
                height: least + rng.below(8),
                width: least + rng.below(11),
            };
            let size = |n: usize| (n + 2 * pad - 3) / stride + 1;
            let output = Map {
                channels,
                height: size(input.height),
                width: size(input.width),
            };
            let mut op = record(OpKind::Conv, 3, stride, pad);
            op.geometry.groups = channels as u16;
            let shape = OpShape::of(&op, DType::Int8, input, output);
            let plane = shape
                .depthwise_plane()
                .expect("a depthwise 3×3 of stride 1");
            let owned = Constants::random(&mut rng, channels, 9, -500..500, 31..37);
            let c = owned.weighted();
            let z = rng.zeros();
            let x = rng.bytes(channels * input.plane());
            let mut want = vec![0i8; channels * output.plane()];
            conv_portable(&op, input, output, &x, &c, z, &mut want);
            let mut got = vec![0i8; want.len()];
            // Scratch full of junk: the kernel writes the padding itself.
            let mut scratch = vec![u32::MAX; shape.scratch_bytes() / 4];
            depthwise_3x3(&op, plane, input, output, &x, &c, z, &mut scratch, &mut got);
            assert_eq!(
                got, want,
                "case {case}: {input:?} stride {stride} pad {pad}"
            );
            informative += want.iter().any(|&v| v > -100 && v < 120) as usize;
        }
        // Most cases have outputs inside the clamp: the test would pass on clamps alone.
        assert!(informative > 300, "{informative} of 400");
    }

    #[test]
    fn only_a_3x3_of_stride_1_or_2_gets_a_plane_and_its_scratch() {
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
        let wide = OpShape {
            kernel: [5, 5],
            ..shape
        };
        let grouped = OpShape {
            input: map(128),
            ..shape
        };
        for other in [f32, one_way, wide, grouped] {
            assert_eq!(other.depthwise_plane(), None, "{other:?}");
            assert_eq!(other.scratch_bytes(), 0, "{other:?}");
        }
    }
}
