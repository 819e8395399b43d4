//! Classifying one site's series as leak, plateau, shrinking, churn or
//! stable from its trend statistics.
//!
//! The rules, in order:
//! 1. A constant series is stable (churn when it allocated meanwhile).
//! 2. Short series (fewer than [`Params::min_snapshots`]): a strictly
//!    increasing series is a (weak) leak, strictly decreasing is shrinking.
//! 3. A significant upward Mann–Kendall trend (Benjamini–Hochberg q ≤ α,
//!    Hamed–Rao corrected for autocorrelation) with a positive Theil–Sen
//!    slope, and a floor that rose with it (the least value from the start
//!    of the recent window on exceeds the overall least value by at least
//!    half the growth the slope predicts: leaked memory is never freed,
//!    while a sawtooth cache keeps returning to empty), is a leak when the
//!    recent window still grows (its slope is at least half the overall
//!    one, or a fifth with an upward recent trend), else a plateau. The
//!    growth must also be material: at least
//!    [`Params::min_relative_growth`] of the site's peak over the span, and
//!    at least [`Params::min_growth_bytes`] for byte-valued series.
//! 4. A significant downward trend is shrinking.
//! 5. Without a significant trend, a series whose recent level is well above
//!    its early level (by more than three noise widths) and flat lately is a
//!    plateau (a slow warm-up, a step).
//! 6. Otherwise churn when it varies or turns memory over, else stable.

use super::stats::{self, MannKendall};
use super::Class;

/// Tuning of the statistics.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Params {
    /// False discovery rate for the trend tests (Benjamini–Hochberg).
    pub alpha: f64,
    /// Share of the series (at its end) that forms the recent window.
    pub recent_fraction: f64,
    /// Fewer snapshots make every verdict weak.
    pub min_snapshots: usize,
    /// Growth over the whole span (slope × duration) smaller than this
    /// fraction of the site's peak is not a leak however steady it is: a
    /// buffer that drifts by a few hundred bytes is not what anyone is
    /// looking for.
    pub min_relative_growth: f64,
    /// Growth over the whole span below this many bytes is not a leak
    /// either (byte-valued sample types only): a runtime that grows a few
    /// KiB of bookkeeping while it warms up (Go's goroutine structs, which
    /// are never freed but reused) is not what anyone is looking for.
    pub min_growth_bytes: f64,
    /// At most this many churning sites are listed in the report (the
    /// largest); all are counted.
    pub max_churn_listed: usize,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            alpha: 0.05,
            recent_fraction: 1.0 / 3.0,
            min_snapshots: 5,
            max_churn_listed: 50,
            min_relative_growth: 0.05,
            min_growth_bytes: 16.0 * 1024.0,
        }
    }
}

/// Smallest series with a recent window.
const MIN_WINDOWED: usize = 8;

/// Statistics of one site's series.
#[derive(Clone, Debug, PartialEq)]
pub struct SiteStats {
    pub n: usize,
    pub constant: bool,
    /// Theil–Sen slope, value per second; computed only when the plain
    /// Mann–Kendall test is significant before correction (else 0, see
    /// `slope_computed`).
    pub slope: f64,
    pub slope_computed: bool,
    pub mk: MannKendall,
    /// Recent window: Theil–Sen slope and one-sided upward p-value.
    pub recent_slope: Option<f64>,
    pub recent_p_up: Option<f64>,
    /// Seconds covered by the recent window.
    pub recent_span: f64,
    /// Median of the last window minus median of the first tenth of the
    /// series, and the noise width (1.4826 × MAD) of the last window.
    pub level_rise: f64,
    pub recent_noise: f64,
    /// How much the floor rose before the recent window: the least value
    /// from the window's start on, minus the least value overall. Memory that
    /// leaks is never freed, so a leak lifts the floor; a cache that is
    /// evicted, however often it refills, does not.
    pub floor_rise: f64,
    /// Seconds from the first snapshot to where `floor_rise` is measured.
    pub floor_span: f64,
    /// Seconds from the first snapshot to the last.
    pub span: f64,
    /// Largest |value|, last minus first value, largest minus smallest.
    pub peak: f64,
    pub total_growth: f64,
    pub range: f64,
    /// Growth of the alloc series over the whole span (`None` without one).
    pub alloc_growth: Option<f64>,
}

/// Computes the statistics of `y` sampled at times `t` (seconds).
pub fn site_stats(
    t: &[f64],
    y: &[f64],
    alloc: Option<(f64, f64)>,
    params: &Params,
    scratch: &mut Vec<f64>,
) -> SiteStats {
    let n = y.len();
    let first = y.first().copied().unwrap_or(0.0);
    let last = y.last().copied().unwrap_or(0.0);
    let (min, max) = y
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        });
    let constant = n == 0 || min == max;
    let peak = y.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let alloc_growth = alloc.map(|(a0, a1)| a1 - a0);
    let mut s = SiteStats {
        n,
        constant,
        slope: 0.0,
        slope_computed: false,
        mk: stats::mann_kendall(&[], scratch),
        recent_slope: None,
        recent_p_up: None,
        recent_span: 0.0,
        floor_rise: 0.0,
        floor_span: 0.0,
        span: t.last().copied().unwrap_or(0.0) - t.first().copied().unwrap_or(0.0),
        level_rise: 0.0,
        recent_noise: 0.0,
        peak,
        total_growth: last - first,
        range: if constant { 0.0 } else { max - min },
        alloc_growth,
    };
    if constant {
        return s;
    }
    // The corrected test only ever raises p, so a series the plain test
    // finds insignificant needs neither the correction nor (for its class)
    // the O(n²) slope: most sites of a big profile are such churn.
    s.mk = stats::mann_kendall(y, scratch);
    if s.mk.p <= params.alpha || n < params.min_snapshots {
        s.slope = stats::theil_sen(t, y, scratch);
        s.slope_computed = true;
        if n >= 10 {
            s.mk = stats::mann_kendall_hamed_rao(t, y, s.slope, scratch);
        }
    }
    let floor_at = if n >= MIN_WINDOWED {
        n - window(n, params)
    } else {
        n / 2
    };
    let later_min = y[floor_at..].iter().copied().fold(f64::INFINITY, f64::min);
    s.floor_rise = later_min - min;
    s.floor_span = t[floor_at] - t[0];
    if n >= MIN_WINDOWED {
        let w = window(n, params);
        let (rt, ry) = (&t[n - w..], &y[n - w..]);
        s.recent_slope = Some(stats::theil_sen(rt, ry, scratch));
        s.recent_p_up = Some(stats::mann_kendall(ry, scratch).p_up);
        s.recent_span = rt[w - 1] - rt[0];
        // The early level from the first tenth (at least 2 points): a cache
        // that fills faster than a whole window must still show its rise.
        let early_len = (n / 10).clamp(2, w);
        let mut early: Vec<f64> = y[..early_len].to_vec();
        let mut late: Vec<f64> = ry.to_vec();
        let late_median = stats::median(&mut late);
        s.level_rise = late_median - stats::median(&mut early);
        let mut dev: Vec<f64> = ry.iter().map(|v| (v - late_median).abs()).collect();
        s.recent_noise = 1.4826 * stats::median(&mut dev);
    }
    s
}

/// Length of the recent window of a series of `n` points.
pub fn window(n: usize, params: &Params) -> usize {
    ((n as f64 * params.recent_fraction).ceil() as usize)
        .max(4)
        .min(n)
}

/// The class of a site given its statistics and the q-value of its trend
/// test (1 for untested sites).
pub fn classify(s: &SiteStats, q: f64, params: &Params) -> Class {
    let turnover = s
        .alloc_growth
        .is_some_and(|a| a - s.total_growth.max(0.0) > 0.1 * s.peak.max(1.0));
    if s.constant {
        return if turnover {
            Class::Churn
        } else {
            Class::Stable
        };
    }
    let varies = s.range > 0.1 * s.peak;
    let quiet = if varies || turnover {
        Class::Churn
    } else {
        Class::Stable
    };
    if s.n < params.min_snapshots {
        let all_pairs = (s.n * s.n.saturating_sub(1) / 2) as i64;
        return if s.n >= 2 && s.mk.s == all_pairs {
            Class::Leak
        } else if s.n >= 2 && s.mk.s == -all_pairs {
            Class::Shrinking
        } else {
            quiet
        };
    }
    let significant = q <= params.alpha;
    let floor_lifted = s.floor_rise >= 0.5 * s.slope * s.floor_span;
    let material =
        s.slope * s.span >= (params.min_relative_growth * s.peak).max(params.min_growth_bytes);
    if significant && s.mk.s > 0 && s.slope > 0.0 && floor_lifted && material {
        return match (s.recent_slope, s.recent_p_up) {
            (Some(recent), Some(p_up)) => {
                let ratio = recent / s.slope;
                if ratio >= 0.5 || (ratio >= 0.2 && p_up <= 0.1) {
                    Class::Leak
                } else {
                    Class::Plateau
                }
            }
            _ => Class::Leak,
        };
    }
    if significant && s.mk.s < 0 && s.slope < 0.0 {
        return Class::Shrinking;
    }
    if rose_then_flat(s) {
        return Class::Plateau;
    }
    quiet
}

/// The recent level is well above the early one and no longer rising.
fn rose_then_flat(s: &SiteStats) -> bool {
    let Some(recent) = s.recent_slope else {
        return false;
    };
    s.level_rise > 0.0
        && s.level_rise > 3.0 * s.recent_noise
        && s.level_rise >= 0.1 * s.peak
        && recent * s.recent_span <= 0.25 * s.level_rise
}
