//! `report FILE|DIR... -o report.html`: one self-contained HTML page with the
//! summary, top table and flame graph (and a recording's timeline).

use anyhow::Result;

use crate::args::HtmlArgs;
use crate::output::{check_writable, write_file};
use crate::view;

pub fn run(args: &HtmlArgs) -> Result<()> {
    check_writable(&args.output, args.force)?;
    let loaded = view::load(&args.inputs, &args.select)?;
    let mut v = view::compute(loaded.profile, loaded.base, &args.select, &loaded.source)?;
    v.timeline = loaded.timeline;
    let html = view::report_page(&v)?;
    drop(v);
    write_file(&args.output, html.as_bytes(), args.force)?;
    eprintln!("wrote {} ({} bytes)", args.output, html.len());
    Ok(())
}
