//! Text reports with `go tool pprof`'s figures and layout: top, peek, tree,
//! traces, list, raw, tags.

pub mod flame;
pub mod format;
pub mod graph;
pub mod header;
pub mod list;
mod localtime;
pub mod peek;
pub mod raw;
pub mod tags;
pub mod top;
pub mod traces;
pub mod tree;

pub use header::{compute_total, header_lines, report_total};
pub use peek::{peek, PeekReport};
pub use tags::{tags, TagsReport};
pub use top::{top, TopReport};
pub use tree::{tree, TreeReport};

/// How locations are grouped into report nodes (`-functions`, `-lines`,
/// `-files`, `-addresses`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Granularity {
    #[default]
    Functions,
    Lines,
    Files,
    Addresses,
}

/// Options shared by the reports; defaults match `go tool pprof`.
#[derive(Clone, Debug)]
pub struct Options {
    /// Index of the sample type to report.
    pub sample_index: usize,
    pub granularity: Granularity,
    /// `-nodecount`: `None` keeps the report's default.
    pub node_count: Option<usize>,
    /// `-nodefraction`: `None` keeps the default (0.005).
    pub node_fraction: Option<f64>,
    /// `-edgefraction`: `None` keeps the default (0.001).
    pub edge_fraction: Option<f64>,
    /// `-cum`: sort by cumulative value.
    pub cum_sort: bool,
    /// `-unit`: output unit, `minimum` by default (choose per value).
    pub unit: String,
    /// What `File:` shows in the header when the profile has no main mapping.
    pub source_name: String,
    /// Directories where `list` looks for source files (`-source_path`).
    pub source_path: Vec<std::path::PathBuf>,
    /// The total percentages are relative to. pprof computes it before
    /// applying `-focus`/`-ignore`/… filters: a caller that filters the
    /// profile sets it from [`compute_total`] of the unfiltered profile.
    /// `None`: computed from the profile given to the report.
    pub total: Option<i64>,
    /// Filters in effect, as pprof lists them under `Active filters:`
    /// (e.g. `focus=main\.foo`).
    pub active_filters: Vec<String>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            sample_index: 0,
            granularity: Granularity::Functions,
            node_count: None,
            node_fraction: None,
            edge_fraction: None,
            cum_sort: false,
            unit: "minimum".to_string(),
            source_name: String::new(),
            source_path: Vec::new(),
            total: None,
            active_filters: Vec::new(),
        }
    }
}
