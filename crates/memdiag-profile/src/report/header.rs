//! The lines above a report's table: the profile's description (pprof's
//! `ProfileLabels`) and the report's own summary (`reportLabels`), plus the
//! report total the percentages are relative to.

use super::format::{percentage, scale, scaled_label};
use super::graph::{go_base, Graph};
use super::localtime::format_profile_time;
use super::Options;
use crate::model::Profile;

/// The key and value of the label that marks samples of a `-diff_base`
/// profile.
const DIFF_BASE_KEY: &str = "pprof::base";
const DIFF_BASE_VALUE: &str = "true";

/// The total the report's percentages are relative to: `o.total` when the
/// caller computed it (before filtering, as pprof does), else
/// [`compute_total`] of `p`.
pub fn report_total(p: &Profile, o: &Options) -> i64 {
    o.total.unwrap_or_else(|| compute_total(p, o.sample_index))
}

/// pprof's `computeTotal`: the sum of the absolute values of sample type
/// `index`; when some samples carry the `pprof::base=true` label (a
/// `-diff_base` comparison), only theirs.
pub fn compute_total(p: &Profile, index: usize) -> i64 {
    let mut total = 0i64;
    let mut diff_total = 0i64;
    for s in p.samples.iter() {
        let v = s.values[index].wrapping_abs();
        total = total.wrapping_add(v);
        if s.labels.iter().any(|l| {
            !l.str.is_empty() && p.str(l.key) == DIFF_BASE_KEY && p.str(l.str) == DIFF_BASE_VALUE
        }) {
            diff_total = diff_total.wrapping_add(v);
        }
    }
    if diff_total > 0 {
        diff_total
    } else {
        total
    }
}

/// The profile's description, as pprof prints it above every report:
/// `File:` and `Build ID:` of the main mapping, comments (except those
/// starting with `#`), `Type:`, `Time:` (local time zone, see
/// [`format_profile_time`]) and `Duration:` with the total of the samples
/// formatted in `output_unit` (pass `o.unit` where pprof has not chosen a
/// unit from the data, as for traces).
pub fn header_lines(p: &Profile, o: &Options, total: i64, output_unit: &str) -> Vec<String> {
    let mut lines = Vec::new();
    if let Some(m) = p.mappings.first() {
        let file = p.str(m.filename);
        if !file.is_empty() {
            lines.push(format!("File: {}", go_base(file)));
        }
        let build_id = p.str(m.build_id);
        if !build_id.is_empty() {
            lines.push(format!("Build ID: {build_id}"));
        }
    }
    lines.extend(
        p.comment_strings()
            .filter(|c| !c.starts_with('#'))
            .map(str::to_string),
    );
    let sample_type = sample_type(p, o);
    if !sample_type.is_empty() {
        lines.push(format!("Type: {sample_type}"));
    }
    if p.time_nanos != 0 {
        lines.push(format!("Time: {}", format_profile_time(p.time_nanos)));
    }
    if p.duration_nanos != 0 {
        let duration = scaled_label(p.duration_nanos, "nanoseconds", "auto");
        let unit = sample_unit(p, o);
        let (total_nanos, total_unit) = scale(total, unit, "nanoseconds");
        let ratio = if total_unit == "ns" && total_nanos != 0.0 {
            format!("({})", percentage(total_nanos as i64, p.duration_nanos))
        } else {
            String::new()
        };
        lines.push(format!(
            "Duration: {duration}, Total samples = {} {ratio}",
            scaled_label(total, unit, output_unit)
        ));
    }
    lines
}

/// The name of the sample type reported (empty when out of range).
pub(crate) fn sample_type<'a>(p: &'a Profile, o: &Options) -> &'a str {
    if o.sample_index < p.sample_types.len() {
        p.sample_type_name(o.sample_index)
    } else {
        ""
    }
}

/// The unit of the sample type reported, as the profile spells it.
pub(crate) fn sample_unit<'a>(p: &'a Profile, o: &Options) -> &'a str {
    if o.sample_index < p.sample_types.len() {
        p.sample_type_unit(o.sample_index)
    } else {
        ""
    }
}

/// Everything a graph report (top, peek, tree) prints above its table:
/// [`header_lines`], active filters, then "Showing nodes accounting for …",
/// "Dropped N nodes (cum <= …)" and "Showing top N nodes out of M".
pub(crate) fn graph_report_lines(
    p: &Profile,
    o: &Options,
    g: &Graph,
    total: i64,
    output_unit: &str,
    node_fraction: f64,
) -> Vec<String> {
    let unit = sample_unit(p, o);
    let fmt = |v: i64| scaled_label(v, unit, output_unit);
    let mut lines = header_lines(p, o, total, output_unit);
    if !o.active_filters.is_empty() {
        lines.push("Active filters:".to_string());
        for f in &o.active_filters {
            lines.push(format!("   {}", shorten_filter(f)));
        }
    }
    let flat_sum = g.flat_sum();
    lines.push(format!(
        "Showing nodes accounting for {}, {} of {} total",
        fmt(flat_sum),
        percentage(flat_sum, total).trim(),
        fmt(total)
    ));
    if total != 0 {
        if g.dropped_nodes > 0 {
            let cutoff = ((total as f64 * node_fraction) as i64).wrapping_abs();
            lines.push(format!(
                "Dropped {} {} (cum <= {})",
                g.dropped_nodes,
                if g.dropped_nodes > 1 { "nodes" } else { "node" },
                fmt(cutoff)
            ));
        }
        if !g.nodes.is_empty() && g.nodes.len() < g.orig_count {
            lines.push(format!(
                "Showing top {} nodes out of {}",
                g.nodes.len(),
                g.orig_count
            ));
        }
    }
    lines
}

/// A filter description cut at 80 bytes with an ellipsis, as pprof's legend
/// does (a cut inside a multi-byte character keeps Go's byte semantics as
/// closely as a Rust string can: the partial character is dropped).
fn shorten_filter(f: &str) -> String {
    if f.len() <= 80 {
        return f.to_string();
    }
    let mut end = 80;
    while !f.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &f[..end])
}

/// pprof's `selectOutputUnit`: with `-unit=minimum`, the unit that suits the
/// smallest non-zero node value, moved up when the total is over 100 times
/// larger and needs a bigger unit; otherwise the unit asked for.
pub(crate) fn select_output_unit(g: &Graph, total: i64, sample_unit: &str, asked: &str) -> String {
    if asked != "minimum" || g.nodes.is_empty() {
        return asked.to_string();
    }
    let mut min_value = 0i64;
    for n in &g.nodes {
        let mut v = n.flat.wrapping_abs();
        if v == 0 {
            v = n.cum.wrapping_abs();
        }
        if v > 0 && (min_value == 0 || v < min_value) {
            min_value = v;
        }
    }
    let max_value = total;
    if min_value == 0 {
        min_value = max_value;
    }
    let (_, min_unit) = scale(min_value, sample_unit, "minimum");
    let (_, max_unit) = scale(max_value, sample_unit, "minimum");
    let mut unit = min_unit.clone();
    if min_unit != max_unit && min_value.wrapping_mul(100) < max_value {
        unit = scale(min_value.wrapping_mul(100), sample_unit, "minimum").1;
    }
    if unit.is_empty() {
        sample_unit.to_string()
    } else {
        unit
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Label, Mapping};

    fn heap() -> Profile {
        let mut p = Profile::with_sample_types(&[("alloc_space", "bytes"), ("cpu", "nanoseconds")]);
        p.mappings.push(Mapping {
            filename: p.strings.intern("/usr/bin/server"),
            build_id: p.strings.intern("abc123"),
            ..Mapping::default()
        });
        p.comments.push(p.strings.intern("hello"));
        p.comments.push(p.strings.intern("# hidden"));
        p.time_nanos = 1_764_051_600_000_000_000; // 2025-11-25 06:20:00 UTC
        p.duration_nanos = 2_000_000_000;
        p.samples.push(&[], &[100, 500_000_000], &[]);
        p.samples.push(&[], &[-50, 500_000_000], &[]);
        p
    }

    #[test]
    fn totals() {
        let mut p = heap();
        assert_eq!(compute_total(&p, 0), 150);
        let key = p.strings.intern(DIFF_BASE_KEY);
        let value = p.strings.intern(DIFF_BASE_VALUE);
        let label = Label {
            key,
            str: value,
            ..Label::default()
        };
        p.samples.push(&[], &[-7, 0], &[label]);
        assert_eq!(compute_total(&p, 0), 7);
    }

    #[test]
    fn header() {
        std::env::set_var("TZ", "UTC");
        let p = heap();
        let o = Options {
            sample_index: 1,
            ..Options::default()
        };
        let total = report_total(&p, &o);
        assert_eq!(
            header_lines(&p, &o, total, "ms"),
            [
                "File: server",
                "Build ID: abc123",
                "hello",
                "Type: cpu",
                "Time: Nov 25, 2025 at 6:20am (UTC)",
                "Duration: 2s, Total samples = 1000ms (50.00%)",
            ]
        );
        let o = Options::default();
        let lines = header_lines(&p, &o, 150, "minimum");
        assert_eq!(lines[5], "Duration: 2s, Total samples = 150B ");
    }
}
