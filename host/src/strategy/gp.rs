//! A Gaussian process over genotypes: the surrogate of the Bayesian strategy.
//!
//! Genotypes are compared by the share of the space's choices on which they differ (an
//! inactive choice is a value of its own), and the kernel is `exp(-share / lengthscale)`, the
//! exponential Hamming kernel of categorical Bayesian optimisation. Objectives are
//! standardised; the lengthscale and the noise are chosen from a small grid by the marginal
//! likelihood.

use crate::space::{Genotype, SearchSpace};

/// A genotype as the index of each choice's value (`INACTIVE` for an inactive choice).
pub type Encoding = Vec<u16>;

/// The encoding of a choice that the genotype does not use.
const INACTIVE: u16 = u16::MAX;

/// The lengthscales and noise variances (of the standardised objective) tried by `fit`.
const LENGTHSCALES: [f64; 5] = [0.1, 0.2, 0.4, 0.8, 1.6];
const NOISES: [f64; 3] = [1e-3, 1e-2, 1e-1];

/// `g` encoded against `space`'s choices.
pub fn encode(space: &SearchSpace, g: &Genotype) -> Encoding {
    space
        .choices
        .iter()
        .map(|c| {
            g.get(&c.name)
                .and_then(|v| c.domain.index_of(v))
                .map_or(INACTIVE, |i| i as u16)
        })
        .collect()
}

/// The kernel between two encodings.
pub fn kernel(a: &[u16], b: &[u16], lengthscale: f64) -> f64 {
    let differ = a.iter().zip(b).filter(|(x, y)| x != y).count();
    (-(differ as f64) / (a.len().max(1) as f64) / lengthscale).exp()
}

/// A fitted Gaussian process.
#[derive(Clone, Debug)]
pub struct Gp {
    points: Vec<Encoding>,
    /// The lengthscale chosen.
    pub lengthscale: f64,
    /// The noise variance chosen (standardised units).
    pub noise: f64,
    mean: f64,
    spread: f64,
    /// Lower Cholesky factor of `K + noise·I`, row-major.
    chol: Vec<f64>,
    alpha: Vec<f64>,
    best: f64,
}

/// A prediction in the objective's units.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Prediction {
    /// The posterior mean.
    pub mean: f64,
    /// The posterior standard deviation.
    pub std: f64,
    /// The expected improvement over the best observation.
    pub expected_improvement: f64,
}

impl Gp {
    /// Fits `points` with objectives `values`, choosing the hyperparameters by marginal
    /// likelihood, or keeping `keep` (lengthscale, noise) when given. `None` with no point.
    pub fn fit(points: Vec<Encoding>, values: &[f64], keep: Option<(f64, f64)>) -> Option<Gp> {
        let n = points.len();
        if n == 0 || n != values.len() {
            return None;
        }
        let mean = values.iter().sum::<f64>() / n as f64;
        let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n as f64;
        let spread = if var > 0.0 { var.sqrt() } else { 1.0 };
        let z: Vec<f64> = values.iter().map(|v| (v - mean) / spread).collect();
        let grid: Vec<(f64, f64)> = match keep {
            Some(h) => vec![h],
            None => LENGTHSCALES
                .iter()
                .flat_map(|&l| NOISES.iter().map(move |&s| (l, s)))
                .collect(),
        };
        let mut best: Option<(f64, Gp)> = None;
        for (lengthscale, noise) in grid {
            let mut k = vec![0.0; n * n];
            for i in 0..n {
                for j in 0..=i {
                    let v = kernel(&points[i], &points[j], lengthscale);
                    k[i * n + j] = v;
                    k[j * n + i] = v;
                }
                k[i * n + i] += noise;
            }
            let Some(chol) = cholesky(k, n) else { continue };
            let alpha = solve_upper_t(&chol, n, &solve_lower(&chol, n, &z));
            let log_likelihood = -0.5 * z.iter().zip(&alpha).map(|(a, b)| a * b).sum::<f64>()
                - (0..n).map(|i| chol[i * n + i].ln()).sum::<f64>();
            if best.as_ref().is_none_or(|(l, _)| log_likelihood > *l) {
                let top = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                best = Some((
                    log_likelihood,
                    Gp {
                        points: Vec::new(),
                        lengthscale,
                        noise,
                        mean,
                        spread,
                        chol,
                        alpha,
                        best: top,
                    },
                ));
            }
        }
        best.map(|(_, mut gp)| {
            gp.points = points;
            gp
        })
    }

    /// The posterior at `x`.
    pub fn predict(&self, x: &[u16]) -> Prediction {
        let n = self.points.len();
        let k: Vec<f64> = self
            .points
            .iter()
            .map(|p| kernel(p, x, self.lengthscale))
            .collect();
        let m: f64 = k.iter().zip(&self.alpha).map(|(a, b)| a * b).sum();
        let v = solve_lower(&self.chol, n, &k);
        let var = (1.0 - v.iter().map(|x| x * x).sum::<f64>()).max(1e-12);
        let s = var.sqrt();
        let u = (m - self.best) / s;
        let ei = s * (u * normal_cdf(u) + normal_pdf(u));
        Prediction {
            mean: self.mean + self.spread * m,
            std: self.spread * s,
            expected_improvement: self.spread * ei,
        }
    }
}

/// The lower Cholesky factor of the symmetric `a` (n×n, row-major), `None` if it is not
/// positive definite.
fn cholesky(mut a: Vec<f64>, n: usize) -> Option<Vec<f64>> {
    for j in 0..n {
        let mut d = a[j * n + j];
        for k in 0..j {
            d -= a[j * n + k] * a[j * n + k];
        }
        if d <= 0.0 || !d.is_finite() {
            return None;
        }
        let d = d.sqrt();
        a[j * n + j] = d;
        for i in j + 1..n {
            let mut s = a[i * n + j];
            for k in 0..j {
                s -= a[i * n + k] * a[j * n + k];
            }
            a[i * n + j] = s / d;
        }
        for i in 0..j {
            a[i * n + j] = 0.0;
        }
    }
    Some(a)
}

/// Solves `L x = b` for the lower-triangular `l`.
fn solve_lower(l: &[f64], n: usize, b: &[f64]) -> Vec<f64> {
    let mut x = b.to_vec();
    for i in 0..n {
        let row = &l[i * n..i * n + i];
        let s: f64 = row.iter().zip(&x[..i]).map(|(a, b)| a * b).sum();
        x[i] = (x[i] - s) / l[i * n + i];
    }
    x
}

/// Solves `Lᵀ x = b` for the lower-triangular `l`.
fn solve_upper_t(l: &[f64], n: usize, b: &[f64]) -> Vec<f64> {
    let mut x = b.to_vec();
    for i in (0..n).rev() {
        let mut s = x[i];
        for k in i + 1..n {
            s -= l[k * n + i] * x[k];
        }
        x[i] = s / l[i * n + i];
    }
    x
}

/// The standard normal density.
fn normal_pdf(u: f64) -> f64 {
    (-0.5 * u * u).exp() / (2.0 * std::f64::consts::PI).sqrt()
}

/// The standard normal distribution function, through the complementary error function
/// (Numerical Recipes' Chebyshev fit, relative error below 1.2e-7).
fn normal_cdf(u: f64) -> f64 {
    let x = -u / std::f64::consts::SQRT_2;
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.26551223
        + t * (1.00002368
            + t * (0.37409196
                + t * (0.09678418
                    + t * (-0.18628806
                        + t * (0.27886807
                            + t * (-1.13520398
                                + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
    let erfc = t * poly.exp();
    let erfc = if x >= 0.0 { erfc } else { 2.0 - erfc };
    0.5 * erfc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_normal_distribution_function_is_accurate() {
        assert!((normal_cdf(0.0) - 0.5).abs() < 1e-7);
        assert!((normal_cdf(1.0) - 0.841_344_746).abs() < 1e-6);
        assert!((normal_cdf(-2.0) - 0.022_750_132).abs() < 1e-6);
    }

    #[test]
    fn the_posterior_interpolates_and_is_uncertain_far_away() {
        let points: Vec<Encoding> = vec![vec![0, 0, 0], vec![1, 1, 1], vec![0, 1, 0]];
        let values = [1.0, 3.0, 2.0];
        let gp = Gp::fit(points, &values, None).unwrap();
        let at = gp.predict(&[1, 1, 1]);
        assert!((at.mean - 3.0).abs() < 0.2, "{at:?}");
        let far = gp.predict(&[2, 2, 2]);
        assert!(far.std > 3.0 * at.std, "{far:?} {at:?}");
        // Improvement is expected where the model is unsure, barely where it knows.
        assert!(far.expected_improvement > at.expected_improvement);
    }

    #[test]
    fn cholesky_solves_a_system() {
        let a = vec![4.0, 2.0, 2.0, 3.0];
        let l = cholesky(a, 2).unwrap();
        let x = solve_upper_t(&l, 2, &solve_lower(&l, 2, &[6.0, 5.0]));
        assert!(
            (x[0] - 1.0).abs() < 1e-12 && (x[1] - 1.0).abs() < 1e-12,
            "{x:?}"
        );
    }
}
