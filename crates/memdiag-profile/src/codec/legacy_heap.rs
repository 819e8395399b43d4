//! Go's legacy heap profile text (`heap profile: ... @ heap/RATE`).

use crate::{Error, Profile};

/// True when `data` starts like Go's legacy heap text.
pub fn looks_like(data: &[u8]) -> bool {
    data.starts_with(b"heap profile:")
}

pub fn parse(_data: &[u8]) -> Result<Profile, Error> {
    Err(Error::Legacy {
        line: 1,
        cause: "not implemented yet".into(),
    })
}
