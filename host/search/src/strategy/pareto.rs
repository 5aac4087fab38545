//! Pareto dominance over cost vectors (every entry minimised): non-dominated sorting,
//! crowding distance (Deb et al. 2002) and the two-objective hypervolume.

/// Whether `a` dominates `b`: no worse in every entry and better in one.
pub fn dominates(a: &[f64], b: &[f64]) -> bool {
    a.iter().zip(b).all(|(x, y)| x <= y) && a.iter().zip(b).any(|(x, y)| x < y)
}

/// The points sorted into fronts: the first holds the non-dominated points, the second those
/// dominated only by the first, and so on. Indices into `points`.
pub fn fronts(points: &[Vec<f64>]) -> Vec<Vec<usize>> {
    let n = points.len();
    let mut dominated_by = vec![0usize; n];
    let mut dominates_list: Vec<Vec<usize>> = vec![Vec::new(); n];
    for i in 0..n {
        for j in i + 1..n {
            if dominates(&points[i], &points[j]) {
                dominates_list[i].push(j);
                dominated_by[j] += 1;
            } else if dominates(&points[j], &points[i]) {
                dominates_list[j].push(i);
                dominated_by[i] += 1;
            }
        }
    }
    let mut out = Vec::new();
    let mut current: Vec<usize> = (0..n).filter(|&i| dominated_by[i] == 0).collect();
    while !current.is_empty() {
        let mut next = Vec::new();
        for &i in &current {
            for &j in &dominates_list[i] {
                dominated_by[j] -= 1;
                if dominated_by[j] == 0 {
                    next.push(j);
                }
            }
        }
        out.push(std::mem::replace(&mut current, next));
    }
    out
}

/// The crowding distance of each member of `front` (in its order): the perimeter of the box
/// its neighbours span, per objective normalised by the front's range; the extremes get ∞.
pub fn crowding(points: &[Vec<f64>], front: &[usize]) -> Vec<f64> {
    let mut distance = vec![0.0; front.len()];
    let Some(&first) = front.first() else {
        return distance;
    };
    for (m, _) in points[first].iter().enumerate() {
        let value = |k: usize| points[front[k]][m];
        let mut order: Vec<usize> = (0..front.len()).collect();
        order.sort_by(|&a, &b| value(a).total_cmp(&value(b)));
        let (lo, hi) = (value(order[0]), value(*order.last().unwrap()));
        distance[order[0]] = f64::INFINITY;
        distance[*order.last().unwrap()] = f64::INFINITY;
        if hi > lo {
            for k in 1..order.len().saturating_sub(1) {
                let gap = value(order[k + 1]) - value(order[k - 1]);
                distance[order[k]] += gap / (hi - lo);
            }
        }
    }
    distance
}

/// The area dominated by two-objective `points` (both minimised) and bounded by `reference`;
/// points not better than the reference in both objectives add nothing.
pub fn hypervolume_2d(points: &[[f64; 2]], reference: [f64; 2]) -> f64 {
    let mut inside: Vec<[f64; 2]> = points
        .iter()
        .copied()
        .filter(|p| p[0] < reference[0] && p[1] < reference[1])
        .collect();
    inside.sort_by(|a, b| a[0].total_cmp(&b[0]).then(a[1].total_cmp(&b[1])));
    let (mut area, mut ceiling) = (0.0, reference[1]);
    for p in inside {
        if p[1] < ceiling {
            area += (reference[0] - p[0]) * (ceiling - p[1]);
            ceiling = p[1];
        }
    }
    area
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fronts_and_crowding() {
        let points = vec![
            vec![1.0, 4.0],
            vec![2.0, 2.0],
            vec![4.0, 1.0],
            vec![3.0, 3.0],
            vec![5.0, 5.0],
        ];
        assert_eq!(fronts(&points), vec![vec![0, 1, 2], vec![3], vec![4]]);
        let d = crowding(&points, &[0, 1, 2]);
        assert!(d[0].is_infinite() && d[2].is_infinite());
        assert!((d[1] - 2.0).abs() < 1e-12, "{d:?}");
    }

    #[test]
    fn the_hypervolume_of_a_staircase() {
        // Boxes 3×1, 2×1 (over 1..2 in the second objective) and 1×1: 3 + 2 + 1 = 6.
        let area = hypervolume_2d(
            &[[1.0, 3.0], [2.0, 2.0], [3.0, 1.0], [3.5, 3.5]],
            [4.0, 4.0],
        );
        assert!((area - 6.0).abs() < 1e-12, "{area}");
        assert_eq!(hypervolume_2d(&[[5.0, 1.0]], [4.0, 4.0]), 0.0);
    }
}
