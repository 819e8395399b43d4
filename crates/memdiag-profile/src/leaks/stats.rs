//! Robust trend statistics on one time series: Theil–Sen slope, the
//! Mann–Kendall trend test (with Hamed and Rao's correction for
//! autocorrelation) and Benjamini–Hochberg false discovery rate control.
//!
//! Times are in seconds; values in the profile's unit. Nothing here knows
//! about profiles.

/// The median of `v` (reordered in place); 0 for an empty slice.
pub fn median(v: &mut [f64]) -> f64 {
    let n = v.len();
    if n == 0 {
        return 0.0;
    }
    let (_, upper, _) = v.select_nth_unstable_by(n / 2, f64::total_cmp);
    let upper = *upper;
    if n % 2 == 1 {
        return upper;
    }
    let lower = v[..n / 2]
        .iter()
        .copied()
        .max_by(f64::total_cmp)
        .unwrap_or(upper);
    (lower + upper) / 2.0
}

/// Theil–Sen estimator: the median of the slopes between every pair of
/// points with distinct times. `scratch` is reused between calls.
pub fn theil_sen(t: &[f64], y: &[f64], scratch: &mut Vec<f64>) -> f64 {
    scratch.clear();
    for i in 0..t.len() {
        for j in i + 1..t.len() {
            let dt = t[j] - t[i];
            if dt != 0.0 {
                scratch.push((y[j] - y[i]) / dt);
            }
        }
    }
    median(scratch)
}

/// The result of a Mann–Kendall test.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MannKendall {
    /// Σ sign(y_j − y_i) over i < j.
    pub s: i64,
    /// Variance of S under the null hypothesis (ties corrected, and
    /// autocorrelation corrected when asked).
    pub var_s: f64,
    /// The standard normal statistic with continuity correction.
    pub z: f64,
    /// One-sided p-value for an increasing trend.
    pub p_up: f64,
    /// One-sided p-value for a decreasing trend.
    pub p_down: f64,
    /// Two-sided p-value.
    pub p: f64,
}

/// Mann–Kendall S statistic and its tie-corrected variance.
fn s_and_variance(y: &[f64], scratch: &mut Vec<f64>) -> (i64, f64) {
    let n = y.len();
    let mut s = 0i64;
    for i in 0..n {
        let yi = y[i];
        for &yj in &y[i + 1..] {
            s += (yj > yi) as i64 - (yj < yi) as i64;
        }
    }
    scratch.clear();
    scratch.extend_from_slice(y);
    scratch.sort_unstable_by(f64::total_cmp);
    let mut ties = 0.0;
    let mut k = 0;
    while k < n {
        let mut e = k + 1;
        while e < n && scratch[e] == scratch[k] {
            e += 1;
        }
        let g = (e - k) as f64;
        ties += g * (g - 1.0) * (2.0 * g + 5.0);
        k = e;
    }
    let nf = n as f64;
    let var = (nf * (nf - 1.0) * (2.0 * nf + 5.0) - ties) / 18.0;
    (s, var)
}

/// Mann–Kendall test of `y` (in time order) for a monotonic trend.
pub fn mann_kendall(y: &[f64], scratch: &mut Vec<f64>) -> MannKendall {
    let (s, var) = s_and_variance(y, scratch);
    finish(s, var)
}

/// Mann–Kendall test with Hamed and Rao's (1998) variance correction: the
/// variance of S is inflated by the autocorrelation of the ranks of the
/// detrended series (significant lags only), so that a periodic or
/// autocorrelated series (a sawtooth cache) is not taken for a trend.
/// `slope` is the Theil–Sen slope of `(t, y)`.
pub fn mann_kendall_hamed_rao(
    t: &[f64],
    y: &[f64],
    slope: f64,
    scratch: &mut Vec<f64>,
) -> MannKendall {
    let (s, var) = s_and_variance(y, scratch);
    let n = y.len();
    if n < 10 || var <= 0.0 {
        return finish(s, var);
    }
    // Ranks of the detrended series (ties get the average rank).
    let detrended: Vec<f64> = t.iter().zip(y).map(|(t, y)| y - slope * t).collect();
    let ranks = ranks(&detrended);
    let mean = (n as f64 + 1.0) / 2.0;
    let denom: f64 = ranks.iter().map(|r| (r - mean) * (r - mean)).sum();
    if denom <= 0.0 {
        return finish(s, var);
    }
    let nf = n as f64;
    let bound = 1.96 / nf.sqrt();
    let mut sum = 0.0;
    for k in 1..n - 2 {
        let num: f64 = (0..n - k)
            .map(|i| (ranks[i] - mean) * (ranks[i + k] - mean))
            .sum();
        let rho = num / denom;
        if rho.abs() > bound {
            let m = (n - k) as f64;
            sum += m * (m - 1.0) * (m - 2.0) * rho;
        }
    }
    let factor = 1.0 + 2.0 * sum / (nf * (nf - 1.0) * (nf - 2.0));
    finish(s, var * factor.max(1.0))
}

fn ranks(v: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..v.len()).collect();
    order.sort_unstable_by(|&a, &b| v[a].total_cmp(&v[b]));
    let mut ranks = vec![0.0; v.len()];
    let mut k = 0;
    while k < order.len() {
        let mut e = k + 1;
        while e < order.len() && v[order[e]] == v[order[k]] {
            e += 1;
        }
        let rank = (k + e + 1) as f64 / 2.0;
        for &i in &order[k..e] {
            ranks[i] = rank;
        }
        k = e;
    }
    ranks
}

fn finish(s: i64, var: f64) -> MannKendall {
    let z = if var <= 0.0 || s == 0 {
        0.0
    } else if s > 0 {
        (s as f64 - 1.0) / var.sqrt()
    } else {
        (s as f64 + 1.0) / var.sqrt()
    };
    let p_up = normal_sf(z);
    let p_down = normal_sf(-z);
    MannKendall {
        s,
        var_s: var,
        z,
        p_up,
        p_down,
        p: (2.0 * p_up.min(p_down)).min(1.0),
    }
}

/// Survival function of the standard normal distribution, 1 − Φ(z).
pub fn normal_sf(z: f64) -> f64 {
    0.5 * erfc(z / std::f64::consts::SQRT_2)
}

/// Complementary error function (Numerical Recipes' Chebyshev fit,
/// relative error below 1.2e-7 everywhere).
fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let r = t
        * (-z * z - 1.265_512_23
            + t * (1.000_023_68
                + t * (0.374_091_96
                    + t * (0.096_784_18
                        + t * (-0.186_288_06
                            + t * (0.278_868_07
                                + t * (-1.135_203_98
                                    + t * (1.488_515_87
                                        + t * (-0.822_152_23 + t * 0.170_872_77)))))))))
            .exp();
    if x >= 0.0 {
        r
    } else {
        2.0 - r
    }
}

/// Benjamini–Hochberg adjusted p-values (q-values), in the order of `p`.
/// A discovery at false discovery rate α is a q-value ≤ α.
pub fn benjamini_hochberg(p: &[f64]) -> Vec<f64> {
    let m = p.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_unstable_by(|&a, &b| p[a].total_cmp(&p[b]));
    let mut q = vec![1.0; m];
    let mut running = 1.0f64;
    for (rank, &i) in order.iter().enumerate().rev() {
        let adjusted = p[i] * m as f64 / (rank + 1) as f64;
        running = running.min(adjusted).min(1.0);
        q[i] = running;
    }
    q
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&mut [4.0, 1.0, 3.0, 2.0]), 2.5);
        assert_eq!(median(&mut []), 0.0);
    }

    #[test]
    fn theil_sen_ignores_an_outlier() {
        // y = 2t with one wild point: least squares would be pulled, the
        // median of pairwise slopes is not.
        let t: Vec<f64> = (0..11).map(f64::from).collect();
        let mut y: Vec<f64> = t.iter().map(|t| 2.0 * t).collect();
        y[5] = 1000.0;
        let slope = theil_sen(&t, &y, &mut Vec::new());
        assert!(close(slope, 2.0, 1e-9), "{slope}");
    }

    #[test]
    fn mann_kendall_on_a_monotone_series() {
        // Strictly increasing, n = 10: S = C(10,2) = 45,
        // Var = 10·9·25/18 = 125, Z = 44/√125 ≈ 3.935.
        let y: Vec<f64> = (0..10).map(f64::from).collect();
        let mk = mann_kendall(&y, &mut Vec::new());
        assert_eq!(mk.s, 45);
        assert!(close(mk.var_s, 125.0, 1e-9));
        assert!(close(mk.z, 44.0 / 125f64.sqrt(), 1e-9));
        // Φ(−3.935) ≈ 4.16e-5.
        assert!(close(mk.p_up, 4.16e-5, 0.02e-5), "{}", mk.p_up);
        assert!(mk.p_down > 0.999);
    }

    #[test]
    fn ties_reduce_the_variance() {
        // Three equal values: Var = (5·4·15 − 3·2·11)/18 = (300 − 66)/18 = 13.
        let mk = mann_kendall(&[1.0, 2.0, 2.0, 2.0, 3.0], &mut Vec::new());
        assert!(close(mk.var_s, 13.0, 1e-9));
        assert_eq!(mk.s, 7);
    }

    #[test]
    fn normal_tail_values() {
        assert!(close(normal_sf(0.0), 0.5, 1e-7));
        assert!(close(normal_sf(1.959_964), 0.025, 1e-6));
        assert!(close(normal_sf(-1.644_854), 0.95, 1e-6));
    }

    #[test]
    fn hamed_rao_discounts_autocorrelated_levels() {
        // Four long blocks at levels 0, 3, 1, 2 (plus a tiny ramp so values
        // are distinct): the plain test takes the blocks' 25 near-copies of
        // each value as independent evidence of a rise; after detrending,
        // neighbouring ranks are strongly correlated, so the corrected
        // variance is larger and the trend weaker.
        let t: Vec<f64> = (0..100).map(f64::from).collect();
        let y: Vec<f64> = (0..100)
            .map(|i| [0.0, 3.0, 1.0, 2.0][i / 25] + 1e-3 * f64::from(i as u32))
            .collect();
        let mut scratch = Vec::new();
        let plain = mann_kendall(&y, &mut scratch);
        let slope = theil_sen(&t, &y, &mut scratch);
        let corrected = mann_kendall_hamed_rao(&t, &y, slope, &mut scratch);
        assert!(
            corrected.var_s > 2.0 * plain.var_s,
            "{} vs {}",
            corrected.var_s,
            plain.var_s
        );
        assert!(corrected.p > plain.p);
    }

    #[test]
    fn benjamini_hochberg_by_hand() {
        // m = 4, sorted p = 0.01, 0.02, 0.03, 0.5 → p·m/rank = 0.04, 0.04, 0.04, 0.5.
        let q = benjamini_hochberg(&[0.03, 0.5, 0.01, 0.02]);
        let want = [0.04, 0.5, 0.04, 0.04];
        for (q, w) in q.iter().zip(want) {
            assert!(close(*q, w, 1e-12), "{q} vs {w}");
        }
        // Monotone: a larger p never gets a smaller q.
        let q = benjamini_hochberg(&[0.001, 0.04, 0.045]);
        assert!(q[0] <= q[1] && q[1] <= q[2]);
    }
}
