//! Augmenting a training clip: a random time shift and noise mixed in.

use edgenas_model::rng::Rng;

/// The largest change of speed (and pitch), as a share.
const MAX_SPEED_CHANGE: f64 = 0.2;
/// The largest shift, as a share of the clip.
const MAX_SHIFT: f64 = 0.1;
/// The loudest background noise, as a share of full scale (Speech Commands' usual 0.1).
const MAX_NOISE_GAIN: f64 = 0.1;
/// White noise (without noise recordings) is mixed at a signal-to-noise ratio in this range, dB.
const SNR_DB: (f64, f64) = (15.0, 35.0);

/// Draws augmentations from a seed.
pub struct Augmenter<'a> {
    noise: &'a [Vec<i16>],
    rng: Rng,
}

impl<'a> Augmenter<'a> {
    /// Noise from `noise` (segments of the recordings), or white noise when it is empty.
    pub fn new(noise: &'a [Vec<i16>], seed: u64) -> Augmenter<'a> {
        Augmenter {
            noise,
            rng: Rng::new(seed ^ 0xA0D1_0A06),
        }
    }

    /// `clip` played up to 20 % faster or slower (a higher or lower voice), shifted by up to
    /// ±10 % of its length (silence fills the gap), with noise added.
    pub fn apply(&mut self, clip: &[i16]) -> Vec<i16> {
        let speed = 1.0 + MAX_SPEED_CHANGE * (2.0 * self.rng.unit() - 1.0);
        let clip = &change_speed(clip, speed);
        let n = clip.len();
        let max = (n as f64 * MAX_SHIFT) as isize;
        let shift = self.rng.below(2 * max as usize + 1) as isize - max;
        let mut out: Vec<f64> = (0..n as isize)
            .map(|i| {
                let j = i - shift;
                if j >= 0 && (j as usize) < n {
                    clip[j as usize] as f64
                } else {
                    0.0
                }
            })
            .collect();
        if self.noise.is_empty() {
            let rms = (clip.iter().map(|&x| (x as f64).powi(2)).sum::<f64>() / n as f64).sqrt();
            let snr = SNR_DB.0 + (SNR_DB.1 - SNR_DB.0) * self.rng.unit();
            // Uniform noise on ±a has an RMS of a / √3.
            let a = rms / 10f64.powf(snr / 20.0) * 3f64.sqrt();
            for x in &mut out {
                *x += a * (2.0 * self.rng.unit() - 1.0);
            }
        } else {
            let recording = &self.noise[self.rng.below(self.noise.len())];
            let gain = MAX_NOISE_GAIN * self.rng.unit();
            let start = self.rng.below(recording.len().saturating_sub(n) + 1);
            for (x, &v) in out.iter_mut().zip(recording[start..].iter().cycle()) {
                *x += gain * v as f64;
            }
        }
        out.iter()
            .map(|&x| x.round().clamp(i16::MIN as f64, i16::MAX as f64) as i16)
            .collect()
    }
}

/// `clip` resampled to play `speed` times as fast (linear interpolation), centred in its
/// length.
fn change_speed(clip: &[i16], speed: f64) -> Vec<i16> {
    let n = clip.len();
    let centre = n as f64 / 2.0;
    (0..n)
        .map(|i| {
            let at = centre + (i as f64 - centre) * speed;
            if at < 0.0 || at > (n - 1) as f64 {
                return 0;
            }
            let (k, frac) = (at.floor() as usize, at.fract());
            let next = clip[(k + 1).min(n - 1)] as f64;
            (clip[k] as f64 * (1.0 - frac) + next * frac).round() as i16
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn white_noise_keeps_the_stated_signal_to_noise_ratio() {
        let clip: Vec<i16> = (0..8000)
            .map(|i| (5000.0 * (i as f64 * 0.05).sin()) as i16)
            .collect();
        let mut a = Augmenter::new(&[], 3);
        for _ in 0..5 {
            let out = a.apply(&clip);
            assert_eq!(out.len(), clip.len());
            let power = |x: &[i16]| x.iter().map(|&v| (v as f64).powi(2)).sum::<f64>();
            // The shift moves at most 10 % out; the noise adds 15–35 dB below the signal.
            let ratio = power(&out) / power(&clip);
            assert!((0.85..1.1).contains(&ratio), "power ratio {ratio}");
        }
    }
}
