//! The `raw` report: the whole profile as text, as `go tool pprof -raw`
//! prints it (Go's `profile.Profile.String`).
//!
//! Location, function and mapping ids are index + 1, the ids the encoder
//! gives them (and that Go's merge gives them, in order of first use).

use std::fmt::Write;

use super::localtime::go_time_string;
use crate::model::{Label, Location, Mapping, Profile};
use crate::ops::{label_kind, LabelKind};

/// Indentation of a sample's label lines.
const LABEL_INDENT: &str = "                ";
/// Indentation of a location's second and further (inlined) lines.
const LINE_INDENT: &str = "             ";

/// The profile as `go tool pprof -raw` prints it: headers, samples (values,
/// location ids, labels), locations (address, mapping, function, file:line,
/// inlined lines), mappings.
pub fn raw(p: &Profile) -> String {
    let mut out = String::new();
    for c in p.comment_strings() {
        out.push_str("Comment: ");
        out.push_str(c);
        out.push('\n');
    }
    if let Some(pt) = p.period_type {
        let _ = writeln!(out, "PeriodType: {} {}", p.str(pt.ty), p.str(pt.unit));
    }
    let _ = writeln!(out, "Period: {}", p.period);
    if p.time_nanos != 0 {
        let _ = writeln!(out, "Time: {}", go_time_string(p.time_nanos));
    }
    if p.duration_nanos != 0 {
        // Go prints the duration with `%.4v`: its first four characters.
        let d: String = go_duration_string(p.duration_nanos)
            .chars()
            .take(4)
            .collect();
        let _ = writeln!(out, "Duration: {d}");
    }

    out.push_str("Samples:\n");
    let default_type = p.str(p.default_sample_type);
    let types: Vec<String> = p
        .sample_types
        .iter()
        .map(|vt| {
            let ty = p.str(vt.ty);
            let marker = if ty == default_type { "[dflt]" } else { "" };
            format!("{ty}/{}{marker}", p.str(vt.unit))
        })
        .collect();
    out.push_str(types.join(" ").trim());
    out.push('\n');
    for s in p.samples.iter() {
        for v in s.values {
            let _ = write!(out, " {v:>10}");
        }
        out.push_str(": ");
        for l in s.locations {
            let _ = write!(out, "{} ", u64::from(*l) + 1);
        }
        out.push('\n');
        write_labels(&mut out, p, s.labels);
    }

    out.push_str("Locations\n");
    for (i, loc) in p.locations.iter().enumerate() {
        write_location(&mut out, p, i, loc);
    }

    out.push_str("Mappings\n");
    for (i, m) in p.mappings.iter().enumerate() {
        write_mapping(&mut out, p, i, m);
    }
    out
}

/// A sample's label lines: string labels, then numeric ones, each as
/// `key:[v1 v2]` sorted and space-separated on one line.
fn write_labels(out: &mut String, p: &Profile, labels: &[Label]) {
    // Keys in order of first appearance, with their labels.
    let mut strs: Vec<(&str, Vec<&Label>)> = Vec::new();
    let mut nums: Vec<(&str, Vec<&Label>)> = Vec::new();
    for l in labels {
        let group = match label_kind(l) {
            LabelKind::Str => &mut strs,
            LabelKind::Num => &mut nums,
            LabelKind::Ignored => continue,
        };
        let key = p.str(l.key);
        match group.iter_mut().find(|(k, _)| *k == key) {
            Some((_, ls)) => ls.push(l),
            None => group.push((key, vec![l])),
        }
    }
    if !strs.is_empty() {
        let mut items: Vec<String> = strs
            .iter()
            .map(|(key, ls)| {
                let values: Vec<&str> = ls.iter().map(|l| p.str(l.str)).collect();
                format!("{key}:[{}]", values.join(" "))
            })
            .collect();
        items.sort();
        let _ = writeln!(out, "{LABEL_INDENT}{}", items.join(" "));
    }
    if !nums.is_empty() {
        let mut items: Vec<String> = nums
            .iter()
            .map(|(key, ls)| {
                // Go keeps units only when some value of the key has one;
                // the others then get an empty unit.
                let with_units = ls.iter().any(|l| !l.num_unit.is_empty());
                let values: Vec<String> = ls
                    .iter()
                    .map(|l| {
                        if with_units {
                            format!("{} {}", l.num, p.str(l.num_unit))
                        } else {
                            l.num.to_string()
                        }
                    })
                    .collect();
                format!("{key}:[{}]", values.join(" "))
            })
            .collect();
        items.sort();
        let _ = writeln!(out, "{LABEL_INDENT}{}", items.join(" "));
    }
}

fn write_location(out: &mut String, p: &Profile, index: usize, loc: &Location) {
    let mut head = format!("{:>6}: {:#x} ", index + 1, loc.address);
    if let Some(m) = loc.mapping {
        let _ = write!(head, "M={} ", u64::from(m) + 1);
    }
    if loc.is_folded {
        head.push_str("[F] ");
    }
    if loc.lines.is_empty() {
        out.push_str(&head);
        out.push('\n');
        return;
    }
    for (i, line) in loc.lines.iter().enumerate() {
        out.push_str(if i == 0 { &head } else { LINE_INDENT });
        match line.function.and_then(|f| p.functions.get(f as usize)) {
            Some(f) => {
                let name = p.str(f.name);
                let system_name = p.str(f.system_name);
                let _ = write!(
                    out,
                    "{name} {}:{} s={}",
                    p.str(f.filename),
                    line.line,
                    f.start_line
                );
                if name != system_name {
                    let _ = write!(out, "({system_name})");
                }
            }
            None => out.push_str("??"),
        }
        out.push('\n');
    }
}

fn write_mapping(out: &mut String, p: &Profile, index: usize, m: &Mapping) {
    let mut bits = String::new();
    for (set, bit) in [
        (m.has_functions, "[FN]"),
        (m.has_filenames, "[FL]"),
        (m.has_line_numbers, "[LN]"),
        (m.has_inline_frames, "[IN]"),
    ] {
        if set {
            bits.push_str(bit);
        }
    }
    let _ = writeln!(
        out,
        "{}: {:#x}/{:#x}/{:#x} {} {} {bits}",
        index + 1,
        m.memory_start,
        m.memory_limit,
        m.file_offset,
        p.str(m.filename),
        p.str(m.build_id)
    );
}

/// Go's `time.Duration.String`: `1h2m3.5s`, `1.5s`, `2.5ms`, `3µs`, `0s`.
fn go_duration_string(nanos: i64) -> String {
    let neg = nanos < 0;
    let mut u = nanos.unsigned_abs();
    let mut out = String::new();
    if u < 1_000_000_000 {
        let (unit, prec) = match u {
            0 => return "0s".to_string(),
            1..=999 => ("ns", 0),
            1_000..=999_999 => ("µs", 3),
            _ => ("ms", 6),
        };
        let frac = fraction(&mut u, prec);
        let _ = write!(out, "{u}{frac}{unit}");
    } else {
        let frac = fraction(&mut u, 9);
        let secs = u % 60;
        u /= 60;
        if u > 0 {
            let minutes = u % 60;
            u /= 60;
            if u > 0 {
                let _ = write!(out, "{u}h");
            }
            let _ = write!(out, "{minutes}m");
        }
        let _ = write!(out, "{secs}{frac}s");
    }
    if neg {
        out.insert(0, '-');
    }
    out
}

/// Splits the `prec` low decimal digits off `v`, returning them as `.ddd`
/// without trailing zeros (empty when all are zero).
fn fraction(v: &mut u64, prec: u32) -> String {
    let scale = 10u64.pow(prec);
    let digits = *v % scale;
    *v /= scale;
    if digits == 0 {
        return String::new();
    }
    let s = format!("{digits:0width$}", width = prec as usize);
    format!(".{}", s.trim_end_matches('0'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_print_like_go() {
        assert_eq!(go_duration_string(0), "0s");
        assert_eq!(go_duration_string(999), "999ns");
        assert_eq!(go_duration_string(1_500), "1.5µs");
        assert_eq!(go_duration_string(2_500_000), "2.5ms");
        assert_eq!(go_duration_string(1_703_195_806), "1.703195806s");
        assert_eq!(go_duration_string(10_000_000_000), "10s");
        assert_eq!(go_duration_string(90_000_000_000), "1m30s");
        assert_eq!(go_duration_string(3_600_000_000_000), "1h0m0s");
        assert_eq!(go_duration_string(-1_500_000_000), "-1.5s");
    }
}
