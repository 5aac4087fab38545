//! Normalisation with statistics of the training split.

use serde::{Deserialize, Serialize};

use super::Split;
use edgenas_model::network::Shape;

/// Per-channel (images), per-feature (vectors) or per-column (audio feature maps: one
/// statistic per coefficient) mean and standard deviation; a sample is normalised as
/// `(x − mean) / std`. Stored with a trained model, so that deployment feeds it the same
/// numbers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Normalisation {
    /// Mean of each channel or feature over the training split.
    pub mean: Vec<f32>,
    /// Standard deviation of each channel or feature (1 where the training split is constant).
    pub std: Vec<f32>,
    /// Which values share a statistic.
    #[serde(default)]
    pub per: Per,
}

/// Which values of a sample share a statistic.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Per {
    /// A channel of an image (a feature of a vector).
    #[default]
    Channel,
    /// A column of a 1-channel map: a front end's feature, over all frames.
    Column,
}

impl Per {
    /// The statistic that value `i` of a sample of `shape` (flat index) shares.
    fn group(self, shape: Shape, i: usize) -> usize {
        let i = i % shape.elements();
        match (self, shape) {
            (Per::Column, Shape::Image { w, .. }) => i % w,
            (_, Shape::Image { h, w, .. }) => i / (h * w),
            (_, Shape::Vector(_)) => i,
        }
    }

    fn count(self, shape: Shape) -> usize {
        match (self, shape) {
            (Per::Column, Shape::Image { w, .. }) => w,
            (_, Shape::Image { c, .. }) => c,
            (_, Shape::Vector(n)) => n,
        }
    }
}

impl Normalisation {
    /// Statistics of `train`, one a channel.
    pub fn fit(train: &Split, shape: Shape) -> Normalisation {
        Normalisation::fit_per(train, shape, Per::Channel)
    }

    /// Statistics of `train`, one for each group of `per`.
    pub fn fit_per(train: &Split, shape: Shape, per: Per) -> Normalisation {
        let k = per.count(shape);
        let mut sum = vec![0f64; k];
        let mut sq = vec![0f64; k];
        for (i, &v) in train.x.iter().enumerate() {
            let g = per.group(shape, i);
            sum[g] += v as f64;
            sq[g] += (v as f64) * (v as f64);
        }
        let count = (train.x.len() / k).max(1) as f64;
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
            per,
        }
    }

    /// Normalises samples of `shape` in place.
    pub fn apply(&self, x: &mut [f32], shape: Shape) {
        for (i, v) in x.iter_mut().enumerate() {
            let g = self.per.group(shape, i);
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

    #[test]
    fn column_statistics_are_per_feature_over_the_frames() {
        // One sample of 1 × 2 frames × 2 features: feature 0 holds 1, 3; feature 1 holds 4, 4.
        let train = Split {
            x: vec![1.0, 4.0, 3.0, 4.0],
            labels: vec![0],
        };
        let shape = Shape::Image { c: 1, h: 2, w: 2 };
        let n = Normalisation::fit_per(&train, shape, Per::Column);
        assert_eq!((n.mean, n.std), (vec![2.0, 4.0], vec![1.0, 1.0]));
    }
}
