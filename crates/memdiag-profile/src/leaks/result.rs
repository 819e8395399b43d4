//! The result of a leak analysis: one verdict per allocation site.

use serde::Serialize;

use crate::report::Granularity;

/// What a site's series looks like. The order is the report's ranking.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Class {
    /// Grows throughout, and still grows in the recent window.
    Leak,
    /// Grew, then stopped growing (a cache that filled, a one-off burst).
    Plateau,
    /// Shrinks.
    Shrinking,
    /// No trend, but memory is allocated and freed (or the value varies).
    Churn,
    /// Does not change.
    Stable,
}

impl Class {
    pub fn as_str(self) -> &'static str {
        match self {
            Class::Leak => "leak",
            Class::Plateau => "plateau",
            Class::Shrinking => "shrinking",
            Class::Churn => "churn",
            Class::Stable => "stable",
        }
    }
}

impl std::fmt::Display for Class {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The verdict on one allocation site.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SiteVerdict {
    /// The frame reports name the site by: the innermost frame that is not
    /// an allocator or runtime frame.
    pub site: String,
    pub class: Class,
    /// For a site that is a leak because it grows with another: its own
    /// series looks like a plateau or churn (typically the `Vec` or map
    /// that holds the leaked objects, doubling its buffer), but it
    /// allocates for the same call as a leak site. The rank of that leak,
    /// its 1-based position in [`LeakReport::sites`].
    pub joins: Option<usize>,
    /// Theil–Sen slope over the whole series, in the value's unit per minute.
    pub growth_per_minute: f64,
    /// Theil–Sen slope over the recent window (`None` for short series).
    pub recent_growth_per_minute: Option<f64>,
    /// Theil–Sen slope of the object count, per minute.
    pub objects_per_minute: Option<f64>,
    /// Last value minus first value.
    pub total_growth: i64,
    /// Value in the last snapshot.
    pub last_value: i64,
    /// Largest value seen.
    pub peak_value: i64,
    /// Δinuse / Δalloc over the series: the fraction of the bytes allocated
    /// meanwhile that are still held (`None` without an alloc series or
    /// when nothing was allocated).
    pub retained_fraction: Option<f64>,
    /// Two-sided Mann–Kendall p-value: Hamed–Rao corrected for
    /// autocorrelation when the plain test is significant at α, else the
    /// plain one (already above α; the correction only raises it).
    pub p_value: f64,
    /// Benjamini–Hochberg q-value over all sites tested.
    pub q_value: f64,
    /// `time_nanos` of the first snapshot where the site has a sample.
    pub first_seen_nanos: i64,
    /// The same, in seconds after the first snapshot.
    pub first_seen_secs: f64,
    /// The verdict rests on too few snapshots: fewer than
    /// `Params::min_snapshots`, or a leak in a series too short for a recent
    /// window (under 8 snapshots), which cannot be told from a plateau yet.
    pub weak: bool,
    /// Frame names, leaf first.
    pub stack: Vec<String>,
}

/// How many sites fell in each class.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ClassCounts {
    pub leak: usize,
    pub plateau: usize,
    pub shrinking: usize,
    pub churn: usize,
    pub stable: usize,
}

impl ClassCounts {
    pub fn add(&mut self, c: Class) {
        match c {
            Class::Leak => self.leak += 1,
            Class::Plateau => self.plateau += 1,
            Class::Shrinking => self.shrinking += 1,
            Class::Churn => self.churn += 1,
            Class::Stable => self.stable += 1,
        }
    }
}

/// The analysis of a series of snapshots.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LeakReport {
    pub snapshots: usize,
    pub start_nanos: i64,
    pub end_nanos: i64,
    pub duration_secs: f64,
    /// The analyzed sample type and its unit (e.g. `inuse_space`, `bytes`).
    pub sample_type: String,
    pub unit: String,
    pub granularity: Granularity,
    /// False discovery rate used for the trend tests.
    pub alpha: f64,
    /// Fewer snapshots than the statistics need: every verdict is weak.
    pub weak: bool,
    pub counts: ClassCounts,
    /// Every site that is not stable (of the churning ones only the
    /// largest, see `Params::max_churn_listed`), ranked: leaks by growth
    /// rate, each followed by the sites that joined it, then plateaus,
    /// shrinking sites and churn.
    pub sites: Vec<SiteVerdict>,
}

impl LeakReport {
    pub fn leaks(&self) -> impl Iterator<Item = &SiteVerdict> {
        self.sites.iter().filter(|s| s.class == Class::Leak)
    }

    pub fn has_leaks(&self) -> bool {
        self.counts.leak > 0
    }
}
