//! A recording's timeline: the leak analysis of `memdiag leaks` (reused, not
//! redone) and the series of its top sites, for the page's plot.

use std::collections::HashMap;

use anyhow::Result;
use memdiag_profile::leaks::{Class, ClassCounts, SiteVerdict};
use serde::Serialize;

use crate::args::{LeaksArgs, SelectArgs};
use crate::commands::leaks::{self, Analysis};

/// Sites plotted: the first of `leaks`' ranking (leaks, then plateaus, ...).
const SITES_SHOWN: usize = 8;

#[derive(Serialize, Clone)]
pub struct Timeline {
    pub sample_type: String,
    pub unit: String,
    pub snapshots: usize,
    /// Seconds since the first snapshot, per snapshot.
    pub times_secs: Vec<f64>,
    /// Sum over every site, per snapshot.
    pub total: Vec<i64>,
    pub sites: Vec<TimelineSite>,
    pub counts: ClassCounts,
    /// Too few snapshots for firm verdicts.
    pub weak: bool,
}

#[derive(Serialize, Clone)]
pub struct TimelineSite {
    /// As `leaks` names it (with callers where two sites would read the same).
    pub name: String,
    pub class: Class,
    pub weak: bool,
    /// The leak this site grows with (`leaks`' "grows with #N"), by name.
    pub grows_with: Option<String>,
    pub growth_per_minute: f64,
    /// Per snapshot.
    pub values: Vec<i64>,
}

/// The `leaks` options matching `select` for recording `dir`.
fn leaks_args(dir: &str, select: &SelectArgs) -> LeaksArgs {
    let legacy = [
        (select.alloc_space, "alloc_space"),
        (select.alloc_objects, "alloc_objects"),
        (select.inuse_space, "inuse_space"),
        (select.inuse_objects, "inuse_objects"),
    ]
    .into_iter()
    .find_map(|(set, name)| set.then(|| name.to_string()));
    LeaksArgs {
        inputs: vec![dir.to_string()],
        sample_index: select.sample_index.clone().or(legacy),
        inuse_space: false,
        inuse_objects: false,
        focus: select.focus.clone(),
        ignore: select.ignore.clone(),
        hide: select.hide.clone(),
        show: select.show.clone(),
        functions: select.functions,
        lines: select.lines,
        files: select.files,
        addresses: select.addresses,
        noinlines: select.noinlines,
        nodecount: SITES_SHOWN,
        alpha: 0.05,
        json: false,
    }
}

/// Analyzes the recording in `dir`; also gives its snapshots, oldest first.
pub fn analyze(dir: &str, select: &SelectArgs) -> Result<(Timeline, Vec<String>)> {
    let analysis = leaks::analyze(&leaks_args(dir, select))?;
    for w in &analysis.warnings {
        eprintln!("memdiag: warning: {w}");
    }
    let snapshots = analysis
        .by_time
        .iter()
        .map(|(_, f)| f.display().to_string())
        .collect();
    Ok((Timeline::new(&analysis), snapshots))
}

impl Timeline {
    fn new(a: &Analysis) -> Timeline {
        let (series, report) = (&a.series, &a.report);
        let start = series.times_nanos.first().copied().unwrap_or(0);
        let mut total = vec![0i64; series.len()];
        let mut by_stack = HashMap::new();
        for (i, s) in series.sites.iter().enumerate() {
            for (t, v) in total.iter_mut().zip(&s.values) {
                *t += v;
            }
            by_stack.insert(series.stack_names(s.stack), i);
        }
        let shown: Vec<&SiteVerdict> = report.sites.iter().take(SITES_SHOWN).collect();
        let names = leaks::labels(&shown);
        let sites = shown
            .iter()
            .zip(&names)
            .map(|(v, name)| TimelineSite {
                name: name.clone(),
                class: v.class,
                weak: v.weak,
                // `joins` is a 1-based rank; a leak ranks before its joiners.
                grows_with: v.joins.and_then(|r| names.get(r - 1).cloned()),
                growth_per_minute: v.growth_per_minute,
                values: by_stack
                    .get(&v.stack)
                    .map(|&i| series.sites[i].values.clone())
                    .unwrap_or_else(|| vec![0; series.len()]),
            })
            .collect();
        Timeline {
            sample_type: report.sample_type.clone(),
            unit: report.unit.clone(),
            snapshots: report.snapshots,
            times_secs: series
                .times_nanos
                .iter()
                .map(|&t| (t - start) as f64 / 1e9)
                .collect(),
            total,
            sites,
            counts: report.counts,
            weak: report.weak,
        }
    }
}
