//! Errors of the library: only the config file can fail a run; unreadable or
//! unparsable sources become warnings in the report instead.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum LintError {
    #[error("{path}: cannot read config: {source}")]
    ConfigRead {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: invalid config: {message}")]
    ConfigParse { path: PathBuf, message: String },
}
