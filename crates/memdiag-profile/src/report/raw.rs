//! The `raw` report: the whole profile as text, as `go tool pprof -raw`
//! prints it (Go's `profile.Profile.String`).
//!
//! Location, function and mapping ids are index + 1, the ids the encoder
//! gives them (and that Go's merge gives them, in order of first use).

use std::fmt::Write;

use super::localtime::format_profile_time;
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

/// Go's `time.Time.String` of `time.Unix(0, nanos)` in the local time zone:
/// `2006-01-02 15:04:05.999999999 -0700 MST`.
fn go_time_string(nanos: i64) -> String {
    let secs = nanos.div_euclid(1_000_000_000);
    let frac = nanos.rem_euclid(1_000_000_000);
    let (zone, offset) = local_zone_at(nanos);
    let local = secs + offset;
    let (year, month, day) = civil_from_days(local.div_euclid(86_400));
    let of_day = local.rem_euclid(86_400);
    let mut out = format!(
        "{} {:02}:{:02}:{:02}",
        go_date(year, month, day),
        of_day / 3600,
        of_day % 3600 / 60,
        of_day % 60
    );
    if frac != 0 {
        let digits = format!("{frac:09}");
        out.push('.');
        out.push_str(digits.trim_end_matches('0'));
    }
    let minutes = offset / 60;
    let sign = if minutes < 0 { '-' } else { '+' };
    let (h, m) = (minutes.abs() / 60, minutes.abs() % 60);
    let _ = write!(out, " {sign}{h:02}{m:02} {zone}");
    out
}

/// `2006-01-02` as Go prints it (years below 1000 zero-padded to four
/// digits, negative years with a sign).
fn go_date(year: i64, month: i64, day: i64) -> String {
    let y = if year < 0 {
        format!("-{:04}", -year)
    } else {
        format!("{year:04}")
    };
    format!("{y}-{month:02}-{day:02}")
}

/// The local zone's name and UTC offset (seconds) at `nanos`, as the
/// `Time:` header line shows them; the offset is found from the local clock
/// time that line prints, so it is exact to the minute.
fn local_zone_at(nanos: i64) -> (String, i64) {
    let shown = format_profile_time(nanos);
    parse_profile_time(&shown)
        .map(|(local_minutes, zone)| {
            let utc_minutes = nanos.div_euclid(60_000_000_000);
            (zone, (local_minutes - utc_minutes) * 60)
        })
        .unwrap_or_else(|| ("UTC".to_string(), 0))
}

/// Parses `Jan 2, 2006 at 3:04pm (MST)` into minutes since the epoch (of
/// the local clock) and the zone.
fn parse_profile_time(s: &str) -> Option<(i64, String)> {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let (date, rest) = s.split_once(" at ")?;
    let (month, rest_date) = date.split_once(' ')?;
    let (day, year) = rest_date.split_once(", ")?;
    let month = MONTHS.iter().position(|m| *m == month)? as i64 + 1;
    let day: i64 = day.parse().ok()?;
    let year: i64 = year.parse().ok()?;
    let (clock, zone) = rest.split_once(" (")?;
    let zone = zone.strip_suffix(')')?.to_string();
    let (hour, minute) = clock.split_once(':')?;
    let hour: i64 = hour.parse().ok()?;
    let pm = minute.ends_with("pm");
    let minute: i64 = minute.get(..2)?.parse().ok()?;
    let hour = match (hour % 12, pm) {
        (h, false) => h,
        (h, true) => h + 12,
    };
    let days = days_from_civil(year, month, day);
    Some(((days * 24 + hour) * 60 + minute, zone))
}

/// (year, month 1-12, day 1-31) of a day count since 1970-01-01.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

/// Days since 1970-01-01 of a civil date.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
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

    #[test]
    fn dates_round_trip() {
        for days in [-800_000, -1, 0, 1, 59, 365, 20_000, 2_000_000] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(go_date(7, 1, 2), "0007-01-02");
    }

    #[test]
    fn profile_time_parses() {
        let (minutes, zone) = parse_profile_time("Nov 25, 2026 at 6:20am (UTC)").unwrap();
        assert_eq!(zone, "UTC");
        assert_eq!(minutes * 60, 1_795_587_600);
        let (pm, _) = parse_profile_time("Nov 25, 2026 at 12:05pm (CET)").unwrap();
        let (am, _) = parse_profile_time("Nov 25, 2026 at 12:05am (CET)").unwrap();
        assert_eq!(pm - am, 12 * 60);
    }
}
