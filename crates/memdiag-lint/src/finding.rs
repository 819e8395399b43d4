//! One diagnostic: where, which rule, what and how to fix it.

use serde::Serialize;
use std::path::PathBuf;

/// A span of source. Lines and columns are 1-based; columns count
/// characters, as rustc's do. The span covers `line:column` up to
/// `end_line:end_column` (exclusive).
#[derive(Debug, Clone, Serialize)]
pub struct Place {
    pub path: PathBuf,
    pub line: usize,
    pub column: usize,
    pub end_line: usize,
    pub end_column: usize,
    /// The text of `line`, for rendering the snippet.
    #[serde(skip)]
    pub source_line: String,
}

/// A finding: a rule's diagnostic at a place.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub rule: &'static str,
    #[serde(flatten)]
    pub at: Place,
    pub message: String,
    pub help: &'static str,
    /// Other places that are part of the same problem (the other strong
    /// fields of one reference cycle), so it is reported once.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub related: Vec<Related>,
}

/// A secondary location of a [`Finding`], with what it adds.
#[derive(Debug, Clone, Serialize)]
pub struct Related {
    #[serde(flatten)]
    pub at: Place,
    pub message: String,
}

/// A file that could not be read or parsed; the run went on without it.
#[derive(Debug, Clone, Serialize)]
pub struct FileWarning {
    pub path: PathBuf,
    pub line: usize,
    pub column: usize,
    pub message: String,
}
