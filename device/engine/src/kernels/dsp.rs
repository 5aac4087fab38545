//! Packed 16-bit arithmetic of the Cortex-M DSP extension: a dual multiply-accumulate
//! (`SMLAD`) and single ones of chosen lanes (`SMLABT`, `SMLATB`), byte unpacking (`SXTB16`)
//! and a dual subtraction (`SSUB16`). Built for an Arm target with the `dsp` feature (a
//! Cortex-M4, M7 or M33), each is one instruction; elsewhere each is plain Rust with the same
//! result, so that the kernels built on them run, and are tested, on any host.
//!
//! A word holds two signed 16-bit lanes: lane 0 in bits 0–15, lane 1 in bits 16–31.
//!
//! This is the engine's only `unsafe` code: inline assembly of these instructions, one each,
//! reading and writing registers only; the inner loop of the 2 × 2 convolution block
//! ([`dot2x2_groups`]), which reads the three slices it is given; every pair of filters of a
//! convolution at two pixels, requantised ([`filter_pairs`]), which reads the slices it is
//! given and writes the outputs and a frame of its own (its address in r7, saved and restored
//! by the block); the rows of a
//! depthwise 3×3 channel ([`depthwise_rows`]), which read the plane and the frame they are
//! given and write the output and the frame's row counter; the copy of a channel into that
//! plane ([`widen_rows`]); the columns of two pixels of a 1×1 convolution, unpacked
//! straight from its input ([`pointwise_columns`]); two pixels' 3×3 windows copied from the
//! input ([`pair_windows`]) and their columns unpacked from those bytes ([`unpack_pair`]); the
//! 3×3 windows of one pixel ([`windows_3x3`]); the sums of an Add, rescaled
//! ([`high_word_sums`]), which read its inputs and write its output in place or not.

use crate::requant::HighWordSum;

/// A multiply-accumulate of one instruction, `$insn acc, a, b, acc`, on a Cortex-M with the
/// DSP extension; elsewhere `$portable(a, b, acc)`.
macro_rules! mac {
    ($(#[$doc:meta])* $name:ident, $insn:literal, $portable:expr) => {
        $(#[$doc])*
        #[inline(always)]
        pub fn $name(a: u32, b: u32, acc: i32) -> i32 {
            #[cfg(all(feature = "dsp", target_arch = "arm"))]
            {
                let mut acc = acc;
                // SAFETY: the instruction reads three registers and writes one; it touches no
                // memory. It may set the sticky Q flag, which is why `preserves_flags` is not
                // claimed. The accumulator stays in its register (tied operand): no moves
                // between the MACs of a loop.
                unsafe {
                    core::arch::asm!(
                        concat!($insn, " {c}, {a}, {b}, {c}"),
                        a = in(reg) a,
                        b = in(reg) b,
                        c = inout(reg) acc,
                        options(pure, nomem, nostack),
                    )
                };
                acc
            }
            #[cfg(not(all(feature = "dsp", target_arch = "arm")))]
            {
                let portable: fn(u32, u32, i32) -> i32 = $portable;
                portable(a, b, acc)
            }
        }
    };
}

/// Lane 0 (bits 0–15) of `v` as a signed value.
#[cfg_attr(all(feature = "dsp", target_arch = "arm"), allow(dead_code))]
fn low(v: u32) -> i32 {
    v as i16 as i32
}

/// Lane 1 (bits 16–31) of `v` as a signed value.
#[cfg_attr(all(feature = "dsp", target_arch = "arm"), allow(dead_code))]
fn high(v: u32) -> i32 {
    (v >> 16) as i16 as i32
}

mac!(
    /// `acc + a₀·b₀ + a₁·b₁` over the lanes of `a` and `b`, wrapping (`SMLAD`).
    smlad,
    "smlad",
    |a, b, acc| acc.wrapping_add(low(a) * low(b)).wrapping_add(high(a) * high(b))
);
mac!(
    /// `acc + a₀·b₀`: the low lanes of `a` and `b` (`SMLABB`).
    smlabb,
    "smlabb",
    |a, b, acc| acc.wrapping_add(low(a) * low(b))
);
mac!(
    /// `acc + a₀·b₁`: the low lane of `a` times the high lane of `b` (`SMLABT`).
    smlabt,
    "smlabt",
    |a, b, acc| acc.wrapping_add(low(a) * high(b))
);
mac!(
    /// `acc + a₁·b₀`: the high lane of `a` times the low lane of `b` (`SMLATB`).
    smlatb,
    "smlatb",
    |a, b, acc| acc.wrapping_add(high(a) * low(b))
);

/// `v` in every byte of a word: the bounds `SSUB8` and `SEL` clamp four int8 outputs to.
pub fn every_byte(v: i8) -> u32 {
    u32::from_ne_bytes([v as u8; 4])
}

/// Bytes 0 and 2 of `x`, sign-extended into lanes 0 and 1 (`SXTB16`).
#[inline(always)]
pub fn sxtb16(x: u32) -> u32 {
    #[cfg(all(feature = "dsp", target_arch = "arm"))]
    {
        let r: u32;
        // SAFETY: SXTB16 reads one register and writes one; no memory, no flags.
        unsafe {
            core::arch::asm!(
                "sxtb16 {r}, {x}",
                r = lateout(reg) r,
                x = in(reg) x,
                options(pure, nomem, nostack, preserves_flags),
            )
        };
        r
    }
    #[cfg(not(all(feature = "dsp", target_arch = "arm")))]
    {
        let lane = |b: u32| b as u8 as i8 as i16 as u16 as u32;
        lane(x) | lane(x >> 16) << 16
    }
}

/// Bytes 1 and 3 of `x`, sign-extended into lanes 0 and 1 (`SXTB16` with `ROR #8`).
#[inline(always)]
pub fn sxtb16_ror8(x: u32) -> u32 {
    #[cfg(all(feature = "dsp", target_arch = "arm"))]
    {
        let r: u32;
        // SAFETY: as `sxtb16`: one register in, one out.
        unsafe {
            core::arch::asm!(
                "sxtb16 {r}, {x}, ror #8",
                r = lateout(reg) r,
                x = in(reg) x,
                options(pure, nomem, nostack, preserves_flags),
            )
        };
        r
    }
    #[cfg(not(all(feature = "dsp", target_arch = "arm")))]
    {
        sxtb16(x.rotate_right(8))
    }
}

/// Lane-wise `a − b`, wrapping (`SSUB16`).
#[inline(always)]
pub fn ssub16(a: u32, b: u32) -> u32 {
    #[cfg(all(feature = "dsp", target_arch = "arm"))]
    {
        let r: u32;
        // SAFETY: SSUB16 reads two registers and writes one; no memory. It sets the GE flags,
        // which is why `preserves_flags` is not claimed.
        unsafe {
            core::arch::asm!(
                "ssub16 {r}, {a}, {b}",
                r = lateout(reg) r,
                a = in(reg) a,
                b = in(reg) b,
                options(pure, nomem, nostack),
            )
        };
        r
    }
    #[cfg(not(all(feature = "dsp", target_arch = "arm")))]
    {
        let lo = (a as u16).wrapping_sub(b as u16) as u32;
        let hi = ((a >> 16) as u16).wrapping_sub((b >> 16) as u16) as u32;
        lo | hi << 16
    }
}

/// `acc += [e₀·c₀, e₀·c₁, e₁·c₀, e₁·c₁]`, where `e₀` and `e₁` are the bytes 0 and 2 of `w0` and
/// `w1` (`ODD`: bytes 1 and 3) as 16-bit lanes and each product is an `SMLAD`: half of the
/// multiply-accumulates of two weight words of two filters against two columns' lane words.
#[inline(always)]
pub fn mac2x2<const ODD: bool>(acc: &mut [i32; 4], w0: u32, w1: u32, c0: u32, c1: u32) {
    let unpack = |w| if ODD { sxtb16_ror8(w) } else { sxtb16(w) };
    let (e0, e1) = (unpack(w0), unpack(w1));
    let [a00, a01, a10, a11] = acc;
    *a00 = smlad(e0, c0, *a00);
    *a01 = smlad(e0, c1, *a01);
    *a10 = smlad(e1, c0, *a10);
    *a11 = smlad(e1, c1, *a11);
}

/// One group of 4 values of two weight rows against two interleaved columns in assembly
/// (18 instructions, 20 cycles on a Cortex-M4): values 0 and 2 against the columns' even words,
/// then values 1 and 3 against their odd words. The loads are single words, four in a row
/// where they can be: each after the first takes one cycle on an M4 (pipelined), where an
/// `LDRD` of the two column words takes three (16 instructions, 21 cycles).
/// The operands are [`dot2x2_pairs`]' names.
#[cfg(all(feature = "dsp", target_arch = "arm"))]
macro_rules! dot2x2_group {
    () => {
        concat!(
            "ldr {x0}, [{p0}], #4\n",
            "ldr {x1}, [{p1}], #4\n",
            "ldr {c0}, [{pc}], #4\n",
            "ldr {c1}, [{pc}], #4\n",
            "sxtb16 {t}, {x0}\n",
            "smlad {a00}, {t}, {c0}, {a00}\n",
            "smlad {a01}, {t}, {c1}, {a01}\n",
            "sxtb16 {t}, {x1}\n",
            "smlad {a10}, {t}, {c0}, {a10}\n",
            "smlad {a11}, {t}, {c1}, {a11}\n",
            "ldr {c0}, [{pc}], #4\n",
            "ldr {c1}, [{pc}], #4\n",
            "sxtb16 {t}, {x0}, ror #8\n",
            "smlad {a00}, {t}, {c0}, {a00}\n",
            "smlad {a01}, {t}, {c1}, {a01}\n",
            "sxtb16 {t}, {x1}, ror #8\n",
            "smlad {a10}, {t}, {c0}, {a10}\n",
            "smlad {a11}, {t}, {c1}, {a11}",
        )
    };
}

/// Four groups of [`dot2x2_group`], the body of [`dot2x2_pairs`]' and [`filter_pairs`]' loop:
/// label 2 at its start, label 4 at its second half (where a count of groups two more than a
/// multiple of four enters).
#[cfg(all(feature = "dsp", target_arch = "arm"))]
macro_rules! dot2x2_four_groups {
    () => {
        concat!(
            "2:\n",
            dot2x2_group!(),
            "\n",
            dot2x2_group!(),
            "\n4:\n",
            dot2x2_group!(),
            "\n",
            dot2x2_group!(),
        )
    };
}

/// One group of 4 values of two weight rows against two interleaved columns as
/// [`filter_pairs`] runs it (18 instructions, 19 cycles on a Cortex-M4): all six words loaded
/// in a row (each load after the first pipelined), each weight word unpacked to its even
/// values in `{t}` and to its odd ones in place. The second column's odd word goes to r7, a
/// fourteenth register that [`filter_pairs`] saves.
#[cfg(all(feature = "dsp", target_arch = "arm"))]
macro_rules! filter_pair_group {
    () => {
        concat!(
            "ldr {x0}, [{p0}], #4\n",
            "ldr {x1}, [{p1}], #4\n",
            "ldr {c0}, [{cp}], #4\n",
            "ldr {c1}, [{cp}], #4\n",
            "ldr {c2}, [{cp}], #4\n",
            "ldr r7, [{cp}], #4\n",
            "sxtb16 {t}, {x0}\n",
            "smlad {a00}, {t}, {c0}, {a00}\n",
            "smlad {a01}, {t}, {c1}, {a01}\n",
            "sxtb16 {t}, {x1}\n",
            "smlad {a10}, {t}, {c0}, {a10}\n",
            "smlad {a11}, {t}, {c1}, {a11}\n",
            "sxtb16 {x0}, {x0}, ror #8\n",
            "smlad {a00}, {x0}, {c2}, {a00}\n",
            "smlad {a01}, {x0}, r7, {a01}\n",
            "sxtb16 {x1}, {x1}, ror #8\n",
            "smlad {a10}, {x1}, {c2}, {a10}\n",
            "smlad {a11}, {x1}, r7, {a11}",
        )
    };
}

/// Eight groups of [`filter_pair_group`], the body of [`filter_pairs`]' loop, with labels at
/// groups 0 (2), 2 (5), 4 (4) and 6 (6): a count of groups 6, 4 or 2 more than a multiple of
/// eight enters at the second, third or fourth.
#[cfg(all(feature = "dsp", target_arch = "arm"))]
macro_rules! filter_pair_eight_groups {
    () => {
        concat!(
            "2:\n",
            filter_pair_group!(),
            "\n",
            filter_pair_group!(),
            "\n5:\n",
            filter_pair_group!(),
            "\n",
            filter_pair_group!(),
            "\n4:\n",
            filter_pair_group!(),
            "\n",
            filter_pair_group!(),
            "\n6:\n",
            filter_pair_group!(),
            "\n",
            filter_pair_group!(),
        )
    };
}

/// `[Σ w0·c₀, Σ w0·c₁, Σ w1·c₀, Σ w1·c₁]` over groups of 4 int8 weights of two rows `w0`
/// and `w1` and the groups of two interleaved columns `cols` (per group: the words of values 0
/// and 2 of column 0 and of column 1, then their words of values 1 and 3), over as many groups
/// as the shortest of the three has: the inner loop of a 2 × 2 block of a convolution.
///
/// On a Cortex-M with the DSP extension, pairs of groups run in one block of assembly, four
/// groups a pass (two more than a multiple of four enter at the pass's second half): 75
/// instructions per 64 multiply-accumulates (67 with the column words loaded in pairs by
/// `LDRD`, fewer instructions but more cycles; 35 per 32 with two groups a pass). The compiler,
/// left to schedule [`smlad`] and [`sxtb16`] itself, needed 22–23 per 16, spilling its loop
/// counter or moving registers about.
#[inline(always)]
pub fn dot2x2_groups(w0: &[[u8; 4]], w1: &[[u8; 4]], cols: &[[u32; 4]]) -> [i32; 4] {
    let n = w0.len().min(w1.len()).min(cols.len());
    let (w0, w1, cols) = (&w0[..n], &w1[..n], &cols[..n]);
    let mut acc = [0i32; 4];
    let pairs = dot2x2_pairs(&mut acc, w0, w1, cols);
    for ((&a, &b), c) in w0[pairs..].iter().zip(&w1[pairs..]).zip(&cols[pairs..]) {
        let (a, b) = (u32::from_le_bytes(a), u32::from_le_bytes(b));
        mac2x2::<false>(&mut acc, a, b, c[0], c[1]);
        mac2x2::<true>(&mut acc, a, b, c[2], c[3]);
    }
    acc
}

/// [`dot2x2_groups`] of the largest even number of groups of the three slices (of one length)
/// into `acc`, in assembly on a Cortex-M with the DSP extension; the groups done (0 elsewhere).
#[inline(always)]
fn dot2x2_pairs(acc: &mut [i32; 4], w0: &[[u8; 4]], w1: &[[u8; 4]], cols: &[[u32; 4]]) -> usize {
    #[cfg(all(feature = "dsp", target_arch = "arm"))]
    {
        let n = cols.len() & !1;
        if n == 0 {
            return 0;
        }
        let [a00, a01, a10, a11] = acc;
        // SAFETY: the block reads `n` words from each of `w0` and `w1` (LDR, which a Cortex-M
        // allows unaligned) and `n` groups of 4 words from `cols` (LDRD, aligned as `u32`s):
        // `n` is even, at least 2 and at most the length of the three slices, and the loop
        // stops when the column pointer reaches `cols`' `n`th group. The pointers it advances
        // are its own copies. It writes registers only. SMLAD may set the sticky Q flag and
        // CMP sets the flags, so `preserves_flags` is not claimed.
        unsafe {
            core::arch::asm!(
                // Four groups an iteration; 2 more than a multiple of 4 (16 bytes a group)
                // enter at the second half.
                "sub {x0}, {end}, {pc}",
                "tst {x0}, #32",
                "bne 4f",
                dot2x2_four_groups!(),
                "cmp {pc}, {end}",
                "bne 2b",
                p0 = inout(reg) w0.as_ptr() => _,
                p1 = inout(reg) w1.as_ptr() => _,
                pc = inout(reg) cols.as_ptr() => _,
                end = in(reg) cols[n..].as_ptr(),
                t = out(reg) _,
                x0 = out(reg) _,
                x1 = out(reg) _,
                c0 = out(reg) _,
                c1 = out(reg) _,
                a00 = inout(reg) *a00,
                a01 = inout(reg) *a01,
                a10 = inout(reg) *a10,
                a11 = inout(reg) *a11,
                options(readonly, nostack),
            )
        };
        n
    }
    #[cfg(not(all(feature = "dsp", target_arch = "arm")))]
    {
        let _ = (acc, w0, w1, cols);
        0
    }
}

/// The interleaved columns of two pixels (as [`dot2x2_groups`] reads them) from their gathered
/// bytes `raw0` and `raw1`, minus the zero point in both lanes of `zero`: per group of 4
/// values, `SXTB16` and `SXTB16 ROR #8` of each pixel's word, the zero point subtracted lane by
/// lane (`SSUB16`). As many groups as the shortest of the three has. `true` when done: only on
/// a Cortex-M with the DSP extension (15 instructions a group for both pixels, where two loops
/// of one pixel each took 18); elsewhere `false`, and the caller unpacks them in Rust.
#[inline(always)]
pub fn unpack_pair(raw0: &[[u8; 4]], raw1: &[[u8; 4]], zero: u32, cols: &mut [[u32; 4]]) -> bool {
    #[cfg(all(feature = "dsp", target_arch = "arm"))]
    {
        let n = cols.len().min(raw0.len()).min(raw1.len());
        if n == 0 {
            return true;
        }
        // SAFETY: group g < n reads the words raw0[g] and raw1[g] (LDR, which a Cortex-M allows
        // unaligned) and writes the 4 words of cols[g] (STR of `u32`s, aligned): n is at most
        // each slice's length, and the loop stops when the column pointer reaches the nth
        // group. The pointers it advances are its own copies. SSUB16 sets the GE flags and CMP
        // the others, so `preserves_flags` is not claimed.
        unsafe {
            core::arch::asm!(
                "2:",
                "ldr {a}, [{p0}], #4",
                "ldr {b}, [{p1}], #4",
                "sxtb16 {e0}, {a}",
                "sxtb16 {e1}, {b}",
                "sxtb16 {a}, {a}, ror #8",
                "sxtb16 {b}, {b}, ror #8",
                "ssub16 {e0}, {e0}, {z}",
                "ssub16 {e1}, {e1}, {z}",
                "ssub16 {a}, {a}, {z}",
                "ssub16 {b}, {b}, {z}",
                "str {e1}, [{pc}, #4]",
                "str {a}, [{pc}, #8]",
                "str {b}, [{pc}, #12]",
                "str {e0}, [{pc}], #16",
                "cmp {pc}, {end}",
                "bne 2b",
                p0 = inout(reg) raw0.as_ptr() => _,
                p1 = inout(reg) raw1.as_ptr() => _,
                pc = inout(reg) cols.as_mut_ptr() => _,
                end = in(reg) cols[n..].as_ptr(),
                z = in(reg) zero,
                a = out(reg) _,
                b = out(reg) _,
                e0 = out(reg) _,
                e1 = out(reg) _,
                options(nostack),
            )
        };
        true
    }
    #[cfg(not(all(feature = "dsp", target_arch = "arm")))]
    {
        let _ = (raw0, raw1, zero, cols);
        false
    }
}

/// The 3×3 windows of two neighbouring pixels, channel after channel, into `raw0` and `raw1`
/// (9 bytes a channel, as many channels as both have whole windows): in each of `x`'s channels
/// (`plane` bytes apart) the first window's corner is `at` and its rows are `width` apart, and
/// one word loaded from each row gives both pixels' 3 taps (the word's bytes 0–2 and 1–3).
/// `true` when done: only on a Cortex-M with the DSP extension (21 instructions a channel:
/// three loads, the first two rows stored as overlapping words, the last as a halfword and a
/// byte, so that nothing is written past a channel's 9 bytes); elsewhere `false`, and the
/// caller copies them in Rust.
#[inline(always)]
pub fn pair_windows(
    x: &[u8],
    at: usize,
    plane: usize,
    width: usize,
    raw0: &mut [u8],
    raw1: &mut [u8],
) -> bool {
    #[cfg(all(feature = "dsp", target_arch = "arm"))]
    {
        let channels = raw0.len().min(raw1.len()) / 9;
        if channels == 0 {
            return true;
        }
        assert!((channels - 1) * plane + at + 2 * width + 4 <= x.len());
        // SAFETY: channel c < channels reads one word at each of at + c·plane + r·width for
        // r < 3 (LDR, which a Cortex-M allows unaligned): the last ends at (channels − 1)·plane
        // + at + 2·width + 4 ≤ x's length (asserted). It writes the bytes 9c to 9c + 8 of
        // `raw0` and of `raw1` (STR and STRH unaligned, STRB): within both (channels ≤ their
        // lengths / 9). The loop stops when raw0's pointer reaches the end of its last window.
        // The pointers it advances are its own copies. CMP sets the flags.
        unsafe {
            core::arch::asm!(
                "2:",
                "ldr {a}, [{s}]",
                "ldr {b}, [{s}, {w}]",
                "ldr {c}, [{s}, {w}, lsl #1]",
                "add {s}, {s}, {plane}",
                // Rows 0 and 1 as words (their fourth bytes are overwritten next), row 2 as a
                // halfword and a byte.
                "str {a}, [{d0}]",
                "lsr {a}, {a}, #8",
                "str {a}, [{d1}]",
                "str {b}, [{d0}, #3]",
                "lsr {b}, {b}, #8",
                "str {b}, [{d1}, #3]",
                "strh {c}, [{d0}, #6]",
                "lsr {a}, {c}, #16",
                "strb {a}, [{d0}, #8]",
                "lsr {a}, {c}, #8",
                "strh {a}, [{d1}, #6]",
                "lsr {a}, {c}, #24",
                "strb {a}, [{d1}, #8]",
                "add {d0}, {d0}, #9",
                "add {d1}, {d1}, #9",
                "cmp {d0}, {end}",
                "bne 2b",
                s = inout(reg) x[at..].as_ptr() => _,
                w = in(reg) width,
                plane = in(reg) plane,
                d0 = inout(reg) raw0.as_mut_ptr() => _,
                d1 = inout(reg) raw1.as_mut_ptr() => _,
                end = in(reg) raw0[9 * channels..].as_ptr(),
                a = out(reg) _,
                b = out(reg) _,
                c = out(reg) _,
                options(nostack),
            )
        };
        true
    }
    #[cfg(not(all(feature = "dsp", target_arch = "arm")))]
    {
        let _ = (x, at, plane, width, raw0, raw1);
        false
    }
}

/// The 3×3 windows of a pixel, channel after channel, into `raw` (9 bytes a channel, as many
/// channels as it has whole windows): each window is the padding value `zero` everywhere, then
/// the `rows` rows of `run` taps (1 to 3) that lie inside the map (3 of 3 away from its
/// border), read from `at` in each of `x`'s channels (`plane` bytes apart; rows `width` apart)
/// and written from tap `to` of the window on (rows 3 apart). `true` when done: only on a
/// Cortex-M with the DSP extension, for at least one row and one tap (about 30 instructions a
/// channel: the padding in three stores, then a load and a store per row and per halfword or
/// byte of its run), where the Rust took about 70 cycles (a table of taps on the border, a
/// copy of 9 bytes inside); elsewhere `false`, and the caller gathers them in Rust.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub fn windows_3x3(
    x: &[u8],
    at: usize,
    plane: usize,
    width: usize,
    [rows, run, to]: [usize; 3],
    zero: u8,
    raw: &mut [u8],
) -> bool {
    #[cfg(all(feature = "dsp", target_arch = "arm"))]
    {
        let channels = raw.len() / 9;
        let fits = rows > 0 && (1..=3).contains(&run) && to + 3 * (rows - 1) + run <= 9;
        if channels == 0 || !fits {
            return channels == 0;
        }
        assert!((channels - 1) * plane + at + (rows - 1) * width + run <= x.len());
        // SAFETY: channel c < channels reads `run` bytes at each of at + c·plane + r·width for
        // r < rows (LDRH unaligned, LDRB): the last ends at (channels − 1)·plane + at + (rows −
        // 1)·width + run ≤ x's length (asserted). It writes the bytes 9c to 9c + 8 of `raw`
        // (STR unaligned, STRB; the runs at 9c + to + 3r, within them: to + 3·(rows − 1) + run
        // ≤ 9, checked), within it (channels ≤ its length / 9). The loops stop when their
        // counts run out and when raw's pointer reaches the end of its last window. The
        // pointers and counts it advances are its own copies. SUBS and CMP set the flags.
        unsafe {
            macro_rules! windows {
                ($($copy:literal),+) => {
                    core::arch::asm!(
                        "2:",
                        "str {z}, [{d}]",
                        "str {z}, [{d}, #4]",
                        "strb {z}, [{d}, #8]",
                        "mov {r}, {s}",
                        "add {o}, {d}, {to}",
                        "mov {n}, {rows}",
                        "3:",
                        $($copy,)+
                        "add {r}, {r}, {w}",
                        "add {o}, {o}, #3",
                        "subs {n}, {n}, #1",
                        "bne 3b",
                        "add {s}, {s}, {plane}",
                        "add {d}, {d}, #9",
                        "cmp {d}, {end}",
                        "bne 2b",
                        s = inout(reg) x[at..].as_ptr() => _,
                        w = in(reg) width,
                        plane = in(reg) plane,
                        rows = in(reg) rows,
                        to = in(reg) to,
                        z = in(reg) every_byte(zero as i8),
                        d = inout(reg) raw.as_mut_ptr() => _,
                        end = in(reg) raw[9 * channels..].as_ptr(),
                        r = out(reg) _,
                        o = out(reg) _,
                        n = out(reg) _,
                        v = out(reg) _,
                        options(nostack),
                    )
                };
            }
            match run {
                1 => windows!("ldrb {v}, [{r}]", "strb {v}, [{o}]"),
                2 => windows!("ldrh {v}, [{r}]", "strh {v}, [{o}]"),
                _ => windows!(
                    "ldrh {v}, [{r}]",
                    "strh {v}, [{o}]",
                    "ldrb {v}, [{r}, #2]",
                    "strb {v}, [{o}, #2]"
                ),
            }
        };
        true
    }
    #[cfg(not(all(feature = "dsp", target_arch = "arm")))]
    {
        let _ = (x, at, plane, width, rows, run, to, zero, raw);
        false
    }
}

/// Writes `rows` rows of `width` int8 values from `src` (one after the other) as 16-bit values
/// into `dst`, rows `stride` bytes apart: four values a load (`SXTB16` twice, two `PKH`s and
/// two stores), then the row's last 0–3 (a pair in one store, then one alone). `true` when
/// done: only on a Cortex-M with the DSP extension; elsewhere `false`, and the caller writes
/// them in Rust.
#[inline(always)]
pub fn widen_rows(src: &[i8], width: usize, rows: usize, dst: &mut [u8], stride: usize) -> bool {
    #[cfg(all(feature = "dsp", target_arch = "arm"))]
    {
        assert!(
            rows > 0
                && width > 0
                && 2 * width <= stride
                && rows * width <= src.len()
                && (rows - 1) * stride + 2 * width <= dst.len()
        );
        // SAFETY: the block reads `rows · width` bytes from `src` and writes, per row r,
        // `2 · width` bytes from `r · stride` in `dst`: both within the slices (asserted). Its
        // stores may be unaligned (a Cortex-M allows LDR and STR there). It advances copies of
        // the pointers and counts down copies of the counts. SUBS and LSLS set the flags.
        unsafe {
            core::arch::asm!(
                "2:",
                "movs {n}, {groups}",
                "beq 4f",
                "3:",
                "ldr {x}, [{src}], #4",
                "sxtb16 {y}, {x}",
                "sxtb16 {x}, {x}, ror #8",
                "pkhbt {z}, {y}, {x}, lsl #16",
                "pkhtb {x}, {x}, {y}, asr #16",
                "str {z}, [{dst}], #4",
                "str {x}, [{dst}], #4",
                "subs {n}, {n}, #1",
                "bne 3b",
                // The last 0–3: bit 1 of the count (into C) says two more, out of line (7),
                // bit 0 (into N) one more; a row with one more takes no branch.
                "4:",
                "lsls {n}, {tail}, #31",
                "bcs 7f",
                "5:",
                "bpl 6f",
                "ldrsb {x}, [{src}], #1",
                "strh {x}, [{dst}], #2",
                "6:",
                "add {dst}, {dst}, {skip}",
                "subs {rows}, {rows}, #1",
                "bne 2b",
                "b 8f",
                "7:",
                "ldrsb {x}, [{src}], #1",
                "ldrsb {y}, [{src}], #1",
                "pkhbt {x}, {x}, {y}, lsl #16",
                "str {x}, [{dst}], #4",
                "b 5b",
                "8:",
                src = inout(reg) src.as_ptr() => _,
                dst = inout(reg) dst.as_mut_ptr() => _,
                groups = in(reg) width / 4,
                tail = in(reg) width % 4,
                skip = in(reg) stride - 2 * width,
                rows = inout(reg) rows => _,
                n = out(reg) _,
                x = out(reg) _,
                y = out(reg) _,
                z = out(reg) _,
                options(nostack),
            )
        };
        true
    }
    #[cfg(not(all(feature = "dsp", target_arch = "arm")))]
    {
        let _ = (src, width, rows, dst, stride);
        false
    }
}

/// The interleaved columns of pixels `p` and `p + 1` of a 1×1 convolution (see
/// [`super::packed`]) from its input `x` (channels of `plane` bytes), minus the zero point in
/// both lanes of `zero`: per group of 4 channels, the halfword of each channel that holds both
/// pixels' values, those of channels 0 and 2 (1 and 3) side by side, unpacked (`SXTB16`) into
/// both columns' even (odd) words. As many groups as `cols` holds and `x` has whole ones. `true`
/// when done: only on a Cortex-M with the DSP extension (21 instructions a group: four
/// pipelined halfword loads, two `PKHBT`s, four unpacks, four subtractions, four stores);
/// elsewhere `false`, and the caller unpacks them in Rust.
#[inline(always)]
pub fn pointwise_columns(
    x: &[u8],
    plane: usize,
    p: usize,
    zero: u32,
    cols: &mut [[u32; 4]],
) -> bool {
    #[cfg(all(feature = "dsp", target_arch = "arm"))]
    {
        let groups = cols.len().min(x.len() / (4 * plane.max(1)));
        if groups == 0 {
            return true;
        }
        assert!(p + 1 < plane && (4 * groups - 1) * plane + p + 2 <= x.len());
        // SAFETY: group g < groups reads the halfwords at p + (4g + c)·plane for c < 4: the
        // last ends at (4·groups − 1)·plane + p + 2 ≤ x's length (asserted; LDRH may be
        // unaligned on a Cortex-M). It writes the 4 words of cols[g], within `cols` (groups ≤
        // its length; STR of `u32`s, aligned). The pointers it advances are its own copies.
        // CMP sets the flags.
        unsafe {
            core::arch::asm!(
                "2:",
                "ldrh {h0}, [{src}]",
                "ldrh {h1}, [{src}, {p1}]",
                "ldrh {h2}, [{src}, {p2}]",
                "ldrh {h3}, [{src}, {p3}]",
                "add {src}, {src}, {p1}, lsl #2",
                // Channels 0 and 2, then 1 and 3, side by side.
                "pkhbt {h0}, {h0}, {h2}, lsl #16",
                "pkhbt {h1}, {h1}, {h3}, lsl #16",
                "sxtb16 {h2}, {h0}",
                "sxtb16 {h0}, {h0}, ror #8",
                "sxtb16 {h3}, {h1}",
                "sxtb16 {h1}, {h1}, ror #8",
                "ssub16 {h2}, {h2}, {z}",
                "ssub16 {h0}, {h0}, {z}",
                "ssub16 {h3}, {h3}, {z}",
                "ssub16 {h1}, {h1}, {z}",
                "str {h2}, [{dst}], #4",
                "str {h0}, [{dst}], #4",
                "str {h3}, [{dst}], #4",
                "str {h1}, [{dst}], #4",
                "cmp {dst}, {end}",
                "bne 2b",
                src = inout(reg) x[p..].as_ptr() => _,
                dst = inout(reg) cols.as_mut_ptr() => _,
                end = in(reg) cols[groups..].as_ptr(),
                p1 = in(reg) plane,
                p2 = in(reg) 2 * plane,
                p3 = in(reg) 3 * plane,
                z = in(reg) zero,
                h0 = out(reg) _,
                h1 = out(reg) _,
                h2 = out(reg) _,
                h3 = out(reg) _,
                options(nostack),
            )
        };
        true
    }
    #[cfg(not(all(feature = "dsp", target_arch = "arm")))]
    {
        let _ = (x, plane, p, zero, cols);
        false
    }
}

/// What [`depthwise_rows`] reads besides the plane and writes besides the output: one
/// channel's weights and requantisation, and the loop's steps. Its layout is the assembly's.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct DepthwiseFrame {
    /// Per kernel row, its weights packed as `(w0, w1)` and `(w1, w2)` (offsets 0, 8, 16).
    pub weights: [[u32; 2]; 3],
    /// The channel's bias: both accumulators start from it (24).
    pub bias: i32,
    /// The folded requantisation ([`crate::requant::Folded`]): multiplier (28), rounding term
    /// with the zero point (32) and shift (36).
    pub multiplier: i32,
    /// See `multiplier`.
    pub round: i32,
    /// See `multiplier`.
    pub shift: u32,
    /// The fused activation's bounds, each in every byte (40, 44).
    pub min: u32,
    /// See `min`.
    pub max: u32,
    /// Bytes from a row's last word read to the next row's first (48).
    pub skip: u32,
    /// Whole pairs of output pixels a row, at least one (52).
    pub pairs: u32,
    /// Rows left: the loop counts it down (56).
    pub rows: u32,
    /// 1 when a row's width is odd: its last output is computed alone after the pairs.
    pub odd: u32,
}

/// One kernel row of a pair of outputs of stride 1 (offsets `$w` of its weights in the frame,
/// row pointer `$p`): `p0..p3` in one `LDRD`; the second accumulator's first MAC adds to `$a1`
/// (the first accumulator, the bias, in the first kernel row; itself after).
#[cfg(all(feature = "dsp", target_arch = "arm"))]
macro_rules! depthwise_row_s1 {
    ($p:literal, $w:literal, $a1:literal) => {
        concat!(
            "ldrd {x}, {y}, [{",
            $p,
            "}], #4\n",
            "ldrd {w01}, {w12}, [{f}, #",
            $w,
            "]\n",
            "smlatb {a1}, {x}, {w01}, {",
            $a1,
            "}\n",
            "smlad {a0}, {x}, {w01}, {a0}\n",
            "smlabt {a0}, {y}, {w12}, {a0}\n",
            "smlad {a1}, {y}, {w12}, {a1}\n",
        )
    };
}

/// One kernel row of a pair of outputs of stride 2: `p0..p3` in one `LDRD`, `p4` in the next
/// word (read again by the next pair), the weights packed as `(w0, w1)` and `(w2, 0)`.
#[cfg(all(feature = "dsp", target_arch = "arm"))]
macro_rules! depthwise_row_s2 {
    ($p:literal, $w:literal, $a1:literal) => {
        concat!(
            "ldrd {x}, {y}, [{",
            $p,
            "}], #8\n",
            "ldrd {w01}, {w12}, [{f}, #",
            $w,
            "]\n",
            "smlad {a1}, {y}, {w01}, {",
            $a1,
            "}\n",
            "smlad {a0}, {x}, {w01}, {a0}\n",
            "smlabb {a0}, {y}, {w12}, {a0}\n",
            "ldr {x}, [{",
            $p,
            "}]\n",
            "smlabb {a1}, {x}, {w12}, {a1}\n",
        )
    };
}

/// One kernel row of an odd width's last output, alone, at stride 1: `p0..p3` in one `LDRD`
/// (`p3` is padding), `a0`'s MACs of [`depthwise_row_s1`].
#[cfg(all(feature = "dsp", target_arch = "arm"))]
macro_rules! depthwise_single_s1 {
    ($p:literal, $w:literal) => {
        concat!(
            "ldrd {x}, {y}, [{",
            $p,
            "}], #4\n",
            "ldrd {w01}, {w12}, [{f}, #",
            $w,
            "]\n",
            "smlad {a0}, {x}, {w01}, {a0}\n",
            "smlabt {a0}, {y}, {w12}, {a0}\n",
        )
    };
}

/// One kernel row of an odd width's last output, alone, at stride 2: `p0..p3` in one `LDRD`,
/// `a0`'s MACs of [`depthwise_row_s2`].
#[cfg(all(feature = "dsp", target_arch = "arm"))]
macro_rules! depthwise_single_s2 {
    ($p:literal, $w:literal) => {
        concat!(
            "ldrd {x}, {y}, [{",
            $p,
            "}], #8\n",
            "ldrd {w01}, {w12}, [{f}, #",
            $w,
            "]\n",
            "smlad {a0}, {x}, {w01}, {a0}\n",
            "smlabb {a0}, {y}, {w12}, {a0}\n",
        )
    };
}

/// An odd width's last output, alone (24 instructions, two thirds of a pair), with the
/// kernel-row macro `$single`: from the bias, requantised, clamped and stored as one byte.
#[cfg(all(feature = "dsp", target_arch = "arm"))]
macro_rules! depthwise_single {
    ($single:ident) => {
        concat!(
            "ldr {a0}, [{f}, #24]\n",
            $single!("p0", "0"),
            $single!("p1", "8"),
            $single!("p2", "16"),
            "ldrd {x}, {y}, [{f}, #28]\n",
            "ldr {w01}, [{f}, #36]\n",
            "smmla {a0}, {a0}, {x}, {y}\n",
            "asr {a0}, {a0}, {w01}\n",
            "ssat {a0}, #8, {a0}\n",
            "ldrd {x}, {y}, [{f}, #40]\n",
            "ssub8 {w12}, {a0}, {x}\n",
            "sel {a0}, {a0}, {x}\n",
            "ssub8 {w12}, {y}, {a0}\n",
            "sel {a0}, {a0}, {y}\n",
            "strb {a0}, [{out}], #1",
        )
    };
}

/// What ends a row's pairs at stride 1 with an odd width: its last output.
#[cfg(all(feature = "dsp", target_arch = "arm"))]
macro_rules! depthwise_odd_s1 {
    () => {
        depthwise_single!(depthwise_single_s1)
    };
}

/// What ends a row's pairs at stride 2 with an odd width: its last output.
#[cfg(all(feature = "dsp", target_arch = "arm"))]
macro_rules! depthwise_odd_s2 {
    () => {
        depthwise_single!(depthwise_single_s2)
    };
}

/// What ends a row's pairs with an even width: nothing.
#[cfg(all(feature = "dsp", target_arch = "arm"))]
macro_rules! depthwise_even {
    () => {
        ""
    };
}

/// The assembly of [`depthwise_rows`] with the kernel-row macro `$row` (a pair of outputs) and
/// `$last` (what follows a row's pairs: [`depthwise_odd_s1`], [`depthwise_odd_s2`] or
/// [`depthwise_even`]): per row, each pair from the bias and three kernel rows, its
/// requantisation and store; an odd width's last output the same way, alone; the row's end.
/// A block per stride and parity: no test of the parity in the loop.
#[cfg(all(feature = "dsp", target_arch = "arm"))]
macro_rules! depthwise_rows_asm {
    (
        $row:ident,
        $last:ident,
        $plane:ident,
        $words:ident,
        $frame:ident,
        $out:ident,
        $pairs:ident
    ) => {
        core::arch::asm!(
            "2:",
            // Both accumulators start from the bias: the first MAC of each adds to it.
            "ldr {a0}, [{f}, #24]",
            $row!("p0", "0", "a0"),
            $row!("p1", "8", "a1"),
            $row!("p2", "16", "a1"),
            // Requantised with the zero point, saturated to int8, both bytes clamped at once.
            "ldrd {x}, {y}, [{f}, #28]",
            "ldr {w01}, [{f}, #36]",
            "smmla {a0}, {a0}, {x}, {y}",
            "smmla {a1}, {a1}, {x}, {y}",
            "asr {a0}, {a0}, {w01}",
            "asr {a1}, {a1}, {w01}",
            "ssat {a0}, #8, {a0}",
            "ssat {a1}, #8, {a1}",
            "bfi {a0}, {a1}, #8, #8",
            "ldrd {x}, {y}, [{f}, #40]",
            "ssub8 {w12}, {a0}, {x}",
            "sel {a0}, {a0}, {x}",
            "ssub8 {w12}, {y}, {a0}",
            "sel {a0}, {a0}, {y}",
            "strh {a0}, [{out}], #2",
            "subs {n}, {n}, #1",
            "bne 2b",
            $last!(),
            // The row's end.
            "ldrd {x}, {y}, [{f}, #48]",
            "add {p0}, {p0}, {x}",
            "add {p1}, {p1}, {x}",
            "add {p2}, {p2}, {x}",
            "mov {n}, {y}",
            "ldr {x}, [{f}, #56]",
            "subs {x}, {x}, #1",
            "str {x}, [{f}, #56]",
            "bne 2b",
            p0 = inout(reg) $plane.as_ptr() => _,
            p1 = inout(reg) $plane[$words..].as_ptr() => _,
            p2 = inout(reg) $plane[2 * $words..].as_ptr() => _,
            out = inout(reg) $out.as_mut_ptr() => _,
            f = in(reg) core::ptr::from_mut($frame),
            n = inout(reg) $pairs => _,
            a0 = out(reg) _,
            a1 = out(reg) _,
            x = out(reg) _,
            y = out(reg) _,
            w01 = out(reg) _,
            w12 = out(reg) _,
            options(nostack),
        )
    };
}

/// The outputs of `frame.rows` rows of one channel of a depthwise 3×3 convolution of stride
/// `STRIDE` (1 or 2), two pixels at a time, from its padded `plane` (rows of `words` words of
/// two 16-bit values; see [`super::depthwise`]) into `out` (rows of `2·pairs + odd` bytes).
/// `true` when done: only on a Cortex-M with the DSP extension, where a pair costs 36
/// instructions (39 at stride 2) and an odd width's last output 24; elsewhere `false`, and the
/// caller computes the rows in Rust.
#[inline(always)]
pub fn depthwise_rows<const STRIDE: usize>(
    plane: &[u32],
    words: usize,
    frame: &mut DepthwiseFrame,
    out: &mut [i8],
) -> bool {
    #[cfg(all(feature = "dsp", target_arch = "arm"))]
    {
        let (rows, pairs, odd) = (
            frame.rows as usize,
            frame.pairs as usize,
            frame.odd as usize,
        );
        let width = 2 * pairs + odd;
        // One past the last word a row reads: pair j reads words STRIDE·j to STRIDE·j + STRIDE
        // of each plane row, the odd last output words STRIDE·pairs and the next.
        let last = STRIDE * pairs + 1 + odd;
        assert!(
            (STRIDE == 1 || STRIDE == 2)
                && rows > 0
                && pairs > 0
                && odd < 2
                && last <= words
                && frame.skip as usize == 4 * STRIDE * (words - pairs - odd)
                && (STRIDE * (rows - 1) + 2) * words + last <= plane.len()
                && rows * width <= out.len()
        );
        // SAFETY: the block reads, per output row r < rows and kernel row k < 3, the words
        // from (STRIDE·r + k)·words up to one before + last: per pair j < pairs, words
        // STRIDE·j up to STRIDE·j + STRIDE (stride 1: that word and the next; stride 2: those
        // two and the one after), and for an odd width words STRIDE·pairs and the next: all
        // below (STRIDE·(rows − 1) + 2)·words + last, within `plane` (asserted). It writes
        // `width` bytes a row, the rows one after the other from `out`'s start: rows·width
        // bytes, within `out` (asserted). It reads `frame` and writes its `rows` field. The
        // pointers it advances are its own copies. SMLAD and its kin may set the sticky Q
        // flag, SSUB8 the GE flags, SUBS the others, so `preserves_flags` is not claimed.
        unsafe {
            // The block of this stride and parity, over this function's operands.
            macro_rules! rows {
                ($row:ident, $last:ident) => {
                    depthwise_rows_asm!($row, $last, plane, words, frame, out, pairs)
                };
            }
            match (STRIDE, odd) {
                (1, 0) => rows!(depthwise_row_s1, depthwise_even),
                (1, _) => rows!(depthwise_row_s1, depthwise_odd_s1),
                (_, 0) => rows!(depthwise_row_s2, depthwise_even),
                _ => rows!(depthwise_row_s2, depthwise_odd_s2),
            }
        };
        true
    }
    #[cfg(not(all(feature = "dsp", target_arch = "arm")))]
    {
        let _ = (plane, words, frame, out);
        false
    }
}

/// What [`filter_pairs`]' assembly reads, and the state it keeps, beside the weights it walks.
/// Its layout is the assembly's (the offsets are a 32-bit target's).
#[cfg(all(feature = "dsp", target_arch = "arm"))]
#[repr(C)]
struct FilterPairsFrame {
    /// The two columns' first group (0).
    cols: *const [u32; 4],
    /// The next pair of filters' biases (4), multipliers (8) and shifts (12).
    bias: *const i32,
    multiplier: *const i32,
    shift: *const i32,
    /// `2 · zero + 1`, the folded rounding term before its shift (16).
    round_unit: i32,
    /// The fused activation's bounds, each in every byte (20, 24).
    min: u32,
    max: u32,
    /// Where the next pair of filters' first output goes (28), and the bytes from one filter's
    /// outputs to the next's (32).
    out: *mut i8,
    plane: u32,
    /// How far a row's pointer ends past the next row's start: the bytes of the groups it
    /// reads less the bytes of a filter's weights (36); the bytes of a filter's weights (40);
    /// and the end of the weights of the filters it runs (44): where the next pair's first row
    /// would start after the last pair.
    back: u32,
    row: u32,
    stop: *const u8,
}

/// The requantisation of the output channels that [`filter_pairs`] computes: per filter its
/// bias, multiplier and shift, with the output's zero point and the activation's bounds.
#[derive(Clone, Copy, Debug)]
pub struct FilterOutputs<'a> {
    /// Per filter: the bias, the multiplier and the shift, each of 33 to
    /// [`crate::requant::MAX_SHIFT`] and with a rounding term that folds
    /// ([`crate::requant::Requantizer::folded`]): the caller checks.
    pub bias: &'a [i32],
    /// See `bias`.
    pub multiplier: &'a [i32],
    /// See `bias`.
    pub shift: &'a [i32],
    /// The output's zero point.
    pub zero: i32,
    /// The fused activation's bounds.
    pub min: i8,
    /// See `min`.
    pub max: i8,
}

/// The outputs of the first `2 · (filters / 2)` filters (`filters` is the length of
/// `outputs.bias`; rows of `row` int8 weights, one after the other at the start of `weights`)
/// at two neighbouring pixels whose columns are interleaved in `cols` (an even number of
/// groups, as [`dot2x2_groups`] reads them, covering at least `row` values), requantised by
/// `outputs` ([`crate::requant::Folded`], saturated and clamped): filter `f`'s go to
/// `out[f · plane]` and `out[f · plane + 1]`.
///
/// Every row is read in whole groups, as many as `cols` has, so a row shorter than that reads
/// the start of the next row, or past the last one into the rest of `weights`, which must hold
/// those bytes: the columns' lanes past `row` must be 0, so that what is read there adds
/// nothing. A pair of filters per pass: a loop of eight [`filter_pair_group`]s a pass (fewer in
/// the first when the groups are not a multiple of eight: it is entered through a computed
/// branch), then both filters' requantisation, their four outputs clamped at once and stored
/// as two halfwords: 57 instructions besides the loop on a Cortex-M with the DSP extension;
/// elsewhere the same arithmetic in Rust, so that it is tested on any host.
#[inline(always)]
pub fn filter_pairs(
    weights: &[u8],
    row: usize,
    cols: &[[u32; 4]],
    outputs: &FilterOutputs,
    out: &mut [i8],
    plane: usize,
) {
    let pairs = outputs.bias.len() / 2;
    let read = 4 * cols.len();
    assert!(
        pairs > 0
            && row > 0
            && cols.len().is_multiple_of(2)
            && read >= row
            && weights.len() >= (2 * pairs - 1) * row + read
            && outputs.multiplier.len() >= 2 * pairs
            && outputs.shift.len() >= 2 * pairs
            && plane > 0
            && out.len() >= (2 * pairs - 1) * plane + 2
    );
    #[cfg(all(feature = "dsp", target_arch = "arm"))]
    {
        let mut frame = FilterPairsFrame {
            cols: cols.as_ptr(),
            bias: outputs.bias.as_ptr(),
            multiplier: outputs.multiplier.as_ptr(),
            shift: outputs.shift.as_ptr(),
            round_unit: 2 * outputs.zero + 1,
            min: every_byte(outputs.min),
            max: every_byte(outputs.max),
            out: out.as_mut_ptr(),
            plane: plane as u32,
            back: (read - row) as u32,
            row: row as u32,
            stop: weights[2 * pairs * row..].as_ptr(),
        };
        // SAFETY: pass j (j < pairs) reads `read` bytes from the starts of filters 2j and
        // 2j + 1, (2j)·row and (2j + 1)·row (LDR, which a Cortex-M allows unaligned): the last
        // ends at (2·pairs − 1)·row + read ≤ `weights`' length (asserted); every group of
        // `cols` (LDR, aligned as `u32`s); the pair's two biases, multipliers and shifts:
        // within the slices (asserted). It writes two bytes at out[(2j)·plane] and two at
        // out[(2j + 1)·plane]: the last ends at (2·pairs − 1)·plane + 2 ≤ out's length
        // (asserted; STRH may be unaligned). Besides that it reads and writes `frame`, which
        // lives until it ends, and 16 bytes of stack below the pushed r7, which it gives back.
        // It uses r7, which no operand may name (the frame pointer): it pushes r7 first and
        // pops it last, calls nothing and addresses nothing through it but the frame, so r7
        // holds its own value again when it ends. The pointers it advances are its own copies.
        // Its one computed branch (`mov pc`) goes to one of four labels of the block's loop.
        // SMLAD may set the sticky Q flag, SSUB8 the GE flags, CMP the others, so
        // `preserves_flags` is not claimed.
        unsafe {
            core::arch::asm!(
                // The stack: the frame's address (sp), the columns' end (sp + 4) and where a
                // pair's loop is entered (sp + 8): at the pass's start for a count of groups
                // that is a multiple of eight, else 6, 4 or 2 groups before its end.
                "push {{r7}}",
                "sub sp, sp, #16",
                "str {t}, [sp]",
                "str {c0}, [sp, #4]",
                "adr {x0}, 2f",
                "cmp {c1}, #0",
                "beq 7f",
                "adr {x0}, 5f",
                "cmp {c1}, #6",
                "beq 7f",
                "adr {x0}, 4f",
                "cmp {c1}, #4",
                "beq 7f",
                "adr {x0}, 6f",
                "7:",
                "str {x0}, [sp, #8]",
                "mov r7, {t}",
                "3:",
                // A pair of filters: all four accumulators start from their filter's bias.
                "ldr {cp}, [r7, #0]",
                "ldr {x0}, [r7, #4]",
                "ldrd {a00}, {a10}, [{x0}], #8",
                "str {x0}, [r7, #4]",
                "mov {a01}, {a00}",
                "mov {a11}, {a10}",
                "ldr {x0}, [sp, #8]",
                "mov pc, {x0}",
                filter_pair_eight_groups!(),
                "ldr {t}, [sp, #4]",
                "cmp {cp}, {t}",
                "bne 2b",
                "ldr r7, [sp]",
                // The folded requantisation of both filters: round = (2·zero + 1) <<
                // (s − 33), then (round + hi(acc · m)) >> (s − 32), saturated to int8.
                "ldr {x0}, [r7, #8]",
                "ldrd {c0}, {c1}, [{x0}], #8",
                "str {x0}, [r7, #8]",
                "ldr {cp}, [r7, #12]",
                "ldrd {x0}, {x1}, [{cp}], #8",
                "str {cp}, [r7, #12]",
                "ldr {t}, [r7, #16]",
                "sub {x0}, {x0}, #33",
                "lsl {cp}, {t}, {x0}",
                "smmla {a00}, {a00}, {c0}, {cp}",
                "smmla {a01}, {a01}, {c0}, {cp}",
                "add {x0}, {x0}, #1",
                "asr {a00}, {a00}, {x0}",
                "asr {a01}, {a01}, {x0}",
                "ssat {a00}, #8, {a00}",
                "ssat {a01}, #8, {a01}",
                "bfi {a00}, {a01}, #8, #8",
                "sub {x1}, {x1}, #33",
                "lsl {cp}, {t}, {x1}",
                "smmla {a10}, {a10}, {c1}, {cp}",
                "smmla {a11}, {a11}, {c1}, {cp}",
                "add {x1}, {x1}, #1",
                "asr {a10}, {a10}, {x1}",
                "asr {a11}, {a11}, {x1}",
                "ssat {a10}, #8, {a10}",
                "ssat {a11}, #8, {a11}",
                "bfi {a10}, {a11}, #8, #8",
                // The four bytes clamped at once, then stored: the first filter's two
                // outputs, then the second's, a plane further.
                "pkhbt {a00}, {a00}, {a10}, lsl #16",
                "ldrd {c0}, {c1}, [r7, #20]",
                "ssub8 {x0}, {a00}, {c0}",
                "sel {a00}, {a00}, {c0}",
                "ssub8 {x0}, {c1}, {a00}",
                "sel {a00}, {a00}, {c1}",
                "ldrd {x0}, {x1}, [r7, #28]",
                "strh {a00}, [{x0}]",
                "lsr {a00}, {a00}, #16",
                "strh {a00}, [{x0}, {x1}]",
                "add {x0}, {x0}, {x1}, lsl #1",
                "str {x0}, [r7, #28]",
                // The next pair's rows: the first starts `back` bytes before where the
                // second's pointer stopped; none when it is the weights' end. (Three single
                // loads: pipelined, one cycle fewer than an LDRD.)
                "ldr {x0}, [r7, #36]",
                "ldr {x1}, [r7, #40]",
                "ldr {c0}, [r7, #44]",
                "sub {p0}, {p1}, {x0}",
                "add {p1}, {p0}, {x1}",
                "cmp {p0}, {c0}",
                "bne 3b",
                "add sp, sp, #16",
                "pop {{r7}}",
                p0 = inout(reg) weights.as_ptr() => _,
                p1 = inout(reg) weights[row..].as_ptr() => _,
                cp = out(reg) _,
                t = inout(reg) core::ptr::from_mut(&mut frame) => _,
                x0 = out(reg) _,
                x1 = out(reg) _,
                c0 = inout(reg) cols[cols.len()..].as_ptr() => _,
                c1 = inout(reg) cols.len() % 8 => _,
                c2 = out(reg) _,
                a00 = out(reg) _,
                a01 = out(reg) _,
                a10 = out(reg) _,
                a11 = out(reg) _,
            )
        };
    }
    #[cfg(not(all(feature = "dsp", target_arch = "arm")))]
    {
        // The assembly's arithmetic, step by step.
        let o = outputs;
        let requantise = |f: usize, acc: i32| {
            let s = o.shift[f];
            let round = (2 * o.zero + 1) << (s - 33);
            let high = (i64::from(acc.wrapping_add(o.bias[f])) * i64::from(o.multiplier[f])) >> 32;
            let v = round.wrapping_add(high as i32) >> (s - 32);
            v.clamp(-128, 127).clamp(o.min.into(), o.max.into()) as i8
        };
        let filter = |f: usize| weights[f * row..f * row + read].as_chunks::<4>().0;
        for f in (0..2 * pairs).step_by(2) {
            let [a, b, c, d] = dot2x2_groups(filter(f), filter(f + 1), cols);
            out[f * plane] = requantise(f, a);
            out[f * plane + 1] = requantise(f, b);
            out[(f + 1) * plane] = requantise(f + 1, c);
            out[(f + 1) * plane + 1] = requantise(f + 1, d);
        }
    }
}

/// One element of [`high_word_sums`]: `{hi}` ← the saturated high word of `start + (a <<
/// lift)·m₀ + (b << lift)·m₁` for the next byte of each input (9 instructions, 10 cycles on a
/// Cortex-M4; 10 and 11 with the `BFI` that puts it into its word).
#[cfg(all(feature = "dsp", target_arch = "arm"))]
macro_rules! high_word_sum {
    () => {
        concat!(
            "ldrsb {ta}, [{pa}], #1\n",
            "ldrsb {tb}, [{pb}], #1\n",
            "lsl {ta}, {ta}, {lift}\n",
            "lsl {tb}, {tb}, {lift}\n",
            "mov {lo}, {slo}\n",
            "mov {hi}, {shi}\n",
            "smlal {lo}, {hi}, {ta}, {ma}\n",
            "smlal {lo}, {hi}, {tb}, {mb}\n",
            "ssat {hi}, #8, {hi}\n",
        )
    };
}

/// The first `4 · ⌊n / 4⌋` outputs of an Add of `n = out.len()` elements whose rescaling
/// takes the high word of the sum ([`HighWordSum::two`] of `a[i]` and `b[i]`, where an input
/// that is `None` is `out` itself, read before it is written); how many it computed. On a
/// Cortex-M with the DSP extension, four elements a pass in assembly: per element two
/// `LDRSB`s, the lifts, two `SMLAL`s into the start value and an `SSAT`; per pass the four
/// bytes clamped at once (`SSUB8`/`SEL`) and stored as one word: 56 cycles for four, where
/// the compiler's code took about 30 an element. Elsewhere none (the caller computes them).
#[inline(never)]
pub fn high_word_sums(
    out: &mut [i8],
    a: Option<&[i8]>,
    b: Option<&[i8]>,
    r: &HighWordSum,
) -> usize {
    let n = out.len() & !3;
    assert!(a.is_none_or(|a| a.len() >= n) && b.is_none_or(|b| b.len() >= n));
    #[cfg(all(feature = "dsp", target_arch = "arm"))]
    {
        if n == 0 {
            return 0;
        }
        let po = out.as_mut_ptr();
        let pa = a.map_or(po.cast_const(), <[i8]>::as_ptr);
        let pb = b.map_or(po.cast_const(), <[i8]>::as_ptr);
        // SAFETY: each pass reads four bytes at the next four positions of each input (LDRSB)
        // and then writes the four outputs there (STR, which a Cortex-M allows unaligned): `n`
        // of each, n ≤ each input's length (asserted) and out's; an input that is `out` is
        // read at each position before the pass writes it. The pointers come from `out` (as
        // `*mut`) or the inputs, and are its own copies. Besides that it writes 8 bytes of
        // stack below the pushed r7, which it gives back. It keeps the input's end in r7,
        // which no operand may name (the frame pointer): it pushes r7 first and pops it last
        // and calls nothing, so r7 holds its own value again when it ends. SMLAL and SSAT may
        // set the sticky Q flag, SSUB8 the GE flags, CMP the others, so `preserves_flags` is
        // not claimed.
        unsafe {
            core::arch::asm!(
                "push {{r7}}",
                "sub sp, sp, #8",
                "str {lo}, [sp]",
                "str {hi}, [sp, #4]",
                "mov r7, {ta}",
                "1:",
                high_word_sum!(),
                "mov {acc}, {hi}",
                high_word_sum!(),
                "bfi {acc}, {hi}, #8, #8",
                high_word_sum!(),
                "bfi {acc}, {hi}, #16, #8",
                high_word_sum!(),
                "bfi {acc}, {hi}, #24, #8",
                // The four bytes clamped to the activation's bounds at once, then stored.
                "ldrd {ta}, {tb}, [sp]",
                "ssub8 {lo}, {acc}, {ta}",
                "sel {acc}, {acc}, {ta}",
                "ssub8 {lo}, {tb}, {acc}",
                "sel {acc}, {acc}, {tb}",
                "str {acc}, [{po}], #4",
                "cmp {pa}, r7",
                "bne 1b",
                "add sp, sp, #8",
                "pop {{r7}}",
                pa = inout(reg) pa => _,
                pb = inout(reg) pb => _,
                po = inout(reg) po => _,
                lift = in(reg) r.lift,
                ma = in(reg) r.multipliers[0],
                mb = in(reg) r.multipliers[1],
                slo = in(reg) r.start as u32,
                shi = in(reg) (r.start >> 32) as u32,
                ta = inout(reg) pa.wrapping_add(n) => _,
                tb = out(reg) _,
                lo = inout(reg) every_byte(r.min) => _,
                hi = inout(reg) every_byte(r.max) => _,
                acc = out(reg) _,
            )
        };
        n
    }
    #[cfg(not(all(feature = "dsp", target_arch = "arm")))]
    {
        let _ = (n, r);
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smlad_sums_both_lane_products() {
        let pack = |a: i16, b: i16| a as u16 as u32 | (b as u16 as u32) << 16;
        assert_eq!(smlad(pack(3, -4), pack(5, 6), 10), 10 + 15 - 24);
        assert_eq!(smlad(pack(-128, 127), pack(-127, -128), 0), 16256 - 16256);
        // Wrapping, as the instruction.
        let big = pack(i16::MIN, i16::MIN);
        assert_eq!(smlad(big, big, 0), i32::MIN);
    }

    #[test]
    fn smlabt_and_smlatb_multiply_one_lane_of_each() {
        let pack = |a: i16, b: i16| a as u16 as u32 | (b as u16 as u32) << 16;
        assert_eq!(smlabt(pack(3, -4), pack(5, 6), 10), 10 + 3 * 6);
        assert_eq!(smlatb(pack(3, -4), pack(5, 6), 10), 10 - 4 * 5);
        assert_eq!(smlabt(pack(-255, 0), pack(0, 127), 0), -255 * 127);
    }

    #[test]
    fn sxtb16_unpacks_even_and_odd_bytes() {
        let x = u32::from_le_bytes([0x80, 0x7f, 0xff, 0x01]);
        assert_eq!(sxtb16(x), 0xffff_ff80); // lanes −128, −1
        assert_eq!(sxtb16_ror8(x), 0x0001_007f); // lanes 127, 1
    }

    #[test]
    fn ssub16_subtracts_lane_by_lane() {
        let pack = |a: i16, b: i16| a as u16 as u32 | (b as u16 as u32) << 16;
        assert_eq!(ssub16(pack(-128, 127), pack(127, -128)), pack(-255, 255));
        assert_eq!(ssub16(pack(0, 5), pack(1, 0)), pack(-1, 5));
    }
}
