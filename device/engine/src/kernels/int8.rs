//! int8 kernels in the ONNX QDQ / TFLite int8 convention: `real = scale × (q − zero_point)`,
//! weights symmetric per output channel, int32 accumulation, and fixed-point requantisation
//! ([`crate::requant`]) to the output's scale, then the fused activation as a clamp of the
//! int8 result (`act_min..=act_max`).

use super::{Map, OpShape, depthwise, dsp, map, packed, zip};
use crate::DType;
use crate::blob::OpRecord;
use crate::requant::{Requantizer, Rescale, div_round, requantize_narrow, round_shift, saturate};

/// The constants of an int8 Conv or Dense op: int8 weights (padded to 4 bytes), then per
/// output channel an int32 bias (at input scale × weight scale), multiplier and shift.
#[derive(Clone, Copy, Debug)]
pub struct Weighted<'a> {
    /// Weights, one filter (or row) per output channel.
    pub weights: &'a [i8],
    /// The weights and the constants stored after them: what a kernel that reads the last
    /// filter in whole groups past its end may read ([`super::dsp::filter_pairs`]).
    pub weights_and_after: &'a [i8],
    /// Biases.
    pub bias: &'a [i32],
    /// Requantisation multipliers of `input scale × weight scale / output scale`.
    pub multiplier: &'a [i32],
    /// Their shifts.
    pub shift: &'a [i32],
}

/// The constants of an int8 Affine op: per channel a multiplier, a shift and an offset, with
/// `y = round(((x − zx) × multiplier + offset) / 2^shift) + zy`.
#[derive(Clone, Copy, Debug)]
pub struct Affine<'a> {
    /// Multipliers of `a × input scale / output scale`.
    pub multiplier: &'a [i32],
    /// Shifts.
    pub shift: &'a [i32],
    /// `b / output scale × 2^shift`.
    pub offset: &'a [i32],
}

/// Zero points of an op's input(s) and output.
#[derive(Clone, Copy, Debug)]
pub struct Zeros {
    /// First input.
    pub a: i32,
    /// Second input (Add).
    pub b: i32,
    /// Output.
    pub y: i32,
}

/// What turns an accumulator of one output channel into its int8 output: the channel's bias,
/// its requantisation, the output's zero point and the fused activation's clamp.
#[derive(Clone, Copy, Debug)]
pub(super) struct OutputChannel {
    pub(super) bias: i32,
    pub(super) requantizer: Requantizer,
    pub(super) zero: i32,
    pub(super) min: i8,
    pub(super) max: i8,
}

impl OutputChannel {
    /// The int8 output of accumulator `acc`.
    #[inline(always)]
    pub(super) fn finish(&self, acc: i32) -> i8 {
        let acc = acc.wrapping_add(self.bias);
        match self.requantizer.narrow(acc) {
            Some(v) => (v + self.zero).clamp(self.min as i32, self.max as i32) as i8,
            None => saturate(
                self.requantizer.apply(acc) + self.zero as i64,
                self.min,
                self.max,
            ),
        }
    }

    /// Output channel `ch` of `op`.
    #[inline(always)]
    fn of(op: &OpRecord, c: &Weighted, zy: i32, ch: usize) -> OutputChannel {
        OutputChannel::new(op, zy, c.bias[ch], c.multiplier[ch], c.shift[ch])
    }

    #[inline(always)]
    fn new(op: &OpRecord, zy: i32, bias: i32, multiplier: i32, shift: i32) -> OutputChannel {
        OutputChannel {
            bias,
            requantizer: Requantizer::new(multiplier, shift),
            zero: zy,
            min: op.act_min,
            max: op.act_max,
        }
    }
}

/// The [`OutputChannel`]s of `op`, in order (its constants read without an index check).
#[inline]
pub(super) fn output_channels<'a>(
    op: &OpRecord,
    c: &Weighted<'a>,
    zy: i32,
) -> impl Iterator<Item = OutputChannel> + Clone + 'a {
    let op = *op;
    c.bias
        .iter()
        .zip(c.multiplier)
        .zip(c.shift)
        .map(move |((&b, &m), &s)| OutputChannel::new(&op, zy, b, m, s))
}

/// The requantisation of an op whose every channel has a shift of 33 or more, all in 32 bits
/// ([`requantize_narrow`]): what the packed kernels run per output when they can.
#[derive(Clone, Copy, Debug)]
pub(super) struct NarrowOutputs<'a> {
    bias: &'a [i32],
    multiplier: &'a [i32],
    shift: &'a [i32],
    zero: i32,
    min: i32,
    max: i32,
}

impl<'a> NarrowOutputs<'a> {
    /// `op`'s outputs, or `None` when a channel's shift is below 33.
    pub(super) fn of(op: &OpRecord, c: &Weighted<'a>, zy: i32) -> Option<NarrowOutputs<'a>> {
        c.shift.iter().all(|&s| s >= 33).then_some(NarrowOutputs {
            bias: c.bias,
            multiplier: c.multiplier,
            shift: c.shift,
            zero: zy,
            min: op.act_min as i32,
            max: op.act_max as i32,
        })
    }

    /// The int8 output of accumulator `acc` of channel `ch`: the same as [`finish`]'s.
    #[inline(always)]
    pub(super) fn finish(&self, ch: usize, acc: i32) -> i8 {
        let acc = acc.wrapping_add(self.bias[ch]);
        let v = requantize_narrow(acc, self.multiplier[ch], self.shift[ch]);
        (v + self.zero).clamp(self.min, self.max) as i8
    }
}

/// Requantisation of an accumulator of output channel `ch` (with the channel's bias) to the
/// output, clamped by the fused activation.
#[inline]
pub(super) fn finish(op: &OpRecord, c: &Weighted, zy: i32) -> impl Fn(usize, i32) -> i8 {
    move |ch, acc| OutputChannel::of(op, c, zy, ch).finish(acc)
}

/// Convolution. With the `dsp` feature, a convolution of one group runs on packed pairs
/// ([`super::packed`]) in `scratch`, and a 3×3, 5×5 or 7×7 depthwise one of stride 1 or 2 on a
/// padded plane of 16-bit values in `scratch` ([`super::depthwise`]); otherwise the portable
/// loop runs and `scratch` is unused.
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
    let shape = OpShape::of(op, DType::Int8, input, output);
    if cfg!(feature = "dsp") && op.geometry.groups == 1 {
        packed::conv(op, input, output, x, c, z, scratch, out)
    } else if let Some(plane) = shape.depthwise_plane().filter(|_| cfg!(feature = "dsp")) {
        depthwise::depthwise_on_plane(op, plane, input, output, x, c, z, scratch, out)
    } else {
        conv_portable(op, input, output, x, c, z, out)
    }
}

/// Convolution, one output element at a time (any groups).
pub(super) fn conv_portable(
    op: &OpRecord,
    input: Map,
    output: Map,
    x: &[i8],
    c: &Weighted,
    z: Zeros,
    out: &mut [i8],
) {
    let zx = z.a;
    super::conv(
        &op.geometry,
        input,
        output,
        x,
        c.weights,
        out,
        |_| 0i32,
        |a, x, w| a.wrapping_add((x as i32 - zx) * w as i32),
        finish(op, c, z.y),
    );
}

/// Fully connected layer: on packed pairs in `scratch` with the `dsp` feature
/// ([`super::packed`]), else the portable loop.
pub fn dense(op: &OpRecord, x: &[i8], c: &Weighted, z: Zeros, scratch: &mut [u32], out: &mut [i8]) {
    if cfg!(feature = "dsp") {
        packed::dense(op, x, c, z, scratch, out)
    } else {
        dense_portable(op, x, c, z, out)
    }
}

/// Fully connected layer, one output at a time.
pub(super) fn dense_portable(op: &OpRecord, x: &[i8], c: &Weighted, z: Zeros, out: &mut [i8]) {
    let zx = z.a;
    super::dense(
        x,
        c.weights,
        out,
        |_| 0i32,
        |a, x, w| a.wrapping_add((x as i32 - zx) * w as i32),
        finish(op, c, z.y),
    );
}

/// `(q − zx)` rescaled to the output of `op` (a max pool, or a ReLU of its own): its words
/// are the multiplier and shift of `round((q − zx) × multiplier / 2^shift) + zy`, clamped.
fn rescale(op: &OpRecord, z: Zeros) -> Rescale {
    let [m, shift, _] = op.words;
    Rescale::new([m, 0], [z.a, 0], shift, z.y, op.act_min, op.act_max)
}

/// Max pooling (the largest int8 value is the largest real one: scales are positive).
pub fn max_pool(op: &OpRecord, input: Map, output: Map, x: &[i8], z: Zeros, out: &mut [i8]) {
    let r = rescale(op, z);
    super::pool(
        &op.geometry,
        input,
        output,
        x,
        out,
        i8::MIN,
        i8::max,
        |m, _| r.one(m),
    );
}

/// `round(sum × multiplier / (count × 2^shift)) + zy` of a window's `sum` of `(q − zx)`.
#[inline]
fn mean(op: &OpRecord, z: Zeros, sum: i32, count: usize) -> i8 {
    let shift = op.words[1].clamp(0, crate::requant::MAX_SHIFT);
    let v = div_round(sum as i64 * op.words[0] as i64, (count as i64) << shift);
    saturate(v + z.y as i64, op.act_min, op.act_max)
}

/// Average pooling.
pub fn avg_pool(op: &OpRecord, input: Map, output: Map, x: &[i8], z: Zeros, out: &mut [i8]) {
    let zx = z.a;
    super::pool(
        &op.geometry,
        input,
        output,
        x,
        out,
        0i32,
        |a, v| a + (v as i32 - zx),
        |a, n| mean(op, z, a, n),
    );
}

/// The mean of each channel.
pub fn global_avg_pool(op: &OpRecord, input: Map, x: &[i8], z: Zeros, out: &mut [i8]) {
    for (c, y) in out.iter_mut().enumerate() {
        let plane = &x[c * input.plane()..(c + 1) * input.plane()];
        let sum = plane.iter().map(|&v| v as i32 - z.a).sum::<i32>();
        *y = mean(op, z, sum, plane.len());
    }
}

/// `round(((a − za) × ma + (b − zb) × mb) / 2^shift) + zy` with `words = [ma, mb, shift]`,
/// clamped to the fused activation.
pub fn add(op: &OpRecord, z: Zeros, out: &mut [i8], a: Option<&[i8]>, b: Option<&[i8]>) {
    let [ma, mb, shift] = op.words;
    let r = Rescale::new([ma, mb], [z.a, z.b], shift, z.y, op.act_min, op.act_max);
    let Some(high) = r.high_word() else {
        return zip(out, a, b, |x, y| r.two(x, y));
    };
    // Whole words in assembly where it can, the rest (all of it elsewhere) here.
    let done = dsp::high_word_sums(out, a, b, &high);
    let (a, b) = (a.map(|a| &a[done..]), b.map(|b| &b[done..]));
    zip(&mut out[done..], a, b, |x, y| high.two(x, y));
}

/// Per-channel affine (a batch norm of its own).
pub fn affine(
    op: &OpRecord,
    channels: usize,
    c: &Affine,
    z: Zeros,
    out: &mut [i8],
    src: Option<&[i8]>,
) {
    let inner = out.len() / channels;
    map(out, src, |i, q| {
        let ch = i / inner;
        let v = (q as i64 - z.a as i64) * c.multiplier[ch] as i64 + c.offset[ch] as i64;
        saturate(
            round_shift(v, c.shift[ch]) + z.y as i64,
            op.act_min,
            op.act_max,
        )
    });
}

/// A ReLU or ReLU6 of its own: the input rescaled to the output's quantisation and clamped.
pub fn activation(op: &OpRecord, z: Zeros, out: &mut [i8], src: Option<&[i8]>) {
    let r = rescale(op, z);
    map(out, src, |_, q| r.one(q));
}

/// Hard-swish of int8 values, as a QDQ model computes it: each value dequantised with the
/// input's `scale` and zero point, hard-swish in f32, quantised to the output's `out_scale`
/// and zero point (rounding half to even) and saturated. The same f32 operations in the same
/// order on every target, so a board gives the host's bytes.
pub fn hard_swish(scale: f32, out_scale: f32, z: Zeros, out: &mut [i8], src: Option<&[i8]>) {
    map(out, src, |_, q| {
        let x = (q as i32 - z.a) as f32 * scale;
        let y = libm::rintf(super::f32::hard_swish(x) / out_scale) as i64;
        saturate(y + z.y as i64, -128, 127)
    });
}

/// Softmax of int8 logits into f32 probabilities (as a QDQ model computes it: dequantise, then
/// a float softmax).
pub fn softmax(x: &[i8], scale: f32, zx: i32, out: &mut [f32]) {
    for (y, &q) in out.iter_mut().zip(x) {
        *y = (q as i32 - zx) as f32 * scale;
    }
    super::f32::softmax(out, None);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hard_swish_dequantises_computes_and_quantises_half_to_even() {
        // Input scale 0.1 (zero 0), output scale 0.05 (zero -10).
        let z = Zeros { a: 0, b: 0, y: -10 };
        let x = [30i8, -40, -15, 127];
        let mut y = [0i8; 4];
        hard_swish(0.1, 0.05, z, &mut y, Some(&x));
        // 3.0 → 3.0 → 60 − 10; −4.0 → 0 → −10; −1.5 → −0.375 → −7.5, to even −8, − 10;
        // 12.7 → 12.7 → 254 − 10, saturated at 127.
        assert_eq!(y, [50, -10, -18, 127]);
        // In place gives the same.
        let mut inplace = x;
        hard_swish(0.1, 0.05, z, &mut inplace, None);
        assert_eq!(inplace, y);
    }
}
