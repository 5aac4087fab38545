//! int8 post-training quantisation: activation ranges, per-tensor activation parameters and
//! per-channel weight parameters, in the convention of ONNX QDQ and TFLite int8.

use serde::Serialize;

/// How activation ranges are taken from the calibration samples.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(tag = "method", rename_all = "lowercase")]
pub enum Calibration {
    /// The smallest and largest value seen.
    MinMax,
    /// The given percentile of the values (and 100 minus it), ignoring outliers.
    Percentile {
        /// For example 99.99.
        percentile: f64,
    },
}

/// Quantisation of a tensor: `real = scale × (q − zero_point)`, `q` in −128…127.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct QParams {
    /// The step between neighbouring int8 values.
    pub scale: f32,
    /// The int8 value that stands for 0.
    pub zero_point: i8,
}

/// The range of each tensor's calibration values (`None` for a tensor with no values).
pub fn ranges(values: &[Vec<f32>], method: Calibration) -> Vec<Option<(f32, f32)>> {
    values
        .iter()
        .map(|v| {
            if v.is_empty() {
                return None;
            }
            match method {
                Calibration::MinMax => Some(
                    v.iter()
                        .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &x| {
                            (lo.min(x), hi.max(x))
                        }),
                ),
                Calibration::Percentile { percentile } => {
                    let mut sorted = v.clone();
                    sorted.sort_by(f32::total_cmp);
                    let at =
                        |p: f64| sorted[((p / 100.0) * (sorted.len() - 1) as f64).round() as usize];
                    Some((at(100.0 - percentile), at(percentile)))
                }
            }
        })
        .collect()
}

/// Asymmetric int8 parameters for values in `[min, max]` (the range is widened to hold 0, so
/// that 0 is exact, as zero padding needs).
pub fn activation_params(min: f32, max: f32) -> QParams {
    let (lo, hi) = (min.min(0.0), max.max(0.0));
    let scale = if hi - lo > 1e-12 {
        (hi - lo) / 255.0
    } else {
        1.0 / 255.0
    };
    let zero_point = (-128.0 - lo / scale).round().clamp(-128.0, 127.0) as i8;
    QParams { scale, zero_point }
}

/// Symmetric per-channel int8 weights: for each output channel (the first dimension) the scale
/// is `max |w| / 127` and values are rounded to −127…127 with zero point 0.
pub fn quantize_per_channel(data: &[f32], channels: usize) -> (Vec<i8>, Vec<f32>) {
    let per = data.len() / channels.max(1);
    let mut q = Vec::with_capacity(data.len());
    let mut scales = Vec::with_capacity(channels);
    for c in 0..channels {
        let row = &data[c * per..(c + 1) * per];
        let max = row.iter().fold(0f32, |m, &v| m.max(v.abs()));
        let scale = if max > 0.0 { max / 127.0 } else { 1.0 };
        q.extend(
            row.iter()
                .map(|&v| (v / scale).round().clamp(-127.0, 127.0) as i8),
        );
        scales.push(scale);
    }
    (q, scales)
}

/// int32 biases at scale `input scale × weight scale` of each output channel.
pub fn quantize_bias(bias: &[f32], weight_scales: &[f32], input_scale: f32) -> Vec<i32> {
    bias.iter()
        .zip(weight_scales)
        .map(|(v, s)| (v / (s * input_scale)).round() as i32)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn activation_parameters_cover_the_range_and_keep_zero_exact() {
        let p = activation_params(-1.0, 3.0);
        assert!((p.scale - 4.0 / 255.0).abs() < 1e-7);
        assert_eq!(p.zero_point, -64);
        // Non-negative ranges (after a relu) start at -128.
        assert_eq!(activation_params(0.5, 6.0).zero_point, -128);
        // A constant range gets a usable scale, not a division by zero.
        assert!(activation_params(0.0, 0.0).scale > 0.0);
    }

    #[test]
    fn weights_are_symmetric_per_channel() {
        let (q, s) = quantize_per_channel(&[0.5, -1.0, 0.25, 0.0, 2.0, -2.0], 2);
        assert_eq!(s, vec![1.0 / 127.0, 2.0 / 127.0]);
        assert_eq!(q, vec![64, -127, 32, 0, 127, -127]);
    }

    #[test]
    fn percentiles_ignore_outliers() {
        let mut v: Vec<f32> = (0..10_000).map(|i| i as f32 / 10_000.0).collect();
        v.push(1000.0);
        let r = ranges(&[v.clone()], Calibration::Percentile { percentile: 99.9 })[0].unwrap();
        assert!(r.1 < 1.0);
        assert_eq!(ranges(&[v], Calibration::MinMax)[0].unwrap().1, 1000.0);
    }
}
