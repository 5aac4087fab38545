//! The host's front end in `f32`: clip → log-mel energies or MFCCs (see
//! [`edgenas_model::front_end`] for what each setting means).

use std::sync::Arc;

use edgenas_model::front_end::{FrontEnd, FrontEndKind, LogFloor};
use realfft::{RealFftPlanner, RealToComplex};

/// Added to each mel energy before its logarithm under [`LogFloor::Fixed`] (the floor of
/// silence, in the power of a full-scale sample).
pub const LOG_FLOOR: f32 = 1e-6;

/// A front end ready to run: its window, mel filters, DCT and transform planned once.
pub struct Features {
    front_end: FrontEnd,
    window: Vec<f32>,
    /// Per mel band: its first bin and the weights of the bins from there.
    filters: Vec<(usize, Vec<f32>)>,
    /// `coefficients × mel_bands`, row-major (MFCC only).
    dct: Vec<f32>,
    fft: Arc<dyn RealToComplex<f32>>,
}

impl Features {
    /// Plans `front_end` (its settings checked by [`FrontEnd::check`]).
    pub fn new(front_end: FrontEnd) -> Features {
        let f32s = |v: Vec<f64>| v.into_iter().map(|x| x as f32).collect::<Vec<f32>>();
        Features {
            filters: front_end
                .mel_filters()
                .into_iter()
                .map(|(first, w)| (first, f32s(w)))
                .collect(),
            dct: f32s(front_end.dct()),
            fft: RealFftPlanner::<f32>::new().plan_fft_forward(front_end.fft_len()),
            window: f32s(front_end.window()),
            front_end,
        }
    }

    /// The front end it computes.
    pub fn front_end(&self) -> &FrontEnd {
        &self.front_end
    }

    /// The features of a clip of [`FrontEnd::clip_samples`] samples: frames × features,
    /// frame after frame.
    pub fn of(&self, clip: &[i16]) -> Vec<f32> {
        let f = &self.front_end;
        let (frame, stride, n) = (f.frame_samples(), f.stride_samples(), f.fft_len());
        let mut input = self.fft.make_input_vec();
        let mut spectrum = self.fft.make_output_vec();
        let mut power = vec![0f32; n / 2 + 1];
        let mut log_mel = vec![0f32; self.filters.len()];
        let mut out = Vec::with_capacity(f.frames() * f.features());
        let floor = log_floor(f.log_floor, clip);
        for t in 0..f.frames() {
            let start = t * stride;
            input.fill(0.0);
            for (i, x) in input[..frame].iter_mut().enumerate() {
                *x = clip[start + i] as f32 / 32768.0 * self.window[i];
            }
            self.fft
                .process(&mut input, &mut spectrum)
                .expect("buffers made by the plan");
            for (p, c) in power.iter_mut().zip(&spectrum) {
                *p = c.norm_sqr();
            }
            for (m, (first, weights)) in log_mel.iter_mut().zip(&self.filters) {
                let energy: f32 = weights
                    .iter()
                    .zip(&power[*first..])
                    .map(|(w, p)| w * p)
                    .sum();
                *m = (energy + floor).ln();
            }
            match f.kind {
                FrontEndKind::LogMel => out.extend_from_slice(&log_mel),
                FrontEndKind::Mfcc => out.extend(
                    self.dct
                        .chunks(log_mel.len())
                        .map(|row| row.iter().zip(&log_mel).map(|(a, b)| a * b).sum::<f32>()),
                ),
            }
        }
        subtract_means(&mut out, f.features());
        out
    }
}

/// What [`Features::of`] adds to each mel energy of `clip` before its logarithm.
fn log_floor(floor: LogFloor, clip: &[i16]) -> f32 {
    match floor {
        LogFloor::Fixed => LOG_FLOOR,
        LogFloor::Peak => {
            let peak = clip
                .iter()
                .map(|x| x.unsigned_abs())
                .max()
                .unwrap_or(0)
                .max(1);
            (peak as f32 / 32768.0).powi(2)
        }
    }
}

/// Subtracts from each feature its mean over the clip's frames (cepstral mean normalisation:
/// what the microphone and the voice add to every frame alike).
fn subtract_means(map: &mut [f32], features: usize) {
    let frames = map.len() / features;
    for k in 0..features {
        let mean = (0..frames).map(|t| map[t * features + k]).sum::<f32>() / frames as f32;
        for t in 0..frames {
            map[t * features + k] -= mean;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn front_end(kind: FrontEndKind) -> FrontEnd {
        FrontEnd {
            kind,
            sample_rate: 8000,
            clip_ms: 500,
            frame_ms: 32,
            stride_ms: 16,
            mel_bands: 20,
            coefficients: 10,
            log_floor: LogFloor::Peak,
        }
    }

    fn tone(hz: f64, len: usize) -> Vec<i16> {
        (0..len)
            .map(|i| (8000.0 * (std::f64::consts::TAU * hz * i as f64 / 8000.0).sin()) as i16)
            .collect()
    }

    #[test]
    fn a_tone_lights_the_mel_band_around_its_frequency() {
        let f = front_end(FrontEndKind::LogMel);
        let features = Features::new(f);
        // The tone fills the first half of the clip: after the clip's mean is subtracted, its
        // frames stand out most in its own band.
        let mut clip = tone(1000.0, f.clip_samples() / 2);
        clip.resize(f.clip_samples(), 0);
        let out = features.of(&clip);
        assert_eq!(out.len(), f.frames() * 20);
        let frame = &out[3 * 20..4 * 20];
        let loudest = (0..20)
            .max_by(|&a, &b| frame[a].total_cmp(&frame[b]))
            .unwrap();
        let mel = |hz: f64| 2595.0 * (1.0 + hz / 700.0).log10();
        let hz = |mel: f64| 700.0 * (10f64.powf(mel / 2595.0) - 1.0);
        let edges: Vec<f64> = (0..22)
            .map(|i| hz(mel(20.0) + (mel(4000.0) - mel(20.0)) * i as f64 / 21.0))
            .collect();
        assert!(
            edges[loudest] < 1000.0 && 1000.0 < edges[loudest + 2],
            "band {loudest} spans {:.0}–{:.0} Hz",
            edges[loudest],
            edges[loudest + 2]
        );
        let silent = features.of(&vec![0; f.clip_samples()]);
        assert!(
            silent.iter().all(|&x| x.abs() < 1e-5),
            "silence minus its mean"
        );
    }

    #[test]
    fn under_the_peak_floor_the_features_do_not_depend_on_the_gain() {
        let f = front_end(FrontEndKind::Mfcc);
        // A word of two tones with silence around it, and the same at a sixteenth of the gain
        // (exactly: every sample a multiple of 16).
        let mut loud: Vec<i16> = vec![0; f.clip_samples() / 4];
        loud.extend(tone(500.0, f.clip_samples() / 4));
        loud.extend(tone(1500.0, f.clip_samples() / 4).iter().map(|x| x / 2));
        loud.resize(f.clip_samples(), 0);
        let loud: Vec<i16> = loud.iter().map(|x| x / 16 * 16).collect();
        let quiet: Vec<i16> = loud.iter().map(|x| x / 16).collect();
        let largest_difference = |f: FrontEnd| {
            let features = Features::new(f);
            let (a, b) = (features.of(&loud), features.of(&quiet));
            a.iter()
                .zip(&b)
                .map(|(x, y)| (x - y).abs())
                .fold(0f32, f32::max)
        };
        let peak = largest_difference(f);
        assert!(peak < 1e-3, "{peak}");
        // Under the fixed floor the quiet clip's silence sits nearer its voice.
        let fixed = largest_difference(FrontEnd {
            log_floor: LogFloor::Fixed,
            ..f
        });
        assert!(fixed > 0.5, "{fixed}");
    }

    #[test]
    fn mfccs_are_the_dct_of_the_log_mel_energies() {
        let len = front_end(FrontEndKind::Mfcc).clip_samples();
        let mut clip = tone(440.0, len / 3);
        clip.resize(len, 0);
        let log_mel = Features::new(front_end(FrontEndKind::LogMel)).of(&clip);
        let mfcc = Features::new(front_end(FrontEndKind::Mfcc)).of(&clip);
        let c0: f32 = log_mel[..20].iter().sum::<f32>() / 20f32.sqrt();
        assert!(
            (mfcc[0] - c0).abs() < 1e-3 * c0.abs(),
            "{} vs {c0}",
            mfcc[0]
        );
        assert_eq!(mfcc.len(), log_mel.len() / 2);
    }
}
