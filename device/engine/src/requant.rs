//! Fixed-point requantisation: an integer accumulator times a real factor, rounded to an integer.
//!
//! A real factor `r` is stored as an int32 `multiplier` and a `shift` with
//! `r ≈ multiplier / 2^shift` (`|multiplier| < 2^31`, `0 ≤ shift ≤ 62`), and
//! `requantize(acc) = round(acc × multiplier / 2^shift)` is computed exactly in 64 bits with one
//! rounding, half up. ONNX's QuantizeLinear rounds half to even: the two differ only when the
//! exact value lies on a tie, which an int8 result then misses by one step. (TFLite's
//! `MultiplyByQuantizedMultiplier` rounds twice; one rounding is closer to ONNX's real-number
//! definition that tract computes in f32.)

/// The largest shift a blob may use.
pub const MAX_SHIFT: i32 = 62;

/// `round(value / 2^shift)`, ties rounded up. `shift` must be in `0..=MAX_SHIFT` (checked when
/// a blob is loaded); other values are clamped rather than trusted.
#[inline]
pub fn round_shift(value: i64, shift: i32) -> i64 {
    let shift = shift.clamp(0, MAX_SHIFT) as u32;
    let half = (1i64 << shift) >> 1;
    value.wrapping_add(half) >> shift
}

/// `round(acc × multiplier / 2^shift)`.
#[inline]
pub fn requantize(acc: i32, multiplier: i32, shift: i32) -> i64 {
    Requantizer::new(multiplier, shift).apply(acc)
}

/// [`requantize`] by one factor, its constants read once for many accumulators (a kernel
/// makes one per output channel).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Requantizer {
    multiplier: i32,
    /// The shift, clamped to `0..=MAX_SHIFT`.
    shift: i32,
}

impl Requantizer {
    /// The requantisation by `multiplier / 2^shift`.
    #[inline(always)]
    pub fn new(multiplier: i32, shift: i32) -> Requantizer {
        Requantizer {
            multiplier,
            shift: shift.clamp(0, MAX_SHIFT),
        }
    }

    /// `round(acc × multiplier / 2^shift)`, ties rounded up.
    #[inline(always)]
    pub fn apply(&self, acc: i32) -> i64 {
        match self.narrow(acc) {
            Some(v) => v as i64,
            None => round_shift(acc as i64 * self.multiplier as i64, self.shift),
        }
    }

    /// [`Requantizer::apply`] in 32 bits, for a shift of 33 or more (`None` for a smaller
    /// one). That is the usual case, a factor below 1/4 (a conv's input scale × weight scale ÷
    /// output scale): `round(p / 2^s) = ((p >> (s − 1)) + 1) >> 1`, and for `s − 1 ≥ 32` that
    /// shift needs only the high word of the product — a multiply, two shifts and an add on a
    /// 32-bit core. The value fits 30 bits.
    #[inline(always)]
    pub fn narrow(&self, acc: i32) -> Option<i32> {
        (self.shift >= 33).then(|| requantize_narrow(acc, self.multiplier, self.shift))
    }

    /// [`Requantizer::narrow`] plus a zero point `zero` as one multiply-add and one shift:
    /// `narrow(acc) + zero = (round + hi(acc × multiplier)) >> shift`, where `hi` is the high
    /// word of the 64-bit product (`SMMLA` on a Cortex-M), with the returned
    /// `Folded`. Since `((h >> k) + 1) >> 1 = (h + 2^k) >> (k + 1)` and adding a multiple of
    /// `2^(k + 1)` commutes with that shift, `round = 2^k + zero · 2^(k + 1)` with
    /// `k = shift − 33`. `None` for a shift below 33, or when `|round| ≥ 2^30`, so that the sum
    /// never overflows (`|hi| ≤ 2^30`).
    pub fn folded(&self, zero: i32) -> Option<Folded> {
        let k = self.shift - 33;
        if k < 0 {
            return None;
        }
        // round = (2·zero + 1) · 2^k, and |round| < 2^30 exactly when |2·zero + 1| < 2^(30 − k):
        // checked without 64-bit shifts by a variable, which a 32-bit core spells out in
        // instructions (about 16 a channel in the depthwise kernel, which asks per channel).
        let unit = 2 * zero as i64 + 1;
        (k < 30 && unit.unsigned_abs() < u64::from(1u32 << (30 - k))).then(|| Folded {
            multiplier: self.multiplier,
            round: (unit as i32) << k,
            shift: (k + 1) as u32,
        })
    }
}

/// A narrow requantisation with the output's zero point folded in ([`Requantizer::folded`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Folded {
    /// The multiplier.
    pub multiplier: i32,
    /// Added to the high word of the product.
    pub round: i32,
    /// The final arithmetic shift, 1 to 30.
    pub shift: u32,
}

impl Folded {
    /// `(round + hi(acc × multiplier)) >> shift`.
    #[inline(always)]
    pub fn apply(&self, acc: i32) -> i32 {
        let high = ((acc as i64 * self.multiplier as i64) >> 32) as i32;
        (self.round + high) >> self.shift
    }
}

/// [`requantize`] for a shift of 33 or more (the caller has checked), in 32 bits: see
/// [`Requantizer::narrow`].
#[inline(always)]
pub fn requantize_narrow(acc: i32, multiplier: i32, shift: i32) -> i32 {
    let high = ((acc as i64 * multiplier as i64) >> 32) as i32;
    (high.wrapping_shr(shift.wrapping_sub(33) as u32) + 1) >> 1
}

/// The rescaling of one or two int8 inputs to an int8 output that an Add (and a ReLU of its
/// own, and a max pool) runs per element: `round_shift(Σ (qᵢ − zᵢ)·mᵢ, shift) + zero`,
/// saturated to `min..=max`. The rounding term and the inputs' zero points are folded into
/// one start value, `((start + Σ qᵢ·mᵢ) >> shift) + zero`, the same integers (no sum comes near
/// 2^63: `|Σ (qᵢ − zᵢ)·mᵢ| < 2^41`). For a shift of 10 or more (every factor below 2^21) the
/// inputs are first lifted by `2^(32 − shift)` when the shift is under 32, so that the shift
/// takes only the high word of the sum: a multiply-accumulate per input (`SMLAL` on a
/// Cortex-M) and 32-bit arithmetic after it.
#[derive(Clone, Copy, Debug)]
pub struct Rescale {
    start: i64,
    multipliers: [i32; 2],
    /// The inputs' lift (0 to 22 bits).
    lift: u32,
    /// The shift of the high word, or, when `!high`, of the whole sum.
    shift: u32,
    high: bool,
    zero: i32,
    min: i32,
    max: i32,
}

impl Rescale {
    /// The rescaling of inputs with zero points `zeros` by `multipliers / 2^shift` (the shift
    /// clamped to `0..=MAX_SHIFT`, as [`round_shift`] does) to an output with zero point
    /// `zero`, clamped to `min..=max`. A single input has a second multiplier of 0.
    pub fn new(
        multipliers: [i32; 2],
        zeros: [i32; 2],
        shift: i32,
        zero: i32,
        min: i8,
        max: i8,
    ) -> Rescale {
        let shift = shift.clamp(0, MAX_SHIFT) as u32;
        let offset: i64 = (0..2)
            .map(|i| i64::from(zeros[i]) * i64::from(multipliers[i]))
            .sum();
        let start = ((1i64 << shift) >> 1) - offset;
        let high = shift >= 10;
        let lift = if high { 32u32.saturating_sub(shift) } else { 0 };
        Rescale {
            start: start << lift,
            multipliers,
            lift,
            shift: if high { shift + lift - 32 } else { shift },
            high,
            zero,
            min: min.into(),
            max: max.into(),
        }
    }

    /// The output of inputs `a` and `b`.
    #[inline(always)]
    pub fn two(&self, a: i8, b: i8) -> i8 {
        self.finish(self.start + lifted_sum(self.multipliers, self.lift, a, b))
    }

    /// The output of a single input `q`.
    #[inline(always)]
    pub fn one(&self, q: i8) -> i8 {
        self.finish(self.start + lifted_term(q, self.multipliers[0], self.lift))
    }

    /// The rescaling as [`crate::kernels`]' assembly of an Add runs it, when its shift takes
    /// only the high word of the sum (a shift of 10 to 32): the output's zero point folded into
    /// the start value, `zero · 2³²`, so that the high word is the output before its saturation.
    /// Exact: the high word before the zero point is under 2^30 in size (`|start| < 2^61`,
    /// each lifted term under 2^60), so neither the 64-bit sum nor the 32-bit addition of the
    /// zero point can overflow. `None` for a shift over 32 or under 10.
    pub fn high_word(&self) -> Option<HighWordSum> {
        (self.high && self.shift == 0).then(|| HighWordSum {
            start: self.start + (i64::from(self.zero) << 32),
            multipliers: self.multipliers,
            lift: self.lift,
            min: self.min as i8,
            max: self.max as i8,
        })
    }

    #[inline(always)]
    fn finish(&self, sum: i64) -> i8 {
        let v = if self.high {
            ((sum >> 32) as i32) >> self.shift
        } else {
            // A factor of 2^21 or more: saturated whatever the input but 0.
            (sum >> self.shift).clamp(i32::MIN.into(), i32::MAX.into()) as i32
        };
        v.saturating_add(self.zero).clamp(self.min, self.max) as i8
    }
}

/// [`Rescale::two`] for a shift of 10 to 32 ([`Rescale::high_word`]): the output of inputs `a`
/// and `b` is the high word of `start + (a << lift)·m₀ + (b << lift)·m₁`, saturated to int8 and
/// clamped to `min..=max`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HighWordSum {
    /// The start value, with the output's zero point folded in.
    pub start: i64,
    /// The inputs' multipliers.
    pub multipliers: [i32; 2],
    /// The inputs' lift (0 to 22 bits).
    pub lift: u32,
    /// The fused activation's bounds.
    pub min: i8,
    /// See `min`.
    pub max: i8,
}

impl HighWordSum {
    /// The output of inputs `a` and `b`.
    #[inline(always)]
    pub fn two(&self, a: i8, b: i8) -> i8 {
        let high = ((self.start + lifted_sum(self.multipliers, self.lift, a, b)) >> 32) as i32;
        high.clamp(-128, 127)
            .clamp(self.min.into(), self.max.into()) as i8
    }
}

/// `(q << lift) · m`: an input's term of a [`Rescale`]'s sum.
#[inline(always)]
fn lifted_term(q: i8, m: i32, lift: u32) -> i64 {
    i64::from(i32::from(q) << lift) * i64::from(m)
}

/// `(a << lift) · m₀ + (b << lift) · m₁`: both inputs' terms of a [`Rescale`]'s sum.
#[inline(always)]
fn lifted_sum([ma, mb]: [i32; 2], lift: u32, a: i8, b: i8) -> i64 {
    lifted_term(a, ma, lift) + lifted_term(b, mb, lift)
}

/// `v` clamped to `lo..=hi`, as an int8.
#[inline]
pub fn saturate(v: i64, lo: i8, hi: i8) -> i8 {
    v.clamp(lo as i64, hi as i64) as i8
}

/// `round(n / d)` for `d > 0`, ties rounded up.
#[inline]
pub fn div_round(n: i64, d: i64) -> i64 {
    n.wrapping_add(d / 2).div_euclid(d.max(1))
}

/// One shift for several real factors, the largest that keeps every multiplier below 2^31, and
/// the multipliers: `reals[i] ≈ multipliers[i] / 2^shift`. `None` when a factor is not finite
/// or is 2^31 or more. Factors too small for the largest shift become 0.
pub fn quantize_multipliers<const N: usize>(reals: [f64; N]) -> Option<([i32; N], i32)> {
    let largest = reals
        .iter()
        .try_fold(0f64, |m, &r| r.is_finite().then(|| m.max(libm::fabs(r))))?;
    let mut shift = if largest == 0.0 {
        MAX_SHIFT
    } else {
        let (_, exponent) = libm::frexp(largest); // largest = m × 2^exponent, m in [0.5, 1)
        (31 - exponent).min(MAX_SHIFT)
    };
    loop {
        if shift < 0 {
            return None;
        }
        let scaled = reals.map(|r| libm::round(libm::ldexp(r, shift)));
        if scaled.iter().all(|s| libm::fabs(*s) < 2_147_483_648.0) {
            return Some((scaled.map(|s| s as i32), shift));
        }
        shift -= 1;
    }
}

/// [`quantize_multipliers`] for one factor.
pub fn quantize_multiplier(real: f64) -> Option<(i32, i32)> {
    quantize_multipliers([real]).map(|([m], s)| (m, s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requantize_equals_the_rounded_shift_of_the_product() {
        let mut x = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..100_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let (acc, m, shift) = (x as i32, (x >> 32) as i32, (x >> 40) as i32 % 70 - 3);
            let want = round_shift(acc as i64 * m as i64, shift);
            assert_eq!(requantize(acc, m, shift), want, "{acc} {m} {shift}");
        }
    }

    #[test]
    fn the_folded_rescale_equals_the_rounded_shift_of_the_differences() {
        let mut x = 0x6a09_e667_f3bc_c908u64;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let (mut inside, mut high_words) = (0, 0);
        for _ in 0..100_000 {
            let (r, q) = (next(), next());
            let m = [r as i32, (r >> 32) as i32];
            let bytes = q.to_le_bytes().map(|b| b as i8);
            let [a, b, za, zb, zy, lo, hi, s] = bytes;
            let shift = s as i32 % 70 - 3;
            let (lo, hi) = (lo.min(hi), lo.max(hi));
            let rescale = Rescale::new(m, [za.into(), zb.into()], shift, zy.into(), lo, hi);
            let sum = (a as i64 - za as i64) * m[0] as i64 + (b as i64 - zb as i64) * m[1] as i64;
            let want = saturate(round_shift(sum, shift) + zy as i64, lo, hi);
            assert_eq!(rescale.two(a, b), want, "{a} {b} {m:?} {shift}");
            if let Some(high) = rescale.high_word() {
                assert_eq!(high.two(a, b), want, "high word: {a} {b} {m:?} {shift}");
                high_words += 1;
            }
            let one = Rescale::new([m[0], 0], [za.into(), 0], shift, zy.into(), lo, hi);
            let sum = (a as i64 - za as i64) * m[0] as i64;
            let want_one = saturate(round_shift(sum, shift) + zy as i64, lo, hi);
            assert_eq!(one.one(a), want_one, "{a} {m:?} {shift}");
            inside += (want > lo && want < hi) as usize;
        }
        // Not every case a clamp: the arithmetic itself is compared.
        assert!(inside > 5_000, "{inside}");
        // Shifts of 10 to 32: about a sixth of them.
        assert!(high_words > 10_000, "{high_words}");
    }

    #[test]
    fn the_folded_requantisation_equals_narrow_plus_the_zero_point() {
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut folded = 0;
        for _ in 0..100_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let (acc, m) = (x as i32, (x >> 32) as i32);
            let (shift, zero) = (
                30 + (x >> 24) as u32 as i32 % 33,
                (x >> 8) as u8 as i8 as i32,
            );
            let r = Requantizer::new(m, shift);
            if let Some(f) = r.folded(zero) {
                assert_eq!(
                    f.apply(acc),
                    r.narrow(acc).unwrap() + zero,
                    "{acc} {m} {shift}"
                );
                folded += 1;
            }
        }
        // Shifts up to 54 fold with any zero point (about a third of those drawn).
        assert!(folded > 30_000, "{folded}");
        assert_eq!(Requantizer::new(1 << 30, 32).folded(0), None);
    }

    #[test]
    fn a_requantisation_folds_exactly_when_its_rounding_term_fits_30_bits() {
        let zeros = (-300..=300).chain([i32::MIN, i32::MIN + 1, i32::MAX, 1 << 20, -(1 << 20)]);
        for zero in zeros {
            for shift in 33..=MAX_SHIFT {
                let k = shift - 33;
                let round = (1i128 << k) + (i128::from(zero) << (k + 1));
                let want = (round.abs() < 1 << 30).then_some(round as i32);
                let got = Requantizer::new(1 << 30, shift).folded(zero);
                assert_eq!(got.map(|f| f.round), want, "zero {zero}, shift {shift}");
                if let Some(f) = got {
                    assert_eq!(f.shift as i32, k + 1);
                }
            }
        }
    }

    #[test]
    fn multipliers_keep_31_bits_of_the_factor() {
        for r in [0.5, 0.75, 1.0, 0.001234, 3.5, 1e-9, -0.3] {
            let (m, s) = quantize_multiplier(r).unwrap();
            let back = m as f64 / (1u64 << s) as f64;
            assert!(
                (back - r).abs() <= r.abs() * 1e-9 + 1e-18,
                "{r} -> {m}/2^{s}"
            );
        }
        assert_eq!(quantize_multiplier(0.0), Some((0, MAX_SHIFT)));
        assert!(quantize_multiplier(f64::NAN).is_none());
        assert!(quantize_multiplier(3e9).is_none());
    }

    #[test]
    fn requantisation_rounds_once_half_up() {
        let (m, s) = quantize_multiplier(0.5).unwrap();
        assert_eq!(requantize(3, m, s), 2); // 1.5 -> 2
        assert_eq!(requantize(-3, m, s), -1); // -1.5 -> -1
        assert_eq!(requantize(5, m, s), 3);
        let (m, s) = quantize_multiplier(1.0 / 3.0).unwrap();
        assert_eq!(requantize(100, m, s), 33);
        assert_eq!(requantize(-100, m, s), -33);
        assert_eq!(div_round(7, 2), 4);
        assert_eq!(div_round(-7, 2), -3);
        assert_eq!(div_round(-8, 3), -3);
    }

    #[test]
    fn a_shared_shift_fits_the_largest_factor() {
        let ([a, b], s) = quantize_multipliers([0.25, 3.0]).unwrap();
        assert_eq!(a as f64 / (1u64 << s) as f64, 0.25);
        assert_eq!(b as f64 / (1u64 << s) as f64, 3.0);
    }
}
