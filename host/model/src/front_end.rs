//! The audio front end of a keyword-spotting space: how a clip becomes the network's input.
//!
//! A clip of `clip_ms` at `sample_rate` is cut into frames of `frame_ms` every `stride_ms`;
//! each frame is windowed (Hann), zero-padded to a power of two and transformed; its power
//! spectrum is pooled by `mel_bands` triangular mel filters and its logarithm taken (log-mel),
//! and for MFCCs the first `coefficients` of its DCT-II kept. The features of a clip are a
//! 1 × frames × features map. The space file's `[front_end]` table gives these settings, each
//! a literal or a choice (`docs/keyword-spotting.md`); the computation itself is
//! `edgenas-data`'s.

use edgenas_engine::front_end::{self as device, FeatureScale, Output, Tables, q15};
use edgenas_engine::requant::quantize_multiplier;
use serde::{Deserialize, Serialize};

use crate::board::{Board, BoardKind, CYCLE_TABLES, CycleTable};
use crate::named::Named;

/// Which features the front end computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FrontEndKind {
    /// Log mel-filterbank energies: `mel_bands` features a frame.
    LogMel,
    /// Mel-frequency cepstral coefficients: `coefficients` features a frame.
    Mfcc,
}

/// The words of a space file's `type`.
impl Named for FrontEndKind {
    const ALL: &'static [FrontEndKind] = &[FrontEndKind::LogMel, FrontEndKind::Mfcc];

    fn name(self) -> &'static str {
        match self {
            FrontEndKind::LogMel => "log_mel",
            FrontEndKind::Mfcc => "mfcc",
        }
    }

    fn help(self) -> &'static str {
        match self {
            FrontEndKind::LogMel => "Log mel-filterbank energies, one feature a band",
            FrontEndKind::Mfcc => "Mel-frequency cepstral coefficients, the DCT of those",
        }
    }
}

/// What is added to each mel energy before its logarithm: the floor that silence and the
/// quietest bands sink to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFloor {
    /// 10⁻⁶ of a full-scale sample's power, whatever the clip: a quiet voice's energies sit
    /// nearer it than a loud one's. Front ends stored before edgenas had this setting used it.
    #[default]
    Fixed,
    /// The power of the clip's largest sample, `(max(1, max |x|) / 32768)²`: every energy and
    /// the floor scale alike with the clip's gain, so that once the clip's mean is subtracted
    /// the features do not depend on how loud it was recorded (and digital silence and a quiet
    /// room both sink to the floor).
    Peak,
}

/// The words of a space file's `log_floor`.
impl Named for LogFloor {
    const ALL: &'static [LogFloor] = &[LogFloor::Fixed, LogFloor::Peak];

    fn name(self) -> &'static str {
        match self {
            LogFloor::Fixed => "fixed",
            LogFloor::Peak => "peak",
        }
    }

    fn help(self) -> &'static str {
        match self {
            LogFloor::Fixed => "10⁻⁶ of a full-scale sample's power, whatever the clip",
            LogFloor::Peak => {
                "The power of the clip's largest sample: features independent of gain"
            }
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
    /// The floor under the mel energies.
    #[serde(default)]
    pub log_floor: LogFloor,
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

    /// RAM the device front end needs beside the network's arena (which holds its output, the
    /// network's input): the clip (16-bit samples) and its scratch (`i32` words: the
    /// transform of half the frame's points, the power of its bins, a frame's mel energies
    /// and the clip's feature map; `edgenas_engine::front_end::FrontEnd::scratch_words`).
    pub fn device_ram_bytes(&self) -> usize {
        let n = self.fft_len();
        let scratch =
            n + 2 * (n / 2 + 1) + self.mel_bands as usize + self.frames() * self.features();
        2 * self.clip_samples() + 4 * scratch
    }

    /// Flash of the device front end's tables: its blob's length (the engine's code is the
    /// runtime's).
    pub fn device_flash_bytes(&self) -> usize {
        self.device_blob(&[], &[], DeviceInput::F32).len()
    }

    /// The device front end's cycles for one clip on a core of `model`: its work per frame
    /// (complex points of the transform, radix-2 butterflies, mel bands, DCT multiply-
    /// accumulates) at the core's cycles for each, and the clip's peak (its samples) under
    /// [`LogFloor::Peak`].
    pub fn device_cycles(&self, model: &FrontEndCycles) -> f64 {
        let points = self.fft_len() as f64 / 2.0;
        let bands = self.mel_bands as f64;
        let dct = match self.kind {
            FrontEndKind::LogMel => 0.0,
            FrontEndKind::Mfcc => bands * self.coefficients as f64,
        };
        let per_frame = model.per_point * points
            + model.per_butterfly * points / 2.0 * points.log2()
            + model.per_band * bands
            + model.per_dct_mac * dct;
        let peak = match self.log_floor {
            LogFloor::Fixed => 0.0,
            LogFloor::Peak => model.per_sample * self.clip_samples() as f64,
        };
        per_frame * self.frames() as f64 + peak
    }

    /// The device front end's latency on `board`, predicted by [`FrontEnd::device_cycles`]
    /// with the [`FrontEndCycles`] of the board's core's cycle table (a core without one takes
    /// the Cortex-M4's) at the board's clock — a prediction until the board runs it
    /// (`edgenas measure` runs it on an emulated board). `None` for a board of no clock (the
    /// host).
    pub fn predicted_ms(&self, board: &Board) -> Option<f64> {
        if board.kind == BoardKind::Host || board.clock_hz == 0 {
            return None;
        }
        let table = CycleTable::of(&board.core).unwrap_or(&CYCLE_TABLES[0]);
        Some(self.device_cycles(&table.front_end) / board.clock_hz as f64 * 1000.0)
    }

    /// Checks that the settings make a front end, or says which does not.
    pub fn check(&self) -> Result<(), FrontEndSettingError> {
        use FrontEndSettingError as E;
        if !SAMPLE_RATES.contains(&self.sample_rate) {
            return Err(E::SampleRate(self.sample_rate));
        }
        if self.frame_ms == 0 || self.stride_ms == 0 || self.clip_ms == 0 {
            return Err(E::NotPositive);
        }
        if self.frame_ms > self.clip_ms {
            return Err(E::FrameLongerThanClip {
                frame_ms: self.frame_ms,
                clip_ms: self.clip_ms,
            });
        }
        if self.frame_samples() < 16 {
            return Err(E::FrameTooShort {
                frame_ms: self.frame_ms,
                samples: self.frame_samples(),
            });
        }
        let bins = self.fft_len() / 2 + 1;
        if self.mel_bands < 2 || self.mel_bands as usize > bins / 2 {
            return Err(E::MelBands {
                mel_bands: self.mel_bands,
                bins,
                transform: self.fft_len(),
            });
        }
        if self.kind == FrontEndKind::Mfcc
            && (self.coefficients == 0 || self.coefficients > self.mel_bands)
        {
            return Err(E::Coefficients {
                coefficients: self.coefficients,
                mel_bands: self.mel_bands,
            });
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

    /// The Hann window of a frame.
    pub fn window(&self) -> Vec<f64> {
        let frame = self.frame_samples();
        (0..frame)
            .map(|i| 0.5 - 0.5 * (std::f64::consts::TAU * i as f64 / frame as f64).cos())
            .collect()
    }

    /// Triangular filters evenly spaced in mel (HTK: `2595 · log10(1 + f / 700)`) from
    /// [`LOWEST_HZ`] to half the sample rate, each rising from its lower neighbour's centre to
    /// its own and falling to the next one's: per band, its first bin and the weights from
    /// there.
    pub fn mel_filters(&self) -> Vec<(usize, Vec<f64>)> {
        let n = self.fft_len();
        let bands = self.mel_bands as usize;
        let (lo, hi) = (mel(LOWEST_HZ), mel(self.sample_rate as f64 / 2.0));
        let edges: Vec<f64> = (0..bands + 2)
            .map(|i| hz(lo + (hi - lo) * i as f64 / (bands + 1) as f64))
            .collect();
        let bin_hz = self.sample_rate as f64 / n as f64;
        (0..bands)
            .map(|b| {
                let (left, centre, right) = (edges[b], edges[b + 1], edges[b + 2]);
                let first = (left / bin_hz).ceil() as usize;
                let last = ((right / bin_hz).floor() as usize).min(n / 2);
                let weights = (first..=last)
                    .map(|k| {
                        let fk = k as f64 * bin_hz;
                        let w = if fk <= centre {
                            (fk - left) / (centre - left)
                        } else {
                            (right - fk) / (right - centre)
                        };
                        w.max(0.0)
                    })
                    .collect();
                (first, weights)
            })
            .collect()
    }

    /// The orthonormal DCT-II's first `coefficients` rows over `mel_bands` inputs, row after
    /// row (empty for log-mel).
    pub fn dct(&self) -> Vec<f64> {
        if self.kind == FrontEndKind::LogMel {
            return Vec::new();
        }
        let m = self.mel_bands as usize;
        let mut out = Vec::with_capacity(self.coefficients as usize * m);
        for k in 0..self.coefficients as usize {
            let scale = if k == 0 { 1.0 } else { 2.0 };
            for i in 0..m {
                let angle = std::f64::consts::PI * k as f64 * (i as f64 + 0.5) / m as f64;
                out.push((scale / m as f64).sqrt() * angle.cos());
            }
        }
        out
    }

    /// The front-end blob the device engine runs (`edgenas_engine::front_end`): this front
    /// end's tables in fixed point, then the data set's per-feature `mean` and `std` and the
    /// network's input (int8 with its scale and zero point, or f32).
    pub fn device_blob(&self, mean: &[f32], std: &[f32], input: DeviceInput) -> Vec<u8> {
        let filters: Vec<(u16, Vec<i16>)> = self
            .mel_filters()
            .into_iter()
            .map(|(first, w)| (first as u16, w.into_iter().map(q15).collect()))
            .collect();
        let window: Vec<i16> = self.window().into_iter().map(q15).collect();
        let dct: Vec<i16> = self.dct().into_iter().map(q15).collect();
        let q16 = 65536.0;
        let scales: Vec<FeatureScale> = (0..self.features())
            .map(|k| {
                let (m, s) = (
                    *mean.get(k).unwrap_or(&0.0) as f64,
                    *std.get(k).unwrap_or(&1.0) as f64,
                );
                let (multiplier, shift) = match input {
                    DeviceInput::Int8 { scale, .. } => {
                        quantize_multiplier(1.0 / (s * scale as f64 * q16)).unwrap_or((0, 0))
                    }
                    DeviceInput::F32 => (0, 0),
                };
                FeatureScale {
                    mean_q16: (m * q16).round() as i32,
                    multiplier,
                    shift,
                    scale: (1.0 / (s * q16)) as f32,
                }
            })
            .collect();
        let (output, zero_point) = match input {
            DeviceInput::Int8 { zero_point, .. } => (Output::Int8, zero_point),
            DeviceInput::F32 => (Output::F32, 0),
        };
        device::write(&Tables {
            mfcc: self.kind == FrontEndKind::Mfcc,
            peak_floor: self.log_floor == LogFloor::Peak,
            clip: self.clip_samples(),
            frame: self.frame_samples(),
            stride: self.stride_samples(),
            fft: self.fft_len(),
            window: &window,
            filters: &filters,
            dct: &dct,
            features: self.features(),
            output,
            zero_point,
            scales: &scales,
        })
    }
}

/// Settings that make no front end ([`FrontEnd::check`]).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FrontEndSettingError {
    /// A rate other than [`SAMPLE_RATES`].
    #[error("sample_rate {0} Hz: a front end reads 8000 or 16000 Hz")]
    SampleRate(u32),
    /// A zero length.
    #[error("clip_ms, frame_ms and stride_ms must be positive")]
    NotPositive,
    /// A frame longer than the clip: no frame at all.
    #[error("frame_ms {frame_ms} is longer than the clip ({clip_ms} ms)")]
    FrameLongerThanClip {
        /// The frame.
        frame_ms: u32,
        /// The clip.
        clip_ms: u32,
    },
    /// A frame of under 16 samples.
    #[error("frame_ms {frame_ms} is {samples} samples; a frame needs at least 16")]
    FrameTooShort {
        /// The frame.
        frame_ms: u32,
        /// Its samples.
        samples: usize,
    },
    /// Fewer than two mel bands, or more than half the transform's bins.
    #[error(
        "mel_bands {mel_bands} must be 2 to {} (half the {bins} bins of a {transform}-point transform)",
        bins / 2
    )]
    MelBands {
        /// The bands asked for.
        mel_bands: u32,
        /// The transform's bins.
        bins: usize,
        /// The transform's length.
        transform: usize,
    },
    /// No coefficients, or more than the mel bands.
    #[error("coefficients {coefficients} must be 1 to mel_bands ({mel_bands})")]
    Coefficients {
        /// The coefficients asked for.
        coefficients: u32,
        /// The mel bands.
        mel_bands: u32,
    },
}

/// The network input a device front end writes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum DeviceInput {
    /// An int8 network's input: `q = round(x / scale) + zero_point`.
    Int8 {
        /// The input's scale.
        scale: f32,
        /// The input's zero point.
        zero_point: i32,
    },
    /// An f32 network's input.
    F32,
}

/// The lowest frequency the mel filters cover.
pub const LOWEST_HZ: f64 = 20.0;

/// The device front end's cycles per unit of its work on one core ([`FrontEnd::device_cycles`]),
/// a part of the core's [`CycleTable`](crate::board::CycleTable).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FrontEndCycles {
    /// Per frame and complex point of the transform (half the frame's padded length): the
    /// window, the bit reversal, the split step, the power and the mel filters' weights.
    pub per_point: f64,
    /// Per frame and radix-2 butterfly of the transform.
    pub per_butterfly: f64,
    /// Per frame and mel band: its filter's sum, its logarithm.
    pub per_band: f64,
    /// Per frame and multiply-accumulate of the DCT (MFCCs).
    pub per_dct_mac: f64,
    /// Per sample of the clip, under [`LogFloor::Peak`]: the pass that finds its largest
    /// sample.
    pub per_sample: f64,
}

/// Mel scale (HTK).
fn mel(hz: f64) -> f64 {
    2595.0 * (1.0 + hz / 700.0).log10()
}

fn hz(mel: f64) -> f64 {
    700.0 * (10f64.powf(mel / 2595.0) - 1.0)
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
            log_floor: LogFloor::Peak,
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
    fn a_front_end_stored_before_the_log_floor_existed_reads_as_the_fixed_one() {
        let stored = r#"{"kind":"mfcc","sample_rate":16000,"clip_ms":1000,"frame_ms":40,
            "stride_ms":20,"mel_bands":40,"coefficients":10}"#;
        let f: FrontEnd = serde_json::from_str(stored).unwrap();
        assert_eq!(f.log_floor, LogFloor::Fixed);
        assert_eq!(
            FrontEnd {
                log_floor: LogFloor::Fixed,
                ..mlperf()
            },
            f
        );
    }

    #[test]
    fn settings_that_make_no_front_end_are_named() {
        let too_many = FrontEnd {
            coefficients: 41,
            ..mlperf()
        };
        assert_eq!(
            too_many.check(),
            Err(FrontEndSettingError::Coefficients {
                coefficients: 41,
                mel_bands: 40
            })
        );
        assert!(
            too_many
                .check()
                .unwrap_err()
                .to_string()
                .contains("coefficients 41")
        );
        let long = FrontEnd {
            frame_ms: 2000,
            ..mlperf()
        };
        assert!(
            long.check()
                .unwrap_err()
                .to_string()
                .contains("longer than the clip")
        );
        let rate = FrontEnd {
            sample_rate: 44100,
            ..mlperf()
        };
        assert_eq!(rate.check(), Err(FrontEndSettingError::SampleRate(44100)));
    }
}
