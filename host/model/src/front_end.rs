//! The audio front end of a keyword-spotting space: how a clip becomes the network's input.
//!
//! A clip of `clip_ms` at `sample_rate` is cut into frames of `frame_ms` every `stride_ms`;
//! each frame is windowed (Hann), zero-padded to a power of two and transformed; its power
//! spectrum is pooled by `mel_bands` triangular mel filters and its logarithm taken (log-mel),
//! and for MFCCs the first `coefficients` of its DCT-II kept. The features of a clip are a
//! 1 × frames × features map. The space file's `[front_end]` table gives these settings, each
//! a literal or a choice (`docs/keyword-spotting.md`); the computation itself is
//! `edgenas-data`'s.

use serde::{Deserialize, Serialize};

/// Which features the front end computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FrontEndKind {
    /// Log mel-filterbank energies: `mel_bands` features a frame.
    LogMel,
    /// Mel-frequency cepstral coefficients: `coefficients` features a frame.
    Mfcc,
}

impl FrontEndKind {
    /// The words of a space file, in order.
    pub const NAMES: [&'static str; 2] = ["log_mel", "mfcc"];

    /// The kind a space-file word names.
    pub fn from_name(name: &str) -> Option<FrontEndKind> {
        match name {
            "log_mel" => Some(FrontEndKind::LogMel),
            "mfcc" => Some(FrontEndKind::Mfcc),
            _ => None,
        }
    }
}

/// The sample rates a front end reads (audio at the other one of the two is resampled).
pub const SAMPLE_RATES: [u32; 2] = [8000, 16000];

/// A front end with every setting decided (one genotype's).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FrontEnd {
    /// The features.
    pub kind: FrontEndKind,
    /// Samples a second of the clips it reads.
    pub sample_rate: u32,
    /// The length every clip is padded or cut to.
    pub clip_ms: u32,
    /// The length of one analysis frame.
    pub frame_ms: u32,
    /// The step from one frame to the next.
    pub stride_ms: u32,
    /// Triangular mel filters.
    pub mel_bands: u32,
    /// Cepstral coefficients kept (MFCC only; equals `mel_bands` for log-mel).
    pub coefficients: u32,
}

impl FrontEnd {
    /// Samples of a clip.
    pub fn clip_samples(&self) -> usize {
        self.samples(self.clip_ms)
    }

    /// Samples of a frame.
    pub fn frame_samples(&self) -> usize {
        self.samples(self.frame_ms)
    }

    /// Samples from one frame to the next.
    pub fn stride_samples(&self) -> usize {
        self.samples(self.stride_ms)
    }

    /// The transform's length: the frame rounded up to a power of two.
    pub fn fft_len(&self) -> usize {
        self.frame_samples().next_power_of_two()
    }

    /// Frames of a clip (the feature map's height).
    pub fn frames(&self) -> usize {
        1 + (self.clip_samples() - self.frame_samples()) / self.stride_samples()
    }

    /// Features of a frame (the feature map's width).
    pub fn features(&self) -> usize {
        match self.kind {
            FrontEndKind::LogMel => self.mel_bands as usize,
            FrontEndKind::Mfcc => self.coefficients as usize,
        }
    }

    /// The network input: (channels, height, width) = (1, frames, features).
    pub fn dims(&self) -> (usize, usize, usize) {
        (1, self.frames(), self.features())
    }

    /// Floating-point multiply-accumulates of one clip: windowing, a real FFT (counted as
    /// `2·n·log2 n` for `n` points), the power spectrum, the mel filters (each spans a share of
    /// the bins; counted as every bin once, since the filters overlap by half) and the DCT.
    pub fn macs(&self) -> u64 {
        let n = self.fft_len() as u64;
        let bins = n / 2 + 1;
        let per_frame = self.frame_samples() as u64
            + 2 * n * n.trailing_zeros() as u64
            + 2 * bins
            + 2 * bins
            + match self.kind {
                FrontEndKind::LogMel => 0,
                FrontEndKind::Mfcc => self.mel_bands as u64 * self.coefficients as u64,
            };
        per_frame * self.frames() as u64
    }

    /// Checks that the settings make a front end, or says which does not.
    pub fn check(&self) -> Result<(), String> {
        if !SAMPLE_RATES.contains(&self.sample_rate) {
            return Err(format!(
                "sample_rate {} Hz: a front end reads 8000 or 16000 Hz",
                self.sample_rate
            ));
        }
        if self.frame_ms == 0 || self.stride_ms == 0 || self.clip_ms == 0 {
            return Err("clip_ms, frame_ms and stride_ms must be positive".into());
        }
        if self.frame_ms > self.clip_ms {
            return Err(format!(
                "frame_ms {} is longer than the clip ({} ms)",
                self.frame_ms, self.clip_ms
            ));
        }
        if self.frame_samples() < 16 {
            return Err(format!(
                "frame_ms {} is {} samples; a frame needs at least 16",
                self.frame_ms,
                self.frame_samples()
            ));
        }
        let bins = self.fft_len() / 2 + 1;
        if self.mel_bands < 2 || self.mel_bands as usize > bins / 2 {
            return Err(format!(
                "mel_bands {} must be 2 to {} (half the {bins} bins of a {}-point transform)",
                self.mel_bands,
                bins / 2,
                self.fft_len()
            ));
        }
        if self.kind == FrontEndKind::Mfcc
            && (self.coefficients == 0 || self.coefficients > self.mel_bands)
        {
            return Err(format!(
                "coefficients {} must be 1 to mel_bands ({})",
                self.coefficients, self.mel_bands
            ));
        }
        Ok(())
    }

    /// One line for tables: `mfcc 10×49 (40/20 ms, 40 mel)`.
    pub fn summary(&self) -> String {
        let kind = match self.kind {
            FrontEndKind::LogMel => "log-mel",
            FrontEndKind::Mfcc => "mfcc",
        };
        format!(
            "{kind} {}×{} ({}/{} ms, {} mel, {} ms at {} Hz)",
            self.features(),
            self.frames(),
            self.frame_ms,
            self.stride_ms,
            self.mel_bands,
            self.clip_ms,
            self.sample_rate
        )
    }

    fn samples(&self, ms: u32) -> usize {
        (self.sample_rate as u64 * ms as u64 / 1000) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mlperf() -> FrontEnd {
        FrontEnd {
            kind: FrontEndKind::Mfcc,
            sample_rate: 16000,
            clip_ms: 1000,
            frame_ms: 40,
            stride_ms: 20,
            mel_bands: 40,
            coefficients: 10,
        }
    }

    #[test]
    fn mlperf_tiny_settings_give_its_49_by_10_map() {
        let f = mlperf();
        assert_eq!(f.check(), Ok(()));
        assert_eq!(
            (f.frame_samples(), f.stride_samples(), f.fft_len()),
            (640, 320, 1024)
        );
        assert_eq!(f.dims(), (1, 49, 10));
    }

    #[test]
    fn settings_that_make_no_front_end_are_named() {
        let too_many = FrontEnd {
            coefficients: 41,
            ..mlperf()
        };
        assert!(too_many.check().unwrap_err().contains("coefficients 41"));
        let long = FrontEnd {
            frame_ms: 2000,
            ..mlperf()
        };
        assert!(long.check().unwrap_err().contains("longer than the clip"));
        let rate = FrontEnd {
            sample_rate: 44100,
            ..mlperf()
        };
        assert!(rate.check().unwrap_err().contains("8000 or 16000"));
    }
}
