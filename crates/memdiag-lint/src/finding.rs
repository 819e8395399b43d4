//! One diagnostic: where, which rule, what and how to fix it.

use serde::Serialize;
use std::path::PathBuf;

/// A finding. Lines and columns are 1-based; columns count characters, as
/// rustc's do. The span covers `line:column` up to `end_line:end_column`
/// (exclusive).
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub rule: &'static str,
    pub path: PathBuf,
    pub line: usize,
    pub column: usize,
    pub end_line: usize,
    pub end_column: usize,
    pub message: String,
    pub help: &'static str,
    /// The text of `line`, for rendering the snippet.
    #[serde(skip)]
    pub source_line: String,
    /// Other places that are part of the same problem (the other strong
    /// fields of one reference cycle), so it is reported once.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub related: Vec<Related>,
}

/// A secondary location of a [`Finding`], with what it adds.
#[derive(Debug, Clone, Serialize)]
pub struct Related {
    pub path: PathBuf,
    pub line: usize,
    pub column: usize,
    pub end_line: usize,
    pub end_column: usize,
    pub message: String,
    #[serde(skip)]
    pub source_line: String,
}

/// A file that could not be read or parsed; the run went on without it.
#[derive(Debug, Clone, Serialize)]
pub struct FileWarning {
    pub path: PathBuf,
    pub line: usize,
    pub column: usize,
    pub message: String,
}
