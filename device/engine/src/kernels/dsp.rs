//! Packed 16-bit arithmetic of the Cortex-M DSP extension: a dual multiply-accumulate
//! (`SMLAD`), byte unpacking (`SXTB16`) and a dual subtraction (`SSUB16`). Built for an Arm target with the `dsp` feature
//! (a Cortex-M4, M7 or M33), each is one instruction; elsewhere each is plain Rust with the same
//! result, so that the kernels built on them run, and are tested, on any host.
//!
//! A word holds two signed 16-bit lanes: lane 0 in bits 0–15, lane 1 in bits 16–31.
//!
//! This is the engine's only `unsafe` code: four inline-assembly instructions that read and
//! write registers only (no memory, no stack).

/// `acc + a₀·b₀ + a₁·b₁` over the lanes of `a` and `b`, wrapping (`SMLAD`).
#[inline(always)]
pub fn smlad(a: u32, b: u32, acc: i32) -> i32 {
    #[cfg(all(feature = "dsp", target_arch = "arm"))]
    {
        let mut acc = acc;
        // SAFETY: SMLAD reads three registers and writes one; it touches no memory. It may set
        // the sticky Q flag, which is why `preserves_flags` is not claimed. The accumulator
        // stays in its register (tied operand): no moves between the MACs of a loop.
        unsafe {
            core::arch::asm!(
                "smlad {c}, {a}, {b}, {c}",
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
        let lo = (a as i16 as i32) * (b as i16 as i32);
        let hi = ((a >> 16) as i16 as i32) * ((b >> 16) as i16 as i32);
        acc.wrapping_add(lo).wrapping_add(hi)
    }
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
