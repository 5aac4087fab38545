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
        let round = (1i64 << k) + ((zero as i64) << (k + 1));
        (round.abs() < 1 << 30).then_some(Folded {
            multiplier: self.multiplier,
            round: round as i32,
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
