//! `report FILE|DIR... -o report.html`: one self-contained HTML page with the
//! summary, top table and flame graph (and a recording's timeline).

use std::io::Write;
use std::path::Path;

use anyhow::{bail, Context, Result};

use crate::args::HtmlArgs;
use crate::view;

pub fn run(args: &HtmlArgs) -> Result<()> {
    let path = Path::new(&args.output);
    // The same rule as `merge` and `convert`: never clobber by surprise.
    if path.exists() && !args.force {
        bail!(
            "{}: already exists; pass --force to overwrite it",
            args.output
        );
    }
    let loaded = view::load(&args.inputs, &args.select)?;
    let mut v = view::compute(loaded.profile, loaded.base, &args.select, &loaded.source)?;
    v.timeline = loaded.timeline;
    let html = view::report_page(&v)?;
    drop(v);
    // Write beside the target, then rename, so a failure never leaves half a file.
    let tmp = path.with_extension("memdiag-tmp");
    let mut file =
        std::fs::File::create(&tmp).with_context(|| format!("{}: cannot create", tmp.display()))?;
    file.write_all(html.as_bytes())
        .and_then(|()| file.sync_all())
        .with_context(|| format!("{}: cannot write", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("{}: cannot write", args.output))?;
    eprintln!("wrote {} ({} bytes)", args.output, html.len());
    Ok(())
}
