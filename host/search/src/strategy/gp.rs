//! A Gaussian process over genotypes: the surrogate of the Bayesian strategy.
//!
//! Genotypes are compared choice by choice (an inactive choice is a value of its own), and the
//! kernel is `exp(−Σ wᵢ [the genotypes differ in choice i])`, the exponential Hamming kernel
//! of categorical Bayesian optimisation with a weight per choice (automatic relevance
//! determination, as CASMOPOLITAN's kernel). Objectives are standardised. One lengthscale
//! (every weight `1 / (choices · lengthscale)`) and the noise are chosen from a small grid by
//! the marginal likelihood; the weights then climb that likelihood's gradient, so that the
//! choices that matter to the objective weigh more than those that do not.

use edgenas_model::space::{Genotype, SearchSpace};

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

/// The kernel between two encodings: `exp(-Σ weight of each choice on which they differ)`.
pub fn kernel(a: &[u16], b: &[u16], weights: &[f64]) -> f64 {
    let d: f64 = a
        .iter()
        .zip(b)
        .zip(weights)
        .filter(|((x, y), _)| x != y)
        .map(|(_, w)| w)
        .sum();
    (-d).exp()
}

/// A fitted Gaussian process.
#[derive(Clone, Debug)]
pub struct Gp {
    points: Vec<Encoding>,
    /// The hyperparameters chosen.
    pub hyper: Hyper,
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

/// A kernel matrix's factorisation, as `fit` needs it.
pub(crate) struct Factored {
    /// The log marginal likelihood.
    pub(crate) log_likelihood: f64,
    /// The kernel matrix without the noise (n×n, row-major).
    kernel: Vec<f64>,
    /// Lower Cholesky factor of `K + noise·I`, row-major.
    pub(crate) chol: Vec<f64>,
    /// `(K + noise·I)⁻¹ z`.
    pub(crate) alpha: Vec<f64>,
}

/// The kernel matrix of `points` (n×n, row-major).
fn kernel_matrix(points: &[Encoding], weights: &[f64]) -> Vec<f64> {
    let n = points.len();
    let mut k = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..=i {
            let v = kernel(&points[i], &points[j], weights);
            k[i * n + j] = v;
            k[j * n + i] = v;
        }
    }
    k
}

/// The number of choices on which each pair of `points` differs (n×n, row-major).
fn differences(points: &[Encoding]) -> Vec<f64> {
    let n = points.len();
    let mut d = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..i {
            let v = points[i]
                .iter()
                .zip(&points[j])
                .filter(|(x, y)| x != y)
                .count() as f64;
            d[i * n + j] = v;
            d[j * n + i] = v;
        }
    }
    d
}

/// The log marginal likelihood of standardised objectives `z` at `points`, and what it was
/// computed from; `None` if the kernel matrix is not positive definite.
fn likelihood(points: &[Encoding], z: &[f64], weights: &[f64], noise: f64) -> Option<Factored> {
    factor(kernel_matrix(points, weights), z, noise)
}

/// [`likelihood`] from the kernel matrix `k`.
pub(crate) fn factor(k: Vec<f64>, z: &[f64], noise: f64) -> Option<Factored> {
    let n = z.len();
    let mut noisy = k.clone();
    for i in 0..n {
        noisy[i * n + i] += noise;
    }
    let chol = cholesky(noisy, n)?;
    let alpha = solve_upper_t(&chol, n, &solve_lower(&chol, n, z));
    let log_likelihood = -0.5 * z.iter().zip(&alpha).map(|(a, b)| a * b).sum::<f64>()
        - (0..n).map(|i| chol[i * n + i].ln()).sum::<f64>();
    Some(Factored {
        log_likelihood,
        kernel: k,
        chol,
        alpha,
    })
}

/// Bounds of a weight, per choice (a weight of 0.001 ignores the choice; 50 makes any
/// difference in it decorrelate).
const WEIGHT_RANGE: (f64, f64) = (1e-3, 50.0);
/// Bounds of the length of a relevance step, in the weights' logarithms.
const STEP_RANGE: (f64, f64) = (1e-3, 4.0);

/// The kernel's hyperparameters.
#[derive(Clone, Debug, PartialEq)]
pub struct Hyper {
    /// The weight of each choice in the kernel.
    pub weights: Vec<f64>,
    /// The noise variance (standardised units).
    pub noise: f64,
    /// The length of the next relevance step, in the weights' logarithms.
    pub step: f64,
}

/// The grid's weights: one lengthscale for every choice.
fn grid(dims: usize) -> impl Iterator<Item = Vec<f64>> {
    LENGTHSCALES
        .into_iter()
        .map(move |l| vec![1.0 / (dims as f64 * l); dims])
}

/// The gradient of the log marginal likelihood in the logarithm of each choice's weight:
/// `½ tr((ααᵀ − K⁻¹) ∂K/∂log wᵢ)`, where `∂K/∂log wᵢ = −wᵢ K` on the pairs that differ in
/// choice `i` and 0 elsewhere.
fn gradient(points: &[Encoding], f: &Factored, weights: &[f64]) -> Vec<f64> {
    let n = points.len();
    let inverse = inverse_from_cholesky(&f.chol, n);
    let mut g = vec![0.0; weights.len()];
    for a in 0..n {
        for b in 0..a {
            // Both (a, b) and (b, a): the factor ½ cancels.
            let m = (f.alpha[a] * f.alpha[b] - inverse[a * n + b]) * f.kernel[a * n + b];
            for (i, (x, y)) in points[a].iter().zip(&points[b]).enumerate() {
                if x != y {
                    g[i] -= weights[i] * m;
                }
            }
        }
    }
    g
}

/// `K⁻¹` from the lower Cholesky factor `L` of `K` (n×n, row-major), as `L⁻ᵀ L⁻¹` with `L⁻¹`
/// by forward substitution: a third of the work of solving for each column of the identity.
fn inverse_from_cholesky(chol: &[f64], n: usize) -> Vec<f64> {
    let mut m = vec![0.0; n * n];
    for j in 0..n {
        m[j * n + j] = 1.0 / chol[j * n + j];
        for i in j + 1..n {
            let s: f64 = (j..i).map(|k| chol[i * n + k] * m[k * n + j]).sum();
            m[i * n + j] = -s / chol[i * n + i];
        }
    }
    let mut inverse = vec![0.0; n * n];
    for a in 0..n {
        for b in 0..=a {
            let v: f64 = (a..n).map(|k| m[k * n + a] * m[k * n + b]).sum();
            inverse[a * n + b] = v;
            inverse[b * n + a] = v;
        }
    }
    inverse
}

impl Gp {
    /// Fits `points` with objectives `values`. The hyperparameters are the `previous` ones, or
    /// the best of them and the grid's by marginal likelihood when `regrid` (or when there are
    /// no previous ones), followed by one relevance step: the weights move along the gradient
    /// of the log marginal likelihood in their logarithms, kept if the likelihood rises (and
    /// the next step doubled), dropped if not (and the next step halved). One step per fit
    /// keeps each fit within a few factorisations; the weights climb over successive fits.
    /// `None` with no point, or when no hyperparameters give a positive definite kernel.
    pub fn fit(
        points: Vec<Encoding>,
        values: &[f64],
        previous: Option<Hyper>,
        regrid: bool,
    ) -> Option<Gp> {
        let n = points.len();
        if n == 0 || n != values.len() {
            return None;
        }
        let dims = points[0].len().max(1);
        let mean = values.iter().sum::<f64>() / n as f64;
        let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n as f64;
        let spread = if var > 0.0 { var.sqrt() } else { 1.0 };
        let z: Vec<f64> = values.iter().map(|v| (v - mean) / spread).collect();
        // Candidates grouped by weights: one kernel matrix for every noise tried with it. The
        // grid's weights are equal, so its kernel matrices come from one count per pair of the
        // choices that differ.
        let mut candidates: Vec<(Vec<f64>, Vec<f64>, f64)> = Vec::new();
        let search = regrid || previous.is_none();
        if search {
            candidates.extend(grid(dims).map(|w| (w, NOISES.to_vec(), 0.5)));
        }
        let from_grid = candidates.len();
        if let Some(h) = previous {
            candidates.push((h.weights, vec![h.noise], h.step));
        }
        let differing = if search {
            differences(&points)
        } else {
            Vec::new()
        };
        let mut best: Option<(Factored, Hyper)> = None;
        for (c, (weights, noises, step)) in candidates.into_iter().enumerate() {
            let k = if c < from_grid {
                differing.iter().map(|d| (-weights[0] * d).exp()).collect()
            } else {
                kernel_matrix(&points, &weights)
            };
            for noise in noises {
                if let Some(f) = factor(k.clone(), &z, noise)
                    && best
                        .as_ref()
                        .is_none_or(|b| f.log_likelihood > b.0.log_likelihood)
                {
                    let weights = weights.clone();
                    best = Some((
                        f,
                        Hyper {
                            weights,
                            noise,
                            step,
                        },
                    ));
                }
            }
        }
        let (mut factored, mut hyper) = best?;
        let slope = gradient(&points, &factored, &hyper.weights);
        let norm = slope.iter().map(|g| g * g).sum::<f64>().sqrt();
        if norm > 1e-9 {
            let trial: Vec<f64> = hyper
                .weights
                .iter()
                .zip(&slope)
                .map(|(w, g)| {
                    (w * (hyper.step * g / norm).exp()).clamp(WEIGHT_RANGE.0, WEIGHT_RANGE.1)
                })
                .collect();
            match likelihood(&points, &z, &trial, hyper.noise) {
                Some(f) if f.log_likelihood > factored.log_likelihood => {
                    (factored, hyper.weights) = (f, trial);
                    hyper.step *= 2.0;
                }
                _ => hyper.step /= 2.0,
            }
            hyper.step = hyper.step.clamp(STEP_RANGE.0, STEP_RANGE.1);
        }
        let best = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        Some(Gp {
            points,
            hyper,
            mean,
            spread,
            chol: factored.chol,
            alpha: factored.alpha,
            best,
        })
    }

    /// The posterior at `x`.
    pub fn predict(&self, x: &[u16]) -> Prediction {
        let n = self.points.len();
        let k: Vec<f64> = self
            .points
            .iter()
            .map(|p| kernel(p, x, &self.hyper.weights))
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
pub(crate) fn cholesky(mut a: Vec<f64>, n: usize) -> Option<Vec<f64>> {
    for j in 0..n {
        let (head, tail) = a.split_at_mut((j + 1) * n);
        let row_j = &mut head[j * n..];
        let d = row_j[..j].iter().fold(row_j[j], |d, x| d - x * x);
        if d <= 0.0 || !d.is_finite() {
            return None;
        }
        let d = d.sqrt();
        row_j[j] = d;
        let row_j = &row_j[..j];
        for row_i in tail.chunks_exact_mut(n) {
            let s = row_i[..j]
                .iter()
                .zip(row_j)
                .fold(row_i[j], |s, (x, y)| s - x * y);
            row_i[j] = s / d;
        }
        for i in 0..j {
            a[i * n + j] = 0.0;
        }
    }
    Some(a)
}

/// Solves `L x = b` for the lower-triangular `l`.
pub(crate) fn solve_lower(l: &[f64], n: usize, b: &[f64]) -> Vec<f64> {
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
pub(crate) fn normal_pdf(u: f64) -> f64 {
    (-0.5 * u * u).exp() / (2.0 * std::f64::consts::PI).sqrt()
}

/// The standard normal distribution function, through the complementary error function
/// (Numerical Recipes' Chebyshev fit, relative error below 1.2e-7).
pub(crate) fn normal_cdf(u: f64) -> f64 {
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
        let gp = Gp::fit(points, &values, None, true).unwrap();
        let at = gp.predict(&[1, 1, 1]);
        assert!((at.mean - 3.0).abs() < 0.2, "{at:?}");
        let far = gp.predict(&[2, 2, 2]);
        assert!(far.std > 3.0 * at.std, "{far:?} {at:?}");
        // Improvement is expected where the model is unsure, barely where it knows.
        assert!(far.expected_improvement > at.expected_improvement);
    }

    /// Points on 3 choices whose objective depends on the first alone.
    fn first_choice_matters() -> (Vec<Encoding>, Vec<f64>) {
        let points: Vec<Encoding> = (0..40u16)
            .map(|i| vec![i % 3, (i / 3) % 4, (i * 7) % 5])
            .collect();
        let z = points.iter().map(|p| f64::from(p[0]) - 1.0).collect();
        (points, z)
    }

    #[test]
    fn the_gradient_in_the_weights_matches_finite_differences() {
        let (points, z) = first_choice_matters();
        let w = vec![0.3, 0.5, 0.8];
        let g = gradient(&points, &likelihood(&points, &z, &w, 0.01).unwrap(), &w);
        for i in 0..3 {
            let h = 1e-5;
            let at = |d: f64| {
                let mut t = w.clone();
                t[i] *= d.exp();
                likelihood(&points, &z, &t, 0.01).unwrap().log_likelihood
            };
            let numeric = (at(h) - at(-h)) / (2.0 * h);
            assert!(
                (g[i] - numeric).abs() < 1e-4 * (1.0 + numeric.abs()),
                "{i}: {} {numeric}",
                g[i]
            );
        }
    }

    #[test]
    fn successive_fits_weigh_the_choice_that_matters_and_raise_the_likelihood() {
        let (points, z) = first_choice_matters();
        let first = Gp::fit(points.clone(), &z, None, true).unwrap().hyper;
        let mut h = first.clone();
        for _ in 0..10 {
            h = Gp::fit(points.clone(), &z, Some(h), false).unwrap().hyper;
        }
        let ll = |h: &Hyper| {
            likelihood(&points, &z, &h.weights, h.noise)
                .unwrap()
                .log_likelihood
        };
        assert!(ll(&h) > ll(&first) + 1.0, "{first:?} {h:?}");
        let w = &h.weights;
        assert!(w[0] > 2.0 * w[1] && w[0] > 2.0 * w[2], "{w:?}");
        // A second grid search keeps the climbed weights: they beat every grid point.
        let again = Gp::fit(points.clone(), &z, Some(h.clone()), true)
            .unwrap()
            .hyper;
        assert!(ll(&again) >= ll(&h), "{again:?}");
    }

    #[test]
    fn the_inverse_from_the_cholesky_factor_is_the_inverse() {
        let a = vec![4.0, 2.0, 0.5, 2.0, 3.0, 0.2, 0.5, 0.2, 2.0];
        let inverse = inverse_from_cholesky(&cholesky(a.clone(), 3).unwrap(), 3);
        for i in 0..3 {
            for j in 0..3 {
                let v: f64 = (0..3).map(|k| a[i * 3 + k] * inverse[k * 3 + j]).sum();
                assert!(
                    (v - f64::from(u8::from(i == j))).abs() < 1e-12,
                    "{i} {j} {v}"
                );
            }
        }
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
