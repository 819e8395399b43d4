//! Writing an output file the user named: never over an existing file
//! unless asked (`--force`), and never half a file (write beside, rename).

use std::io::Write;
use std::path::Path;

use anyhow::{bail, Context, Result};

/// Fails early, before any work, when `path` exists and `force` is off.
pub fn check_writable(path: &str, force: bool) -> Result<()> {
    if Path::new(path).exists() && !force {
        bail!("{path}: already exists; pass --force to overwrite it");
    }
    Ok(())
}

/// Writes `bytes` to `path` (see [`check_writable`]).
pub fn write_file(path: &str, bytes: &[u8], force: bool) -> Result<()> {
    check_writable(path, force)?;
    let target = Path::new(path);
    let tmp = target.with_extension("memdiag-tmp");
    let mut file =
        std::fs::File::create(&tmp).with_context(|| format!("{}: cannot create", tmp.display()))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .with_context(|| format!("{}: cannot write", tmp.display()))?;
    std::fs::rename(&tmp, target).with_context(|| format!("{path}: cannot write"))?;
    Ok(())
}
