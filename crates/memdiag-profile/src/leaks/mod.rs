//! Leak statistics over a series of heap profiles.
//!
//! Snapshots are folded one at a time into per-site series
//! ([`SeriesBuilder`], `align.rs`); each site's series then gets robust trend
//! statistics (`stats.rs`: Theil–Sen slope, Mann–Kendall test with Hamed–Rao
//! autocorrelation correction, Benjamini–Hochberg control over all sites) and
//! a class (`classify.rs`): leak, plateau, shrinking, churn or stable. A
//! site that grows a leak's container joins that leak (`containers.rs`;
//! `frames.rs` picks the frame that names a site and its allocating
//! function). The result model is in `result.rs`.

mod align;
mod classify;
mod containers;
mod frames;
mod result;
pub mod stats;

pub use align::{Series, SeriesBuilder, SiteSeries};
pub use classify::{classify, site_stats, Params, SiteStats};
pub use frames::{allocating_frame, site_name};
pub use result::{Class, ClassCounts, LeakReport, SiteVerdict};

/// Classifies every site of `series`.
pub fn analyze(series: &Series, params: &Params) -> LeakReport {
    let n = series.len();
    let start = series.times_nanos.first().copied().unwrap_or(0);
    let end = series.times_nanos.last().copied().unwrap_or(0);
    let t: Vec<f64> = series
        .times_nanos
        .iter()
        .map(|&ns| (ns - start) as f64 / 1e9)
        .collect();

    let all_stats = compute_stats(series, &t, params);

    // Benjamini–Hochberg over the sites that were tested (a constant series
    // cannot show a trend and is not a test).
    let tested: Vec<usize> = (0..all_stats.len())
        .filter(|&i| !all_stats[i].0.constant)
        .collect();
    let p: Vec<f64> = tested.iter().map(|&i| all_stats[i].0.mk.p).collect();
    let q_tested = stats::benjamini_hochberg(&p);
    let mut q = vec![1.0; all_stats.len()];
    for (k, &i) in tested.iter().enumerate() {
        q[i] = q_tested[k];
    }

    let byte_params;
    let params = if series.sample_type.1 == "bytes" {
        params
    } else {
        byte_params = Params {
            min_growth_bytes: 0.0,
            ..*params
        };
        &byte_params
    };
    let weak = n < params.min_snapshots;
    let mut classes: Vec<Class> = all_stats
        .iter()
        .zip(&q)
        .map(|((s, _), &q)| classify(s, q, params))
        .collect();
    let slopes: Vec<f64> = all_stats.iter().map(|(s, _)| s.slope).collect();
    let joins = containers::join_leaks(series, &slopes, &mut classes);
    let mut counts = ClassCounts::default();
    for &c in &classes {
        counts.add(c);
    }
    // Which sites are listed: all but the stable ones, and only the largest
    // churning ones.
    let mut churn: Vec<usize> = (0..classes.len())
        .filter(|&i| classes[i] == Class::Churn)
        .collect();
    churn.sort_by(|&a, &b| all_stats[b].0.peak.total_cmp(&all_stats[a].0.peak));
    let mut listed = vec![false; classes.len()];
    for &i in churn.iter().take(params.max_churn_listed) {
        listed[i] = true;
    }
    for (i, c) in classes.iter().enumerate() {
        if !matches!(c, Class::Churn | Class::Stable) {
            listed[i] = true;
        }
    }

    let mut sites = Vec::new();
    // Position in `sites` of each listed site, for `joins`.
    let mut at = vec![usize::MAX; classes.len()];
    let (mut y, mut scratch) = (Vec::new(), Vec::new());
    for (i, (s, objects_slope)) in all_stats.iter().enumerate() {
        if !listed[i] {
            continue;
        }
        at[i] = sites.len();
        let class = classes[i];
        let site = &series.sites[i];
        let slope = if s.slope_computed {
            s.slope
        } else {
            y.clear();
            y.extend(site.values.iter().map(|&v| v as f64));
            stats::theil_sen(&t, &y, &mut scratch)
        };
        let first_seen = (0..n)
            .find(|&k| {
                site.values[k] != 0
                    || site.objects.get(k).is_some_and(|&v| v != 0)
                    || site.alloc.get(k).is_some_and(|&v| v != 0)
            })
            .unwrap_or(0);
        let stack = series.stack_names(site.stack);
        let retained = match (s.alloc_growth, site.values.first(), site.values.last()) {
            (Some(da), Some(&v0), Some(&v1)) if da > 0.0 => Some((v1 - v0) as f64 / da),
            _ => None,
        };
        sites.push(SiteVerdict {
            site: site_name(&stack),
            class,
            joins: joins[i],
            growth_per_minute: slope * 60.0,
            recent_growth_per_minute: s.recent_slope.map(|r| r * 60.0),
            objects_per_minute: objects_slope.map(|o| o * 60.0),
            total_growth: site.values.last().copied().unwrap_or(0)
                - site.values.first().copied().unwrap_or(0),
            last_value: site.values.last().copied().unwrap_or(0),
            peak_value: site.values.iter().copied().max().unwrap_or(0),
            retained_fraction: retained,
            p_value: s.mk.p,
            q_value: q[i],
            first_seen_nanos: series.times_nanos.get(first_seen).copied().unwrap_or(0),
            first_seen_secs: t.get(first_seen).copied().unwrap_or(0.0),
            // Without a recent window a leak cannot be told from a cache
            // that is about to stop growing.
            weak: weak
                || s.n < params.min_snapshots
                || (class == Class::Leak && s.recent_slope.is_none()),
            stack,
        });
    }
    // `joins` holds series indices until here; every leak is listed.
    for s in &mut sites {
        s.joins = s.joins.map(|leak| at[leak]);
    }
    let sites = rank(sites);
    LeakReport {
        snapshots: n,
        start_nanos: start,
        end_nanos: end,
        duration_secs: t.last().copied().unwrap_or(0.0),
        sample_type: series.sample_type.0.clone(),
        unit: series.sample_type.1.clone(),
        granularity: series.granularity,
        alpha: params.alpha,
        weak,
        counts,
        sites,
    }
}

/// Sorts the verdicts into the report's order: leaks by growth rate, each
/// followed by the sites that joined it, then plateaus by total
/// growth, shrinking sites, and the rest by peak. `joins` becomes a rank
/// (1-based position in the result).
fn rank(sites: Vec<SiteVerdict>) -> Vec<SiteVerdict> {
    // A leak's group is itself and the sites that joined it.
    let group = |i: usize| sites[i].joins.unwrap_or(i);
    let mut order: Vec<usize> = (0..sites.len()).collect();
    order.sort_by(|&i, &j| {
        let (a, b) = (&sites[i], &sites[j]);
        a.class.cmp(&b.class).then_with(|| match a.class {
            Class::Leak => {
                let (ga, gb) = (&sites[group(i)], &sites[group(j)]);
                gb.growth_per_minute
                    .total_cmp(&ga.growth_per_minute)
                    .then(group(i).cmp(&group(j)))
                    .then(a.joins.is_some().cmp(&b.joins.is_some()))
                    .then(b.growth_per_minute.total_cmp(&a.growth_per_minute))
            }
            Class::Plateau => b.total_growth.cmp(&a.total_growth),
            Class::Shrinking => a.growth_per_minute.total_cmp(&b.growth_per_minute),
            _ => b.peak_value.cmp(&a.peak_value),
        })
    });
    let mut rank_of = vec![0; sites.len()];
    for (r, &i) in order.iter().enumerate() {
        rank_of[i] = r + 1;
    }
    let mut slots: Vec<Option<SiteVerdict>> = sites.into_iter().map(Some).collect();
    order
        .iter()
        .filter_map(|&i| slots[i].take())
        .map(|mut s| {
            s.joins = s.joins.map(|leak| rank_of[leak]);
            s
        })
        .collect()
}

/// Statistics of every site, and the Theil–Sen slope of its object count
/// when the site's value trends upward; computed on all cores.
fn compute_stats(series: &Series, t: &[f64], params: &Params) -> Vec<(SiteStats, Option<f64>)> {
    let sites = &series.sites;
    let one = |site: &SiteSeries, y: &mut Vec<f64>, scratch: &mut Vec<f64>| {
        y.clear();
        y.extend(site.values.iter().map(|&v| v as f64));
        let alloc = match (site.alloc.first(), site.alloc.last()) {
            (Some(&a0), Some(&a1)) => Some((a0 as f64, a1 as f64)),
            _ => None,
        };
        let s = site_stats(t, y, alloc, params, scratch);
        let objects = (s.slope_computed && s.slope > 0.0 && !site.objects.is_empty()).then(|| {
            y.clear();
            y.extend(site.objects.iter().map(|&v| v as f64));
            stats::theil_sen(t, y, scratch)
        });
        (s, objects)
    };
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(sites.len() / 256 + 1);
    if threads <= 1 {
        let (mut y, mut scratch) = (Vec::new(), Vec::new());
        return sites.iter().map(|s| one(s, &mut y, &mut scratch)).collect();
    }
    let chunk = sites.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let handles: Vec<_> = sites
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    let (mut y, mut scratch) = (Vec::new(), Vec::new());
                    part.iter()
                        .map(|s| one(s, &mut y, &mut scratch))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    })
}

#[cfg(test)]
mod tests;
