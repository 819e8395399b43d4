//! Errors of the profile library. Each names the field or offset and the cause;
//! the caller adds which input it was reading.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum Error {
    #[error("empty input (0 bytes): expected a pprof profile or Go legacy heap text")]
    Empty,
    #[error("gzip stream is corrupt or truncated: {0}")]
    Gzip(std::io::Error),
    #[error("not a pprof profile: protobuf decode failed at byte {offset}: {cause}")]
    Proto { offset: usize, cause: String },
    #[error("invalid profile: {field}: {cause}")]
    Invalid { field: String, cause: String },
    #[error("unrecognized format: expected pprof protobuf (optionally gzipped) or Go legacy heap text (`heap profile: ...`); input starts with {start:?}")]
    UnknownFormat { start: String },
    #[error("legacy heap text, line {line}: {cause}")]
    Legacy { line: usize, cause: String },
    #[error("unknown sample index {spec:?}; the profile has: {available}")]
    SampleIndex { spec: String, available: String },
    #[error("profiles are incompatible: {0}")]
    Incompatible(String),
    #[error("bad {option} regular expression: {cause}")]
    Regex { option: String, cause: String },
    #[error("bad {option} value {value:?}: {cause}")]
    Option {
        option: String,
        value: String,
        cause: String,
    },
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

impl Error {
    pub(crate) fn invalid(field: impl Into<String>, cause: impl Into<String>) -> Self {
        Error::Invalid {
            field: field.into(),
            cause: cause.into(),
        }
    }
}
