//! Normalisation with statistics of the training split.

use serde::{Deserialize, Serialize};

use super::Split;
use edgenas_model::network::Shape;

/// Per-channel (images) or per-feature (vectors) mean and standard deviation; a sample is
/// normalised as `(x − mean) / std`. Stored with a trained model, so that deployment feeds it
/// the same numbers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Normalisation {
    /// Mean of each channel or feature over the training split.
    pub mean: Vec<f32>,
    /// Standard deviation of each channel or feature (1 where the training split is constant).
    pub std: Vec<f32>,
}

/// The number of statistics a shape has (channels of an image, features of a vector) and the
/// number of consecutive values each covers within a sample.
fn groups(shape: Shape) -> (usize, usize) {
    match shape {
        Shape::Image { c, h, w } => (c, h * w),
        Shape::Vector(n) => (n, 1),
    }
}

impl Normalisation {
    /// Statistics of `train`.
    pub fn fit(train: &Split, shape: Shape) -> Normalisation {
        let (k, run) = groups(shape);
        let size = shape.elements();
        let mut sum = vec![0f64; k];
        let mut sq = vec![0f64; k];
        for (i, &v) in train.x.iter().enumerate() {
            let g = (i % size) / run;
            sum[g] += v as f64;
            sq[g] += (v as f64) * (v as f64);
        }
        let count = (train.len() * run).max(1) as f64;
        let mean: Vec<f64> = sum.iter().map(|s| s / count).collect();
        let std = sq
            .iter()
            .zip(&mean)
            .map(|(s, m)| {
                let var = (s / count - m * m).max(0.0);
                if var.sqrt() < 1e-6 {
                    1.0
                } else {
                    var.sqrt() as f32
                }
            })
            .collect();
        Normalisation {
            mean: mean.iter().map(|&m| m as f32).collect(),
            std,
        }
    }

    /// Normalises samples of `shape` in place.
    pub fn apply(&self, x: &mut [f32], shape: Shape) {
        let (_, run) = groups(shape);
        let size = shape.elements();
        for (i, v) in x.iter_mut().enumerate() {
            let g = (i % size) / run;
            *v = (*v - self.mean[g]) / self.std[g];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statistics_are_per_channel_and_a_constant_channel_is_left_alone() {
        // Two samples of 2 channels x 2 pixels: channel 0 holds 1, 3, 1, 3; channel 1 is 5.
        let train = Split {
            x: vec![1.0, 3.0, 5.0, 5.0, 1.0, 3.0, 5.0, 5.0],
            labels: vec![0, 1],
        };
        let shape = Shape::Image { c: 2, h: 1, w: 2 };
        let n = Normalisation::fit(&train, shape);
        assert_eq!(n.mean, vec![2.0, 5.0]);
        assert_eq!(n.std, vec![1.0, 1.0]);
        let mut x = train.x.clone();
        n.apply(&mut x, shape);
        assert_eq!(x, vec![-1.0, 1.0, 0.0, 0.0, -1.0, 1.0, 0.0, 0.0]);
    }
}
