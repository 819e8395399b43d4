//! The page's summary: what the profile is and what is shown of it.

use memdiag_profile::report::{Options, TopReport};
use memdiag_profile::Profile;
use serde::Serialize;

#[derive(Serialize)]
pub struct SampleType {
    #[serde(rename = "type")]
    pub ty: String,
    pub unit: String,
}

#[derive(Serialize)]
pub struct Summary {
    /// The inputs, as given.
    pub source: String,
    pub sample_types: Vec<SampleType>,
    /// The sample type shown.
    pub sample_index: usize,
    pub sample_type: String,
    pub unit: String,
    /// Whether values are a difference with `base`.
    pub diff: bool,
    pub base: String,
    /// What percentages are relative to (taken before filters, as in Go).
    pub total: i64,
    pub total_formatted: String,
    /// Samples left after filtering.
    pub samples: usize,
    pub period: i64,
    pub period_type: String,
    pub time_nanos: i64,
    pub duration_nanos: i64,
    pub filters: Vec<String>,
    /// `go tool pprof`'s header lines (file, type, time, comments, ...).
    pub header: Vec<String>,
    /// RSS against the heap, when the collector recorded them.
    pub memory: Option<Memory>,
}

/// The figures of memdiag's collector comment
/// `memdiag: rss=N heap_inuse_estimate=N heap_peak_estimate=N rss_minus_heap=N`.
#[derive(Serialize, Debug, PartialEq)]
pub struct Memory {
    pub rss: i64,
    pub heap_inuse: i64,
    pub heap_peak: i64,
    pub rss_minus_heap: i64,
}

impl Memory {
    fn from_comments<'a>(mut comments: impl Iterator<Item = &'a str>) -> Option<Memory> {
        comments.find_map(|c| {
            let fields = c.strip_prefix("memdiag: ")?;
            let get = |key: &str| {
                fields
                    .split_whitespace()
                    .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))
                    .and_then(|v| v.parse::<i64>().ok())
            };
            Some(Memory {
                rss: get("rss")?,
                heap_inuse: get("heap_inuse_estimate")?,
                heap_peak: get("heap_peak_estimate").unwrap_or(0),
                rss_minus_heap: get("rss_minus_heap").unwrap_or(0),
            })
        })
    }
}

impl Summary {
    pub fn new(p: &Profile, o: &Options, top: &TopReport, base: &str) -> Summary {
        let total_formatted = memdiag_profile::report::format::scaled_label(
            top.total,
            &top.sample_unit,
            &top.output_unit,
        );
        Summary {
            source: o.source_name.clone(),
            sample_types: p
                .sample_types
                .iter()
                .map(|t| SampleType {
                    ty: p.str(t.ty).to_string(),
                    unit: p.str(t.unit).to_string(),
                })
                .collect(),
            sample_index: o.sample_index,
            sample_type: top.sample_type.clone(),
            unit: top.sample_unit.clone(),
            diff: !base.is_empty(),
            base: base.to_string(),
            total: top.total,
            total_formatted,
            samples: p.samples.len(),
            period: p.period,
            period_type: p
                .period_type
                .map(|t| format!("{}/{}", p.str(t.ty), p.str(t.unit)))
                .unwrap_or_default(),
            time_nanos: p.time_nanos,
            duration_nanos: p.duration_nanos,
            filters: o.active_filters.clone(),
            header: top.header.clone(),
            memory: Memory::from_comments(p.comment_strings()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Memory;

    #[test]
    fn the_collector_comment_gives_rss_and_heap() {
        let comments = [
            "memdiag: heap sampled every 524288 bytes on average; values are estimates of the unsampled totals",
            "memdiag: rss=1000 heap_inuse_estimate=600 heap_peak_estimate=700 rss_minus_heap=400",
        ];
        assert_eq!(
            Memory::from_comments(comments.into_iter()),
            Some(Memory {
                rss: 1000,
                heap_inuse: 600,
                heap_peak: 700,
                rss_minus_heap: 400
            })
        );
        assert_eq!(Memory::from_comments(["a comment"].into_iter()), None);
    }
}
