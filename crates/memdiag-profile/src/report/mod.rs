//! Text reports with `go tool pprof`'s figures and layout: top, peek, tree,
//! traces, list, raw.

pub mod format;

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
    /// `-cum`: sort by cumulative value.
    pub cum_sort: bool,
    /// `-unit`: output unit, `minimum` by default (choose per value).
    pub unit: String,
    /// What `File:` shows in the header when the profile has no main mapping.
    pub source_name: String,
    /// Directories where `list` looks for source files (`-source_path`).
    pub source_path: Vec<std::path::PathBuf>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            sample_index: 0,
            granularity: Granularity::Functions,
            node_count: None,
            node_fraction: None,
            cum_sort: false,
            unit: "minimum".to_string(),
            source_name: String::new(),
            source_path: Vec::new(),
        }
    }
}
