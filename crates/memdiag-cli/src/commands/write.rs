//! `merge` and `convert`: write inputs as one gzipped pprof file.

use std::io::Write;

use anyhow::{bail, Context, Result};

use crate::args::WriteArgs;
use crate::pipeline::load_combined;

pub fn run(args: &WriteArgs) -> Result<()> {
    let path = std::path::Path::new(&args.output);
    if path.exists() && !args.force {
        bail!(
            "{}: already exists; pass --force to overwrite it",
            args.output
        );
    }
    let profile = load_combined(&args.inputs)?;
    let bytes = memdiag_profile::encode_gzip(&profile);
    // Write beside the target, then rename, so a failure never leaves half a file.
    let tmp = path.with_extension("memdiag-tmp");
    let mut file =
        std::fs::File::create(&tmp).with_context(|| format!("{}: cannot create", tmp.display()))?;
    file.write_all(&bytes)
        .and_then(|()| file.sync_all())
        .with_context(|| format!("{}: cannot write", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("{}: cannot write", args.output))?;
    eprintln!(
        "wrote {} ({} samples, {} bytes)",
        args.output,
        profile.samples.len(),
        bytes.len()
    );
    Ok(())
}
