//! `flame`: a flame graph SVG drawn by inferno from memdiag's call tree.

use anyhow::{Context, Result};
use inferno::flamegraph::{self, Direction};
use memdiag_profile::report::flame::FlameTree;

use crate::args::FlameArgs;
use crate::output::{check_writable, write_file};
use crate::pipeline::prepare;

/// Frames under this fraction of the total are dropped before drawing
/// (under 0.1 px at inferno's 1200 px width) unless `-nodefraction` says
/// otherwise.
pub const DEFAULT_MIN_FRACTION: f64 = 5e-5;

pub fn run(args: &FlameArgs) -> Result<()> {
    check_writable(&args.output, args.force)?;
    let prepared = prepare(&args.inputs, &args.select)?;
    let (p, o) = (&prepared.profile, &prepared.options);
    let tree = match &args.diff {
        Some(base) => {
            let base = prepare(std::slice::from_ref(base), &args.select)?;
            FlameTree::build_diff(p, &base.profile, o)
        }
        None => FlameTree::build(p, o),
    };
    let tree = tree.pruned(args.select.nodefraction.unwrap_or(DEFAULT_MIN_FRACTION));

    let sample_type = p.sample_type_name(o.sample_index);
    let mut opts = flamegraph::Options::default();
    opts.title = args.title.clone().unwrap_or_else(|| {
        let what = if args.diff.is_some() {
            "growth of "
        } else {
            ""
        };
        format!("{what}{sample_type}: {}", args.inputs.join(" "))
    });
    opts.count_name = p.sample_type_unit(o.sample_index).to_string();
    opts.name_type = "Function:".to_string();
    // Pruned above; inferno would drop more by pixel width.
    opts.min_width = 0.0;
    // Same function, same colour, run after run.
    opts.hash = true;
    if args.icicle {
        opts.direction = Direction::Inverted;
    }
    let folded = tree.folded(args.diff.is_some());
    if folded.is_empty() {
        anyhow::bail!(
            "{}: no samples with a {sample_type} value to draw",
            args.inputs.join(" ")
        );
    }
    let mut svg = Vec::new();
    flamegraph::from_lines(&mut opts, folded.lines(), &mut svg)
        .with_context(|| format!("{}: drawing the flame graph", args.output))?;
    write_file(&args.output, &svg, args.force)?;
    eprintln!(
        "wrote {} ({} frames, {} {})",
        args.output,
        tree.nodes.len() - 1,
        tree.total(),
        opts.count_name
    );
    Ok(())
}
