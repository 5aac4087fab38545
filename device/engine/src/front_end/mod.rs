//! The audio front end on the device, in integers: a clip of 16-bit samples → the network's
//! input (int8, or f32 for an f32 model).
//!
//! It computes what the host's front end computes in `f32` (`edgenas-data`'s `audio`): per
//! frame a window (q15) and a shift up by the bits the transform leaves free ([`headroom`]), a
//! real FFT as a complex radix-2 FFT of half the points in `i32` (q15 twiddles, unscaled: a
//! frame of at most 2,048 points cannot overflow) and a split step, the power spectrum in
//! `u64`, triangular mel filters
//! (q15 weights), `ln(energy + 10⁻⁶)` in Q16 (an integer log2: the leading bit and a 33-entry
//! table, interpolated), the DCT-II (q15) for MFCCs; then each feature's mean over the clip is
//! subtracted, the data set's normalisation applied, and the result quantised to the network's
//! input. The tables come from the host in a front-end blob ([`FrontEnd::new`] reads it in
//! place, checked; with `alloc`, [`write`] makes one). The arithmetic and the blob layout are
//! in `docs/keyword-spotting.md`.

#[allow(unsafe_code)] // Inline assembly of the inner loops: see the module.
mod dsp;
mod fft;

use crate::requant::round_shift;
use fft::fft;

/// `EDFE`, the first word of a front-end blob.
pub const MAGIC: u32 = 0x4546_4445;
/// The layout's version.
pub const VERSION: u16 = 2;
/// Bytes of the header.
pub const HEADER_BYTES: usize = 32;
/// The longest transform: larger frames could overflow the unscaled `i32` FFT.
pub const MAX_FFT: usize = 2048;
/// `10⁻⁶ × 2³²`: the host's floor under each mel energy, in the device's units (the device
/// computes twice the spectrum, × 2¹⁵), before the headroom's 2^2g.
const ENERGY_FLOOR: u64 = 4295;
/// `ln 2 × 2³²`.
const LN2_Q32: i64 = 2_977_044_472;
/// `log2(1 + i/32) × 2¹⁶`, i = 0…32.
const LOG2_TABLE: [i32; 33] = [
    0, 2909, 5732, 8473, 11136, 13727, 16248, 18704, 21098, 23433, 25711, 27936, 30109, 32234,
    34312, 36346, 38336, 40286, 42196, 44068, 45904, 47705, 49472, 51207, 52911, 54584, 56229,
    57845, 59434, 60997, 62534, 64047, 65536,
];

/// Why a front-end blob cannot be read, or a clip not run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrontEndError {
    /// The blob is not a front-end blob, or a field is out of range.
    Blob(&'static str),
    /// The blob is of another layout version than [`VERSION`]: an edgenas of another version
    /// wrote it.
    Version(u16),
    /// The blob, the clip or the scratch does not start on a 4-byte boundary.
    Misaligned,
    /// The clip does not have the front end's length.
    ClipSize {
        /// Samples the front end reads.
        expected: usize,
        /// Samples given.
        given: usize,
    },
    /// The scratch buffer is too small.
    ScratchTooSmall {
        /// Words needed ([`FrontEnd::scratch_words`]).
        needed: usize,
        /// Words given.
        given: usize,
    },
    /// The output buffer does not have the network input's size.
    OutputSize {
        /// Bytes of the network's input.
        expected: usize,
        /// Bytes given.
        given: usize,
    },
}

impl core::fmt::Display for FrontEndError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            FrontEndError::Blob(what) => write!(f, "front-end blob: {what}"),
            FrontEndError::Version(v) => write!(
                f,
                "front-end blob version {v} is not supported (this engine reads {VERSION}): \
                 export the model again"
            ),
            FrontEndError::Misaligned => {
                write!(
                    f,
                    "the front-end blob, clip and scratch must be 4-byte aligned"
                )
            }
            FrontEndError::ClipSize { expected, given } => {
                write!(
                    f,
                    "the clip has {given} samples, the front end reads {expected}"
                )
            }
            FrontEndError::ScratchTooSmall { needed, given } => {
                write!(
                    f,
                    "the front end needs {needed} scratch words, {given} were given"
                )
            }
            FrontEndError::OutputSize { expected, given } => {
                write!(
                    f,
                    "the output has {given} bytes, the network's input {expected}"
                )
            }
        }
    }
}

impl core::error::Error for FrontEndError {}

impl FrontEndError {
    /// The firmware's error code (after the engine's 1–7) and detail word.
    pub fn code(&self) -> (u32, u32) {
        match *self {
            FrontEndError::Blob(_) => (8, 0),
            FrontEndError::Version(v) => (8, v as u32),
            FrontEndError::Misaligned => (9, 0),
            FrontEndError::ClipSize { expected, .. } => (10, expected as u32),
            FrontEndError::ScratchTooSmall { needed, .. } => (11, needed as u32),
            FrontEndError::OutputSize { expected, .. } => (12, expected as u32),
        }
    }
}

/// What the front end writes: the network's input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Output {
    /// Int8, one byte a feature.
    Int8,
    /// f32, four bytes a feature.
    F32,
}

/// The per-feature step from a Q16 feature to the network's input.
#[derive(Clone, Copy, Debug, PartialEq)]
#[repr(C)]
pub struct FeatureScale {
    /// The training split's mean of the feature, Q16.
    pub mean_q16: i32,
    /// Int8: `1 / (std × input scale × 2¹⁶) ≈ multiplier / 2^shift`.
    pub multiplier: i32,
    /// Int8: the shift of `multiplier`.
    pub shift: i32,
    /// f32: `1 / (std × 2¹⁶)`.
    pub scale: f32,
}

/// A front-end blob, read in place.
#[derive(Clone, Copy, Debug)]
pub struct FrontEnd<'a> {
    mfcc: bool,
    /// The floor under the mel energies is the clip's peak power (else 10⁻⁶).
    peak_floor: bool,
    clip: usize,
    frame: usize,
    stride: usize,
    fft: usize,
    bands: usize,
    features: usize,
    output: Output,
    zero_point: i32,
    window: &'a [i16],
    /// `(cos, sin)(2πk/n)`, q15, k < n/2: one word each, for the transform's one load.
    twiddles: &'a [[i16; 2]],
    /// Per band: its first bin and its number of weights.
    ranges: &'a [u16],
    weights: &'a [i16],
    dct: &'a [i16],
    scales: &'a [u8],
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Bytes of `n` items of `size` bytes, padded to 4.
const fn padded(n: usize, size: usize) -> usize {
    (n * size).div_ceil(4) * 4
}

impl<'a> FrontEnd<'a> {
    /// Reads and checks a front-end blob (4-byte aligned).
    pub fn new(blob: &'a [u8]) -> Result<FrontEnd<'a>, FrontEndError> {
        let bad = FrontEndError::Blob;
        if !(blob.as_ptr() as usize).is_multiple_of(4) {
            return Err(FrontEndError::Misaligned);
        }
        if blob.len() < HEADER_BYTES {
            return Err(bad("shorter than its header"));
        }
        if u32_at(blob, 0) != MAGIC {
            return Err(bad("not a front-end blob (no EDFE)"));
        }
        let version = u16_at(blob, 4);
        if version != VERSION {
            return Err(FrontEndError::Version(version));
        }
        // The kind word: MFCC or log-mel in its low byte, the log floor in its high byte.
        let (kind, floor) = (blob[6], blob[7]);
        let clip = u32_at(blob, 8) as usize;
        let (frame, stride) = (u16_at(blob, 12) as usize, u16_at(blob, 14) as usize);
        let (fft, bands) = (u16_at(blob, 16) as usize, u16_at(blob, 18) as usize);
        let features = u16_at(blob, 20) as usize;
        let output = match u16_at(blob, 22) {
            0 => Output::Int8,
            1 => Output::F32,
            _ => return Err(bad("an unknown output type")),
        };
        let n_weights = u32_at(blob, 24) as usize;
        let zero_point = u32_at(blob, 28) as i32;
        if kind > 1 {
            return Err(bad("an unknown kind"));
        }
        if floor > 1 {
            return Err(bad("an unknown log floor"));
        }
        if !fft.is_power_of_two() || !(16..=MAX_FFT).contains(&fft) || frame > fft || frame == 0 {
            return Err(bad("the frame or transform length is out of range"));
        }
        if stride == 0 || clip < frame || bands == 0 || features == 0 {
            return Err(bad("the clip, stride, bands or features are out of range"));
        }
        let mfcc = kind == 1;
        if (mfcc && features > bands) || (!mfcc && features != bands) {
            return Err(bad("the features do not fit the bands"));
        }
        let dct_len = if mfcc { features * bands } else { 0 };
        let sizes = [
            padded(frame, 2),
            padded(fft, 2),
            padded(2 * bands, 2),
            padded(n_weights, 2),
            padded(dct_len, 2),
            features * core::mem::size_of::<FeatureScale>(),
        ];
        let total = sizes.iter().fold(HEADER_BYTES, |a, s| a.saturating_add(*s));
        if blob.len() != total {
            return Err(bad("its length does not match its header"));
        }
        let mut at = HEADER_BYTES;
        let mut section = |size: usize| {
            let s = &blob[at..at + size];
            at += size;
            s
        };
        let i16s = |s: &'a [u8], n: usize| -> &'a [i16] { &bytemuck::cast_slice(s)[..n] };
        let window = i16s(section(sizes[0]), frame);
        let twiddles: &[[i16; 2]] = bytemuck::cast_slice(section(sizes[1]));
        let ranges: &[u16] = &bytemuck::cast_slice(section(sizes[2]))[..2 * bands];
        let weights = i16s(section(sizes[3]), n_weights);
        let dct = i16s(section(sizes[4]), dct_len);
        let scales = section(sizes[5]);
        let mut used = 0usize;
        for b in 0..bands {
            let (first, len) = (ranges[2 * b] as usize, ranges[2 * b + 1] as usize);
            if first + len > fft / 2 + 1 {
                return Err(bad("a mel filter reaches past the spectrum"));
            }
            used += len;
        }
        if used != n_weights {
            return Err(bad("the filters' weights do not add up"));
        }
        let fe = FrontEnd {
            mfcc,
            peak_floor: floor == 1,
            clip,
            frame,
            stride,
            fft,
            bands,
            features,
            output,
            zero_point,
            window,
            twiddles,
            ranges,
            weights,
            dct,
            scales,
        };
        if (0..features).any(|k| !(0..=62).contains(&fe.scale(k).shift)) {
            return Err(bad("a shift is out of range"));
        }
        Ok(fe)
    }

    /// Samples of a clip.
    pub fn clip_samples(&self) -> usize {
        self.clip
    }

    /// Frames of a clip.
    pub fn frames(&self) -> usize {
        1 + (self.clip - self.frame) / self.stride
    }

    /// Features of a frame.
    pub fn features(&self) -> usize {
        self.features
    }

    /// What it writes.
    pub fn output(&self) -> Output {
        self.output
    }

    /// Bytes of the network input it writes.
    pub fn output_bytes(&self) -> usize {
        let per = match self.output {
            Output::Int8 => 1,
            Output::F32 => 4,
        };
        self.frames() * self.features * per
    }

    /// 32-bit words of scratch a run needs: the transform (of half the frame's points, each
    /// complex), the power of each of its n/2 + 1 bins (64 bits each), the frame's mel
    /// energies and the clip's feature map.
    pub fn scratch_words(&self) -> usize {
        self.fft + 2 * (self.fft / 2 + 1) + self.bands + self.frames() * self.features
    }

    fn scale(&self, k: usize) -> FeatureScale {
        let s = &self.scales[k * 16..k * 16 + 16];
        FeatureScale {
            mean_q16: u32_at(s, 0) as i32,
            multiplier: u32_at(s, 4) as i32,
            shift: u32_at(s, 8) as i32,
            scale: f32::from_bits(u32_at(s, 12)),
        }
    }

    /// [`FrontEnd::run`] on a clip given as little-endian bytes and scratch given as bytes
    /// (both 4-byte aligned): what the firmware hands it from the host's buffers.
    pub fn run_bytes(
        &self,
        clip: &[u8],
        scratch: &mut [u8],
        out: &mut [u8],
    ) -> Result<(), FrontEndError> {
        let clip: &[i16] = bytemuck::try_cast_slice(clip).map_err(|_| FrontEndError::Misaligned)?;
        let scratch: &mut [i32] =
            bytemuck::try_cast_slice_mut(scratch).map_err(|_| FrontEndError::Misaligned)?;
        self.run(clip, scratch, out)
    }

    /// Computes the network's input for `clip` into `out`.
    pub fn run(
        &self,
        clip: &[i16],
        scratch: &mut [i32],
        out: &mut [u8],
    ) -> Result<(), FrontEndError> {
        if clip.len() != self.clip {
            return Err(FrontEndError::ClipSize {
                expected: self.clip,
                given: clip.len(),
            });
        }
        if scratch.len() < self.scratch_words() {
            return Err(FrontEndError::ScratchTooSmall {
                needed: self.scratch_words(),
                given: scratch.len(),
            });
        }
        if out.len() != self.output_bytes() {
            return Err(FrontEndError::OutputSize {
                expected: self.output_bytes(),
                given: out.len(),
            });
        }
        let (n, frames, features) = (self.fft, self.frames(), self.features);
        // A frame's steps are functions the compiler keeps out of line: inlined into the
        // firmware's command loop, they spilled registers (4 % more cycles on the M4).
        let half = n / 2;
        let (z, rest) = scratch.split_at_mut(n);
        let z: &mut [[i32; 2]] = bytemuck::cast_slice_mut(z);
        let (power, rest) = rest.split_at_mut(2 * (half + 1));
        let (mel, rest) = rest.split_at_mut(self.bands);
        let map = &mut rest[..frames * features];
        let g = headroom(half);
        let floor = self.floor(clip, g);
        for t in 0..frames {
            self.window(&clip[t * self.stride..t * self.stride + self.frame], g, z);
            fft(z, self.twiddles);
            fft::power(z, self.twiddles, power);
            self.log_mel(power, floor, g, mel);
            let row = &mut map[t * features..(t + 1) * features];
            if self.mfcc {
                for (k, v) in row.iter_mut().enumerate() {
                    let coefficients = &self.dct[k * self.bands..(k + 1) * self.bands];
                    let acc: i64 = coefficients
                        .iter()
                        .zip(mel.iter())
                        .map(|(&c, &m)| c as i64 * m as i64)
                        .sum();
                    *v = round_shift(acc, 15) as i32;
                }
            } else {
                row.copy_from_slice(mel);
            }
        }
        for k in 0..features {
            let sum: i64 = (0..frames).map(|t| map[t * features + k] as i64).sum();
            let mean = (sum + frames as i64 / 2).div_euclid(frames as i64) as i32;
            let s = self.scale(k);
            for t in 0..frames {
                let v = map[t * features + k] - mean - s.mean_q16;
                let i = t * features + k;
                match self.output {
                    Output::Int8 => {
                        let q = round_shift(v as i64 * s.multiplier as i64, s.shift)
                            + self.zero_point as i64;
                        out[i] = q.clamp(-128, 127) as i8 as u8;
                    }
                    Output::F32 => {
                        out[4 * i..4 * i + 4].copy_from_slice(&(v as f32 * s.scale).to_le_bytes())
                    }
                }
            }
        }
        Ok(())
    }

    /// The real frame of n samples as n/2 complex ones (even samples real, odd imaginary),
    /// windowed, × 2^g ([`headroom`]), in bit-reversed order for the transform; zeros past
    /// the frame.
    #[inline(never)]
    fn window(&self, samples: &[i16], g: u32, z: &mut [[i32; 2]]) {
        let bits = z.len().trailing_zeros();
        for m in self.frame.div_ceil(2)..z.len() {
            z[reversed(m, bits)] = [0; 2];
        }
        if self.frame % 2 == 1 {
            let (x, w) = (samples[self.frame - 1], self.window[self.frame - 1]);
            z[reversed(self.frame / 2, bits)] = [windowed(x, w, g), 0];
        }
        dsp::window_pairs(samples, self.window, g, z);
    }

    /// What is added to each mel energy of `clip` before its logarithm, in the device's units
    /// (the host's energy × 2^(32 + 2g)): the host's 10⁻⁶, or the power of the clip's largest
    /// sample, `(max(1, max |x|) / 2¹⁵)²`.
    #[inline(never)]
    fn floor(&self, clip: &[i16], g: u32) -> u64 {
        if !self.peak_floor {
            return ENERGY_FLOOR << (2 * g);
        }
        let peak = dsp::peak(clip).max(1) as u64;
        (peak * peak) << (2 + 2 * g)
    }

    /// The frame's mel energies' natural logarithms, Q16, from the power of each bin (× 2^2g),
    /// each over `floor` ([`FrontEnd::floor`]).
    #[inline(never)]
    fn log_mel(&self, power: &[i32], floor: u64, g: u32, mel: &mut [i32]) {
        // ln(E) = (log2(E) − 32 − 2g) × ln 2: the device's power is the host's × 2^(32 + 2g).
        let offset = (32 + 2 * g as i64) << 16;
        let mut w = 0;
        for (b, m) in mel.iter_mut().enumerate() {
            let (first, len) = (self.ranges[2 * b] as usize, self.ranges[2 * b + 1] as usize);
            let bins: &[[i32; 2]] = bytemuck::cast_slice(&power[2 * first..2 * (first + len)]);
            // Σ power × weight, its low and high words apart (each term one multiply-
            // accumulate; neither sum can overflow: a band's energy is at most the frame's,
            // below 2⁵⁷ by Parseval), then / 2¹⁵.
            let (low, high) = dsp::band_sums(bins, &self.weights[w..w + len]);
            let energy = (high << 17) + (low >> 15);
            w += len;
            let log2 = log2_q16(energy.saturating_add(floor)) as i64 - offset;
            *m = round_shift(log2 * LN2_Q32, 32) as i32;
        }
    }
}

/// A sample times its q15 window weight, × 2^g ([`headroom`]), rounded: `(x · w + 2^(14−g))
/// >> (15 − g)`.
fn windowed(x: i16, w: i16, g: u32) -> i32 {
    (x as i32 * w as i32 + (1 << (14 - g))) >> (15 - g)
}

/// `m` with its low `bits` bits reversed: where the transform reads complex sample m.
fn reversed(m: usize, bits: u32) -> usize {
    m.reverse_bits() >> (usize::BITS - bits)
}

/// `log2(v) × 2¹⁶` for `v ≥ 1`: the leading bit, and the table interpolated on the next 21
/// bits (error below 2 × 10⁻⁴).
pub fn log2_q16(v: u64) -> i32 {
    let top = 63 - v.leading_zeros() as i32;
    let m = if top >= 30 {
        v >> (top - 30)
    } else {
        v << (30 - top)
    } as u32;
    let frac = m - (1 << 30);
    let (i, rest) = ((frac >> 25) as usize, ((frac >> 9) & 0xFFFF) as i32);
    let (a, b) = (LOG2_TABLE[i], LOG2_TABLE[i + 1]);
    (top << 16) + a + (((b - a) * rest) >> 16)
}

/// The bits `g` a frame's samples are shifted up by before the transform of `half` complex
/// points: as many as keep every value of the transform and the split step within 31 bits
/// (|Z| ≤ half · 2¹⁶ · 2^g) and the power within 64 (at most 4: the rounding of each product
/// is then a sixteenth of a sample's unit).
pub fn headroom(half: usize) -> u32 {
    11u32.saturating_sub(half.trailing_zeros()).min(4)
}

/// The tables and settings of a front-end blob, for [`write`].
#[cfg(feature = "alloc")]
pub struct Tables<'a> {
    /// MFCCs (else log-mel).
    pub mfcc: bool,
    /// The floor under the mel energies is the clip's peak power (else 10⁻⁶ of full scale).
    pub peak_floor: bool,
    /// Samples of a clip, of a frame, from one frame to the next.
    pub clip: usize,
    /// Samples of a frame.
    pub frame: usize,
    /// Samples between frames.
    pub stride: usize,
    /// The transform's length (a power of two).
    pub fft: usize,
    /// Hann window, q15.
    pub window: &'a [i16],
    /// Per band: first bin and its weights (q15).
    pub filters: &'a [(u16, alloc::vec::Vec<i16>)],
    /// `features × bands` DCT-II, q15 (MFCC only).
    pub dct: &'a [i16],
    /// Features a frame.
    pub features: usize,
    /// What it writes.
    pub output: Output,
    /// The network input's zero point (int8).
    pub zero_point: i32,
    /// One for each feature.
    pub scales: &'a [FeatureScale],
}

/// A front-end blob of `t` (the layout [`FrontEnd::new`] reads).
#[cfg(feature = "alloc")]
pub fn write(t: &Tables) -> alloc::vec::Vec<u8> {
    use alloc::vec::Vec;
    let n_weights: usize = t.filters.iter().map(|(_, w)| w.len()).sum();
    let mut out = Vec::new();
    out.extend(MAGIC.to_le_bytes());
    out.extend(VERSION.to_le_bytes());
    out.extend([t.mfcc as u8, t.peak_floor as u8]);
    out.extend((t.clip as u32).to_le_bytes());
    for v in [t.frame, t.stride, t.fft, t.filters.len(), t.features] {
        out.extend((v as u16).to_le_bytes());
    }
    out.extend((matches!(t.output, Output::F32) as u16).to_le_bytes());
    out.extend((n_weights as u32).to_le_bytes());
    out.extend(t.zero_point.to_le_bytes());
    let pad = |out: &mut Vec<u8>| out.resize(out.len().div_ceil(4) * 4, 0);
    let i16s = |out: &mut Vec<u8>, v: &mut dyn Iterator<Item = i16>| {
        for x in v {
            out.extend(x.to_le_bytes());
        }
        pad(out);
    };
    let mut twiddles = (0..t.fft / 2).flat_map(|k| {
        let (c, s) = twiddle(k, t.fft);
        [q15(c), q15(s)]
    });
    i16s(&mut out, &mut t.window.iter().copied());
    i16s(&mut out, &mut twiddles);
    for (first, w) in t.filters {
        out.extend(first.to_le_bytes());
        out.extend((w.len() as u16).to_le_bytes());
    }
    pad(&mut out);
    i16s(
        &mut out,
        &mut t.filters.iter().flat_map(|(_, w)| w.iter().copied()),
    );
    i16s(&mut out, &mut t.dct.iter().copied());
    for s in t.scales {
        out.extend(s.mean_q16.to_le_bytes());
        out.extend(s.multiplier.to_le_bytes());
        out.extend(s.shift.to_le_bytes());
        out.extend(s.scale.to_bits().to_le_bytes());
    }
    out
}

/// A value in −1…1 as q15, saturated.
pub fn q15(x: f64) -> i16 {
    libm::round(x * 32768.0).clamp(-32768.0, 32767.0) as i16
}

#[cfg(feature = "alloc")]
fn twiddle(k: usize, n: usize) -> (f64, f64) {
    let a = 2.0 * core::f64::consts::PI * k as f64 / n as f64;
    (libm::cos(a), libm::sin(a))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_peak_is_the_largest_magnitude_wherever_it_lies() {
        assert_eq!(dsp::peak(&[]), 0);
        for len in [1, 7, 8, 9, 16, 23] {
            for at in 0..len {
                for extreme in [-32768i16, 32767, -5, 3] {
                    let mut clip = [1i16; 23];
                    clip[at] = extreme;
                    assert_eq!(
                        dsp::peak(&clip[..len]),
                        extreme.unsigned_abs().max(1) as u32
                    );
                }
            }
        }
    }

    #[test]
    fn the_integer_log2_is_within_two_ten_thousandths() {
        for v in [1u64, 2, 3, 1000, 1074, 123_456_789, 1 << 40, u64::MAX >> 3] {
            let exact = (v as f64).log2();
            let ours = log2_q16(v) as f64 / 65536.0;
            assert!((ours - exact).abs() < 2e-4, "{v}: {ours} vs {exact}");
        }
    }

    #[test]
    fn a_bad_blob_is_an_error() {
        let words = [0u32; 16];
        let bytes: &[u8] = bytemuck::cast_slice(&words);
        assert_eq!(
            FrontEnd::new(bytes).unwrap_err(),
            FrontEndError::Blob("not a front-end blob (no EDFE)")
        );
        assert!(FrontEnd::new(&bytes[..8]).is_err());
    }

    #[test]
    fn a_blob_of_another_version_says_to_export_again() {
        let mut words = [0u32; 16];
        words[0] = MAGIC;
        words[1] = 1;
        let bytes: &[u8] = bytemuck::cast_slice(&words);
        let e = FrontEnd::new(bytes).unwrap_err();
        assert_eq!(e, FrontEndError::Version(1));
        assert_eq!(
            alloc::format!("{e}"),
            "front-end blob version 1 is not supported (this engine reads 2): export the model again"
        );
    }
}
