//! The front end's transform: an in-place complex FFT (radix 2, decimation in time) in `i32`
//! with q15 twiddles, and the split step to the power spectrum, which shares its rotation.
//! Their inner loops (the butterflies of stage 3 on, the split step's pairs of bins) are in
//! [`super::dsp`].

use super::dsp::{bin_pairs, block_butterflies, column_butterflies};

/// `⌊x · c / 2¹⁶⌋`: half of `x · c` for a q15 `c`, rounded down (`SMULWB`).
#[cfg(not(all(feature = "dsp", target_arch = "arm")))]
#[inline(always)]
fn mul_half(x: i32, c: i16) -> i32 {
    ((x as i64 * c as i64) >> 16) as i32
}

/// In-place complex FFT (radix 2, decimation in time) of the pairs (re, im) of `z`, given in
/// bit-reversed order, unscaled, with q15 twiddles: `twiddles[k]` is
/// `(cos(2πk/2n), sin(2πk/2n))` for the transform's length `n` (the table of the real
/// transform twice as long). The first two stages only add and subtract. From the third on,
/// each stage visits a twiddle once for all its butterflies where it has more blocks than
/// twiddles, else a block once for all its twiddles. (A radix-4 version, three rotations for
/// four points where two radix-2 stages take four, was 6 % slower on the Cortex-M4: its
/// butterfly needs more registers than the core has.)
#[inline(never)]
pub(super) fn fft(z: &mut [[i32; 2]], twiddles: &[[i16; 2]]) {
    let n = z.len();
    // The first two stages (twiddles 1 and −i): sums and differences only.
    for [y0, y1, y2, y3] in z.as_chunks_mut::<4>().0 {
        let (s0, s1) = (add(*y0, *y1), sub(*y0, *y1));
        let (s2, s3) = (add(*y2, *y3), sub(*y2, *y3));
        // s3 · (−i)
        let v = [s3[1], -s3[0]];
        (*y0, *y2) = (add(s0, s2), sub(s0, s2));
        (*y1, *y3) = (add(s1, v), sub(s1, v));
    }
    let mut len = 8;
    while len <= n {
        let (h, stride, blocks) = (len / 2, 2 * n / len, n / len);
        if h <= blocks {
            // Fewer twiddles than blocks: each twiddle once, for its butterfly in every block.
            for j in 0..h {
                column_butterflies(z, len, j, twiddles[j * stride]);
            }
        } else {
            // Fewer blocks than twiddles: each block once, its twiddles in order.
            for block in z.chunks_exact_mut(len) {
                block_butterflies(block, twiddles, stride);
            }
        }
        len *= 2;
    }
}

/// `|2·X[k]|² × 2^2g` of the real frame's spectrum for k = 0…m (m = n/2), each as two
/// words (low, high) of `power`, from the transform `Z` (× 2^g) of its n/2 complex samples:
/// `2X[k] = E + W^k·O`, `E = Z[k] + Z*[m−k]`, `O = −i·(Z[k] − Z*[m−k])`,
/// `W = e^(−2πi/n)`; and `2X[m−k] = (E − W^k·O)*`, so bins k and m − k share a rotation.
/// Every value fits 31 bits ([`super::headroom`]), so each square is one 32 × 32 → 64
/// multiply.
#[inline(never)]
pub(super) fn power(z: &[[i32; 2]], twiddles: &[[i16; 2]], power: &mut [i32]) {
    let m = z.len();
    let power: &mut [[i32; 2]] = &mut bytemuck::cast_slice_mut(power)[..m + 1];
    // W⁰ = 1, W^m = −1
    let (e, o) = halves(z[0], z[0]);
    power[0] = squared(add(e, o));
    power[m] = squared(sub(e, o));
    if m >= 4 {
        bin_pairs(z, twiddles, power);
    }
    // W^(m/2) = −i
    let (e, o) = halves(z[m / 2], z[m / 2]);
    power[m / 2] = squared(add(e, [o[1], -o[0]]));
}

/// `(E, O)` of bins k and m − k from `Z[k]` and `Z[m−k]` ([`power`]).
pub(super) fn halves(a: [i32; 2], b: [i32; 2]) -> ([i32; 2], [i32; 2]) {
    let b = [b[0], -b[1]];
    let d = sub(a, b);
    (add(a, b), [d[1], -d[0]])
}

/// `x₀² + x₁²` as a 64-bit value's (low, high) words.
pub(super) fn squared(x: [i32; 2]) -> [i32; 2] {
    let p = (x[0] as i64 * x[0] as i64) as u64 + (x[1] as i64 * x[1] as i64) as u64;
    [p as u32 as i32, (p >> 32) as u32 as i32]
}

/// `(a + b·W, a − b·W)`, `W = c − i·s` (q15).
#[cfg(not(all(feature = "dsp", target_arch = "arm")))]
#[inline(always)]
pub(super) fn butterfly(a: [i32; 2], b: [i32; 2], c: i16, s: i16) -> ([i32; 2], [i32; 2]) {
    let v = rotate(b, c, s);
    (add(a, v), sub(a, v))
}

/// `b·W`, `W = c − i·s` (q15), from halves rounded down: the real part's two roundings are
/// evened out by its + 1, the imaginary part's cancel.
#[cfg(not(all(feature = "dsp", target_arch = "arm")))]
#[inline(always)]
pub(super) fn rotate(b: [i32; 2], c: i16, s: i16) -> [i32; 2] {
    [
        2 * (mul_half(b[0], c) + mul_half(b[1], s) + 1),
        2 * (mul_half(b[1], c) - mul_half(b[0], s)),
    ]
}

/// `a + b`, per part.
pub(super) fn add(a: [i32; 2], b: [i32; 2]) -> [i32; 2] {
    [a[0] + b[0], a[1] + b[1]]
}

/// `a − b`, per part.
pub(super) fn sub(a: [i32; 2], b: [i32; 2]) -> [i32; 2] {
    [a[0] - b[0], a[1] - b[1]]
}

#[cfg(test)]
mod tests {
    use super::super::{headroom, q15, twiddle};
    use super::*;

    /// The transform of `x` (complex, natural order) by [`fft`], as f64.
    fn transform(x: &[[i32; 2]]) -> alloc::vec::Vec<[f64; 2]> {
        let n = x.len();
        let twiddles: alloc::vec::Vec<[i16; 2]> = (0..n)
            .map(|k| {
                let (c, s) = twiddle(k, 2 * n);
                [q15(c), q15(s)]
            })
            .collect();
        let bits = n.trailing_zeros();
        let mut z = alloc::vec![[0; 2]; n];
        for (m, &v) in x.iter().enumerate() {
            z[m.reverse_bits() >> (usize::BITS - bits)] = v;
        }
        fft(&mut z, &twiddles);
        z.iter().map(|v| [v[0] as f64, v[1] as f64]).collect()
    }

    #[test]
    fn the_fft_of_a_cosine_is_two_lines() {
        let n = 64;
        let x: alloc::vec::Vec<[i32; 2]> = (0..n)
            .map(|i| [libm::round(1000.0 * twiddle(5 * i % n, n).0) as i32, 0])
            .collect();
        for (k, v) in transform(&x).iter().enumerate() {
            let expected = if k == 5 || k == n - 5 { 32000.0 } else { 0.0 };
            assert!((v[0] - expected).abs() < 40.0, "bin {k}: {v:?}");
            assert!(v[1].abs() < 40.0, "bin {k}: {v:?}");
        }
    }

    #[test]
    fn the_fft_is_the_dft_within_a_few_units_at_every_length() {
        // A pseudo-random full-scale signal × 2^g, as a frame enters the transform.
        let mut seed = 7u32;
        for n in [8usize, 16, 32, 64, 128, 256, 512, 1024] {
            let g = headroom(n);
            let x: alloc::vec::Vec<[i32; 2]> = (0..n)
                .map(|_| {
                    let mut next = || {
                        seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                        ((seed >> 16) as i16 as i32) << g
                    };
                    [next(), next()]
                })
                .collect();
            let ours = transform(&x);
            let mut worst = 0f64;
            for (k, v) in ours.iter().enumerate() {
                let (mut re, mut im) = (0f64, 0f64);
                for (m, xm) in x.iter().enumerate() {
                    let (c, s) = twiddle(k * m % n, n);
                    re += xm[0] as f64 * c + xm[1] as f64 * s;
                    im += xm[1] as f64 * c - xm[0] as f64 * s;
                }
                worst = worst.max((v[0] - re).abs()).max((v[1] - im).abs());
            }
            // In units of the samples (2^g of the transform's), against values of about
            // √n · 2^15: the q15 twiddles' own error grows as √n (exact rounding of every
            // product gives 1.7, 3.0, 9.8, 34 and 69 units at 8, 16, 64, 256 and 1,024 points).
            let units = worst / (1 << g) as f64;
            assert!(
                units < 3.0 * (n as f64).sqrt(),
                "n = {n}: {units} units off"
            );
        }
    }
}
