//! `merge` and `convert`: write inputs as one gzipped pprof file.

use anyhow::Result;

use crate::args::WriteArgs;
use crate::output::{check_writable, write_file};
use crate::pipeline::load_combined;

pub fn run(args: &WriteArgs) -> Result<()> {
    check_writable(&args.output, args.force)?;
    let profile = load_combined(&args.inputs)?;
    let bytes = memdiag_profile::encode_gzip(&profile);
    write_file(&args.output, &bytes, args.force)?;
    eprintln!(
        "wrote {} ({} samples, {} bytes)",
        args.output,
        profile.samples.len(),
        bytes.len()
    );
    Ok(())
}
