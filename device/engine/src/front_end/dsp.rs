//! The front end's inner loops: on a Cortex-M with the DSP extension each is one block of
//! assembly; elsewhere the same arithmetic runs in Rust, so the host computes what the board
//! does, bit for bit (the QEMU tests hold the two equal). Each asserts the bounds of what it
//! reads and writes within the slices it is given before it runs.

#[cfg(not(all(feature = "dsp", target_arch = "arm")))]
use super::fft::{add, butterfly, halves, rotate, squared, sub};
#[cfg(not(all(feature = "dsp", target_arch = "arm")))]
use super::{reversed, windowed};

/// One butterfly's rotation and sums in assembly: `{b0}, {b1}` ← z[b], its rotation by the
/// twiddle pair in `{cs}` (`SMULWB` and `SMULWT` pick cos and sin), then z[a] ← a +
/// 2·rotation in (`{tmp}`, `{x}`) and z[b] ← a − 2·rotation in (`{b0}`, `{b1}`), which
/// `$store` stores (and may advance the pointers after).
#[cfg(all(feature = "dsp", target_arch = "arm"))]
macro_rules! butterfly_asm {
    ($store:literal) => {
        concat!(
            "ldrd {b0}, {b1}, [{pb}]\n",
            "smulwb {x}, {b0}, {cs}\n",
            "smlawt {x}, {b1}, {cs}, {x}\n",
            "smulwb {y}, {b1}, {cs}\n",
            "smulwt {tmp}, {b0}, {cs}\n",
            "sub {y}, {y}, {tmp}\n",
            "add {x}, {x}, #1\n",
            "ldrd {b0}, {b1}, [{pa}]\n",
            "add {tmp}, {b0}, {x}, lsl #1\n",
            "sub {b0}, {b0}, {x}, lsl #1\n",
            "add {x}, {b1}, {y}, lsl #1\n",
            "sub {b1}, {b1}, {y}, lsl #1\n",
            $store
        )
    };
}

/// A sum and a difference in assembly (a butterfly of twiddle 1): z[a] ← a + b in (`{tmp}`,
/// `{x}`), z[b] ← a − b in (`{b0}`, `{b1}`), which `$store` stores.
#[cfg(all(feature = "dsp", target_arch = "arm"))]
macro_rules! sum_difference_asm {
    ($store:literal) => {
        concat!(
            "ldrd {b0}, {b1}, [{pb}]\n",
            "ldrd {x}, {y}, [{pa}]\n",
            "add {tmp}, {x}, {b0}\n",
            "sub {b0}, {x}, {b0}\n",
            "add {x}, {y}, {b1}\n",
            "sub {b1}, {y}, {b1}\n",
            $store
        )
    };
}

/// A loop over `{n}` passes of `$body`: an odd one first, then two a pass, so that the count
/// and the branch are paid once a pair.
#[cfg(all(feature = "dsp", target_arch = "arm"))]
macro_rules! in_pairs {
    ($body:expr) => {
        concat!(
            "tst {n}, #1\n",
            "beq 3f\n",
            $body,
            "3:\n",
            "lsrs {n}, {n}, #1\n",
            "beq 4f\n",
            "2:\n",
            $body,
            $body,
            "subs {n}, {n}, #1\n",
            "bne 2b\n",
            "4:\n"
        )
    };
}

/// One block of a stage whose blocks are fewer than its twiddles: the `h` butterflies that
/// join `block[j]` and `block[h + j]`, with the twiddle `j · stride` (j = 0: a sum and a
/// difference). On a Cortex-M with the DSP extension one block of assembly, 18 instructions
/// a butterfly: the twiddle pair in one load, the rotation in four `SMULW`/`SMLAW`, the
/// doubling folded into the sums' shifted operand, the stores post-indexed, two butterflies
/// a pass.
#[inline(always)]
pub(super) fn block_butterflies(block: &mut [[i32; 2]], twiddles: &[[i16; 2]], stride: usize) {
    let h = block.len() / 2;
    assert!(h >= 2 && block.len() == 2 * h && (h - 1) * stride < twiddles.len());
    #[cfg(all(feature = "dsp", target_arch = "arm"))]
    // SAFETY: butterfly j (< h) reads and writes block[j] and block[h + j] and reads
    // twiddles[j · stride]: within the slices (asserted). The block advances copies of the
    // pointers and counts down a copy of the count; TST, LSRS and SUBS set the flags. A point
    // is two words, 4-byte aligned as `[i32; 2]` is: LDRD and STRD need no more.
    unsafe {
        core::arch::asm!(
            // j = 0
            sum_difference_asm!("strd {tmp}, {x}, [{pa}], #8\nstrd {b0}, {b1}, [{pb}], #8\n"),
            in_pairs!(concat!(
                "ldr {cs}, [{t}]\n",
                "add {t}, {t}, {t_step}\n",
                butterfly_asm!("strd {tmp}, {x}, [{pa}], #8\nstrd {b0}, {b1}, [{pb}], #8\n")
            )),
            pa = inout(reg) block.as_mut_ptr() => _,
            pb = inout(reg) block.as_mut_ptr().add(h) => _,
            t = inout(reg) twiddles.as_ptr().add(stride) => _,
            t_step = in(reg) 4 * stride,
            n = inout(reg) h - 1 => _,
            cs = out(reg) _,
            tmp = out(reg) _,
            b0 = out(reg) _,
            b1 = out(reg) _,
            x = out(reg) _,
            y = out(reg) _,
            options(nostack),
        );
    }
    #[cfg(not(all(feature = "dsp", target_arch = "arm")))]
    {
        let (a, b) = (block[0], block[h]);
        (block[0], block[h]) = (add(a, b), sub(a, b));
        for j in 1..h {
            let [c, s] = twiddles[j * stride];
            (block[j], block[h + j]) = butterfly(block[j], block[h + j], c, s);
        }
    }
}

/// One twiddle of a stage whose twiddles are no more than its blocks: the butterflies that
/// join `z[j + i·len]` and `z[j + i·len + len/2]` in every block i, with the twiddle pair `cs`
/// (none for j = 0: a sum and a difference). On a Cortex-M with the DSP extension one block
/// of assembly, 18 instructions a butterfly (12 for j = 0), two a pass.
#[inline(always)]
pub(super) fn column_butterflies(z: &mut [[i32; 2]], len: usize, j: usize, cs: [i16; 2]) {
    let h = len / 2;
    assert!(h >= 1 && j < h && z.len() >= len && z.len().is_multiple_of(len));
    let blocks = z.len() / len;
    #[cfg(all(feature = "dsp", target_arch = "arm"))]
    // SAFETY: butterfly i (< blocks) reads and writes z[j + i·len] and z[j + i·len + h], both
    // below blocks · len = z.len() (asserted). The block advances copies of the pointers and
    // counts down a copy of the count; TST, LSRS and SUBS set the flags.
    unsafe {
        let (pa, step) = (z.as_mut_ptr().add(j), 8 * len);
        if j == 0 {
            core::arch::asm!(
                in_pairs!(sum_difference_asm!(
                    "strd {tmp}, {x}, [{pa}]\nstrd {b0}, {b1}, [{pb}]\nadd {pa}, {pa}, {step}\nadd {pb}, {pb}, {step}\n"
                )),
                pa = inout(reg) pa => _,
                pb = inout(reg) pa.add(h) => _,
                step = in(reg) step,
                n = inout(reg) blocks => _,
                tmp = out(reg) _,
                b0 = out(reg) _,
                b1 = out(reg) _,
                x = out(reg) _,
                y = out(reg) _,
                options(nostack),
            );
        } else {
            core::arch::asm!(
                in_pairs!(butterfly_asm!(
                    "strd {tmp}, {x}, [{pa}]\nstrd {b0}, {b1}, [{pb}]\nadd {pa}, {pa}, {step}\nadd {pb}, {pb}, {step}\n"
                )),
                pa = inout(reg) pa => _,
                pb = inout(reg) pa.add(h) => _,
                step = in(reg) step,
                cs = in(reg) bytemuck::cast::<[i16; 2], u32>(cs),
                n = inout(reg) blocks => _,
                tmp = out(reg) _,
                b0 = out(reg) _,
                b1 = out(reg) _,
                x = out(reg) _,
                y = out(reg) _,
                options(nostack),
            );
        }
    }
    #[cfg(not(all(feature = "dsp", target_arch = "arm")))]
    for i in 0..blocks {
        let a = j + i * len;
        (z[a], z[a + h]) = if j == 0 {
            (add(z[a], z[a + h]), sub(z[a], z[a + h]))
        } else {
            butterfly(z[a], z[a + h], cs[0], cs[1])
        };
    }
}

/// The powers of bins k and m − k for k = 1 … m/2 − 1 ([`super::fft::power`]), m = `z.len()` ≥ 4. On a
/// Cortex-M with the DSP extension one block of assembly, 25 instructions a pair of bins: the
/// rotation as the transform's, each power one `SMULL` and one `SMLAL`, every pointer
/// post-indexed.
#[inline(always)]
pub(super) fn bin_pairs(z: &[[i32; 2]], twiddles: &[[i16; 2]], power: &mut [[i32; 2]]) {
    let m = z.len();
    assert!(m >= 4 && twiddles.len() >= m / 2 && power.len() > m);
    #[cfg(all(feature = "dsp", target_arch = "arm"))]
    // SAFETY: pass k (1 ≤ k < m/2) reads z[k], z[m − k] and twiddles[k] and writes power[k]
    // and power[m − k]: all within the slices (asserted). The block advances copies of the
    // pointers and counts down a copy of the count; SUBS sets the flags.
    unsafe {
        core::arch::asm!(
            "2:",
            "ldrd {a0}, {a1}, [{zk}], #8",
            "ldrd {b0}, {b1}, [{zm}], #-8",
            "ldr {cs}, [{t}], #4",
            // O = (a1 + b1, b0 − a0), E = (a0 + b0, a1 − b1)
            "add {x}, {a1}, {b1}",
            "sub {a1}, {a1}, {b1}",
            "sub {b1}, {b0}, {a0}",
            "add {a0}, {a0}, {b0}",
            // the rotation of O: real part in b0, imaginary in b1
            "smulwb {b0}, {x}, {cs}",
            "smlawt {b0}, {b1}, {cs}, {b0}",
            "add {b0}, {b0}, #1",
            "smulwb {b1}, {b1}, {cs}",
            "smulwt {x}, {x}, {cs}",
            "sub {b1}, {b1}, {x}",
            // E ± 2·rotation: bin k in (x, cs), bin m − k in (a0, a1)
            "add {x}, {a0}, {b0}, lsl #1",
            "sub {a0}, {a0}, {b0}, lsl #1",
            "add {cs}, {a1}, {b1}, lsl #1",
            "sub {a1}, {a1}, {b1}, lsl #1",
            "smull {b0}, {b1}, {x}, {x}",
            "smlal {b0}, {b1}, {cs}, {cs}",
            "strd {b0}, {b1}, [{pk}], #8",
            "smull {b0}, {b1}, {a0}, {a0}",
            "smlal {b0}, {b1}, {a1}, {a1}",
            "strd {b0}, {b1}, [{pm}], #-8",
            "subs {n}, {n}, #1",
            "bne 2b",
            zk = inout(reg) z.as_ptr().add(1) => _,
            zm = inout(reg) z.as_ptr().add(m - 1) => _,
            t = inout(reg) twiddles.as_ptr().add(1) => _,
            pk = inout(reg) power.as_mut_ptr().add(1) => _,
            pm = inout(reg) power.as_mut_ptr().add(m - 1) => _,
            n = inout(reg) m / 2 - 1 => _,
            a0 = out(reg) _,
            a1 = out(reg) _,
            b0 = out(reg) _,
            b1 = out(reg) _,
            cs = out(reg) _,
            x = out(reg) _,
            options(nostack),
        );
    }
    #[cfg(not(all(feature = "dsp", target_arch = "arm")))]
    for k in 1..m / 2 {
        let (e, o) = halves(z[k], z[m - k]);
        let [c, s] = twiddles[k];
        let r = rotate(o, c, s);
        power[k] = squared(add(e, r));
        power[m - k] = squared(sub(e, r));
    }
}

/// Writes the windowed sample pairs `[x₂ₘ·w₂ₘ, x₂ₘ₊₁·w₂ₘ₊₁]`, each `(x·w + 2^(14−g)) >>
/// (15 − g)`, m < `samples.len() / 2`, to `z[reversed(m)]`, the bit reversal over
/// `log2(z.len())` bits. On a Cortex-M with the DSP extension one block of assembly, 13
/// instructions a pair: both samples and both weights in one load each, `SMLABB` and `SMLATT`,
/// the reversed index from `RBIT`.
#[inline(always)]
pub(super) fn window_pairs(samples: &[i16], window: &[i16], g: u32, z: &mut [[i32; 2]]) {
    let pairs = samples.len() / 2;
    assert!(
        z.len().is_power_of_two()
            && pairs <= z.len()
            && window.len() >= 2 * pairs
            && g <= 14
            && (window.as_ptr() as usize).is_multiple_of(4)
    );
    if pairs == 0 {
        return;
    }
    let bits = z.len().trailing_zeros();
    #[cfg(all(feature = "dsp", target_arch = "arm"))]
    // SAFETY: pass m (< pairs) reads samples[2m..2m + 2] and window[2m..2m + 2] and writes
    // z[reversed(m)], below z.len() as m is: all within the slices (asserted). The samples'
    // load may be unaligned (a Cortex-M allows LDR there); the window's is aligned (asserted).
    // The block advances copies of the pointers and counts up a copy of m; CMP sets the flags.
    unsafe {
        core::arch::asm!(
            "2:",
            "ldr {x}, [{px}], #4",
            "ldr {w}, [{pw}], #4",
            "smlabb {a}, {x}, {w}, {round}",
            "smlatt {b}, {x}, {w}, {round}",
            "asr {a}, {a}, {shift}",
            "asr {b}, {b}, {shift}",
            "rbit {x}, {m}",
            "lsr {x}, {x}, {rev_shift}",
            "add {x}, {z}, {x}",
            "strd {a}, {b}, [{x}]",
            "add {m}, {m}, #1",
            "cmp {m}, {end}",
            "bne 2b",
            px = inout(reg) samples.as_ptr() => _,
            pw = inout(reg) window.as_ptr() => _,
            round = in(reg) 1i32 << (14 - g),
            shift = in(reg) 15 - g,
            m = inout(reg) 0usize => _,
            end = in(reg) pairs,
            // the reversed m × 8 bytes: its top `bits` bits, shifted down to bit 3
            rev_shift = in(reg) 29 - bits,
            z = in(reg) z.as_mut_ptr(),
            x = out(reg) _,
            w = out(reg) _,
            a = out(reg) _,
            b = out(reg) _,
            options(nostack),
        );
    }
    #[cfg(not(all(feature = "dsp", target_arch = "arm")))]
    for (m, (x, w)) in samples
        .chunks_exact(2)
        .zip(window.chunks_exact(2))
        .enumerate()
    {
        z[reversed(m, bits)] = [windowed(x[0], w[0], g), windowed(x[1], w[1], g)];
    }
}

/// The largest `|x|` of `samples` (32,768 for −32,768; 0 when empty). On a Cortex-M with the
/// DSP extension one block of assembly over eight samples a pass, 2.5 instructions a
/// sample: a word's two samples at once, their running largest and smallest kept lane by lane
/// with `SSUB16` and `SEL`; the rest in Rust.
#[inline(always)]
pub(super) fn peak(samples: &[i16]) -> u32 {
    #[allow(unused_mut)]
    let mut rest = samples;
    let (mut largest, mut smallest) = (0i32, 0i32);
    #[cfg(all(feature = "dsp", target_arch = "arm"))]
    if samples.len() >= 8 {
        let passes = samples.len() / 8;
        rest = &samples[8 * passes..];
        // Both lanes −32,768 and 32,767: the running largest and smallest of each lane.
        let (mut high, mut low) = (0x8000_8000u32, 0x7fff_7fffu32);
        // SAFETY: pass p (< passes) reads samples[8p..8p + 8]: within the slice. The loads
        // may be unaligned (a Cortex-M allows LDR there). The block advances a copy of the
        // pointer and counts down a copy of the count; SUBS and SSUB16 set the flags.
        unsafe {
            core::arch::asm!(
                "2:",
                "ldr {a}, [{p}], #4",
                "ldr {b}, [{p}], #4",
                "ssub16 {t}, {a}, {high}",
                "sel {high}, {a}, {high}",
                "ssub16 {t}, {low}, {a}",
                "sel {low}, {a}, {low}",
                "ldr {a}, [{p}], #4",
                "ssub16 {t}, {b}, {high}",
                "sel {high}, {b}, {high}",
                "ssub16 {t}, {low}, {b}",
                "sel {low}, {b}, {low}",
                "ldr {b}, [{p}], #4",
                "ssub16 {t}, {a}, {high}",
                "sel {high}, {a}, {high}",
                "ssub16 {t}, {low}, {a}",
                "sel {low}, {a}, {low}",
                "ssub16 {t}, {b}, {high}",
                "sel {high}, {b}, {high}",
                "ssub16 {t}, {low}, {b}",
                "sel {low}, {b}, {low}",
                "subs {n}, {n}, #1",
                "bne 2b",
                p = inout(reg) samples.as_ptr() => _,
                n = inout(reg) passes => _,
                high = inout(reg) high,
                low = inout(reg) low,
                a = out(reg) _,
                b = out(reg) _,
                t = out(reg) _,
                options(nostack, readonly),
            );
        }
        let lanes = |w: u32| [w as u16 as i16 as i32, (w >> 16) as u16 as i16 as i32];
        largest = lanes(high).into_iter().max().unwrap_or(0);
        smallest = lanes(low).into_iter().min().unwrap_or(0);
    }
    for &x in rest {
        largest = largest.max(x as i32);
        smallest = smallest.min(x as i32);
    }
    largest.max(-smallest) as u32
}

/// `(Σ lowᵢ · wᵢ, Σ highᵢ · wᵢ)` over the bins' (low, high) words and the weights (read as
/// unsigned): a mel band's energy in two parts. On a Cortex-M with the DSP extension one block
/// of assembly, 6 instructions a bin: one `LDRD`, one `LDRH`, two `UMLAL`.
#[inline(always)]
pub(super) fn band_sums(bins: &[[i32; 2]], weights: &[i16]) -> (u64, u64) {
    assert!(bins.len() == weights.len());
    if bins.is_empty() {
        return (0, 0);
    }
    #[cfg(all(feature = "dsp", target_arch = "arm"))]
    {
        let (mut l0, mut l1, mut h0, mut h1) = (0u32, 0u32, 0u32, 0u32);
        // SAFETY: pass i (< bins.len()) reads bins[i] and weights[i]: within the slices, of one
        // length (asserted). The block advances copies of the pointers and counts down a copy of
        // the count; SUBS sets the flags.
        unsafe {
            core::arch::asm!(
                "2:",
                "ldrd {lo}, {hi}, [{pp}], #8",
                "ldrh {w}, [{pw}], #2",
                "umlal {l0}, {l1}, {lo}, {w}",
                "umlal {h0}, {h1}, {hi}, {w}",
                "subs {n}, {n}, #1",
                "bne 2b",
                pp = inout(reg) bins.as_ptr() => _,
                pw = inout(reg) weights.as_ptr() => _,
                n = inout(reg) bins.len() => _,
                l0 = inout(reg) l0,
                l1 = inout(reg) l1,
                h0 = inout(reg) h0,
                h1 = inout(reg) h1,
                lo = out(reg) _,
                hi = out(reg) _,
                w = out(reg) _,
                options(nostack, readonly),
            );
        }
        ((l1 as u64) << 32 | l0 as u64, (h1 as u64) << 32 | h0 as u64)
    }
    #[cfg(not(all(feature = "dsp", target_arch = "arm")))]
    bins.iter()
        .zip(weights)
        .fold((0u64, 0u64), |(low, high), (p, &weight)| {
            let weight = weight as u16 as u64;
            (
                low + p[0] as u32 as u64 * weight,
                high + p[1] as u32 as u64 * weight,
            )
        })
}
