//! Non-negative least squares, for fitting cost-model coefficients.

/// The `x ≥ 0` that minimises `‖A·x − b‖²`, by cyclic coordinate descent on the normal
/// equations (the problem is convex, so it converges to the optimum). `rows` are the rows of
/// `A`. Columns that are zero in every row get `None`: the data says nothing about them.
pub fn nnls(rows: &[Vec<f64>], b: &[f64]) -> Vec<Option<f64>> {
    let n = rows.first().map_or(0, Vec::len);
    // Scale columns to unit norm for conditioning.
    let norms: Vec<f64> = (0..n)
        .map(|j| rows.iter().map(|r| r[j] * r[j]).sum::<f64>().sqrt())
        .collect();
    let mut g = vec![vec![0.0; n]; n];
    let mut h = vec![0.0; n];
    for (r, &y) in rows.iter().zip(b) {
        for i in 0..n {
            if norms[i] == 0.0 {
                continue;
            }
            let ri = r[i] / norms[i];
            h[i] += ri * y;
            for j in 0..n {
                if norms[j] > 0.0 {
                    g[i][j] += ri * r[j] / norms[j];
                }
            }
        }
    }
    let mut x = vec![0.0; n];
    for _ in 0..20_000 {
        let mut change = 0f64;
        for j in 0..n {
            if g[j][j] <= 0.0 {
                continue;
            }
            let grad: f64 = (0..n).map(|k| g[j][k] * x[k]).sum::<f64>() - h[j];
            let next = (x[j] - grad / g[j][j]).max(0.0);
            change = change.max((next - x[j]).abs());
            x[j] = next;
        }
        if change < 1e-12 {
            break;
        }
    }
    (0..n)
        .map(|j| (norms[j] > 0.0).then(|| x[j] / norms[j]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovers_non_negative_coefficients() {
        let rows: Vec<Vec<f64>> = (1..20)
            .map(|i| vec![i as f64, (i * i % 7) as f64, 1.0, 0.0])
            .collect();
        let b: Vec<f64> = rows.iter().map(|r| 2.0 * r[0] + 0.5 * r[1] + 3.0).collect();
        let x = nnls(&rows, &b);
        assert!((x[0].unwrap() - 2.0).abs() < 1e-6);
        assert!((x[1].unwrap() - 0.5).abs() < 1e-6);
        assert!((x[2].unwrap() - 3.0).abs() < 1e-6);
        assert_eq!(x[3], None);
    }

    #[test]
    fn clamps_what_would_be_negative() {
        let rows = vec![vec![1.0, 1.0], vec![1.0, 2.0], vec![1.0, 3.0]];
        // b falls as the second column grows: the unconstrained fit is negative there.
        let x = nnls(&rows, &[3.0, 2.0, 1.0]);
        assert_eq!(x[1], Some(0.0));
        assert!((x[0].unwrap() - 2.0).abs() < 1e-6);
    }
}
