//! The local time of a profile's `Time:` header line, found as Go's `time`
//! package finds `time.Local`: `$TZ` (a zoneinfo name or absolute path; an
//! empty `$TZ` means UTC), else `/etc/localtime`, else UTC; zoneinfo files
//! are TZif, with the POSIX rule of their footer for times past the last
//! transition.

use std::path::Path;

/// Formats `unix_nanos` like Go's `Format("Jan 2, 2006 at 3:04pm (MST)")`
/// in the local time zone.
pub fn format_profile_time(unix_nanos: i64) -> String {
    let secs = unix_nanos.div_euclid(1_000_000_000);
    let (abbrev, offset) = local_zone()
        .and_then(|z| z.lookup(secs))
        .unwrap_or_else(|| ("UTC".to_string(), 0));
    let local = secs + offset;
    let days = local.div_euclid(86_400);
    let secs_of_day = local.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    let hour = secs_of_day / 3600;
    let minute = (secs_of_day % 3600) / 60;
    let hour12 = match hour % 12 {
        0 => 12,
        h => h,
    };
    let ampm = if hour < 12 { "am" } else { "pm" };
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let zone = if abbrev.is_empty() {
        let minutes = offset / 60;
        let sign = if minutes < 0 { '-' } else { '+' };
        format!("{sign}{:02}{:02}", minutes.abs() / 60, minutes.abs() % 60)
    } else {
        abbrev
    };
    format!(
        "{} {}, {} at {}:{:02}{} ({})",
        MONTHS[(month - 1) as usize],
        day,
        year,
        hour12,
        minute,
        ampm,
        zone
    )
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
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

/// Days since 1970-01-01 of January 1st of `year`.
fn days_from_civil_jan1(year: i64) -> i64 {
    let y = year - 1;
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    // Day of era of March 1st of `year - 1` + 306 days = January 1st of `year`.
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + 306;
    era * 146_097 + doe - 719_468
}

/// The local zone as Go's `time` package determines it; `None` means UTC.
fn local_zone() -> Option<Zone> {
    match std::env::var("TZ") {
        Err(_) => Zone::load(Path::new("/etc/localtime")),
        Ok(tz) => {
            let tz = tz.strip_prefix(':').unwrap_or(&tz);
            if tz.is_empty() || tz == "UTC" {
                None
            } else if tz.starts_with('/') {
                Zone::load(Path::new(tz))
            } else {
                let mut dirs: Vec<String> = Vec::new();
                if let Ok(dir) = std::env::var("ZONEINFO") {
                    dirs.push(dir);
                }
                dirs.extend(
                    [
                        "/usr/share/zoneinfo",
                        "/usr/share/lib/zoneinfo",
                        "/usr/lib/locale/TZ",
                    ]
                    .map(String::from),
                );
                dirs.iter().find_map(|d| Zone::load(&Path::new(d).join(tz)))
            }
        }
    }
}

#[derive(Clone, Debug)]
struct ZoneType {
    offset: i64,
    is_dst: bool,
    abbrev: String,
}

/// A parsed TZif file.
#[derive(Debug)]
struct Zone {
    types: Vec<ZoneType>,
    /// (transition time, index into `types`), ascending.
    transitions: Vec<(i64, usize)>,
    /// The POSIX TZ rule for times after the last transition.
    extend: String,
}

impl Zone {
    fn load(path: &Path) -> Option<Zone> {
        let data = std::fs::read(path).ok()?;
        Zone::parse(&data)
    }

    fn parse(data: &[u8]) -> Option<Zone> {
        let mut r = Reader { data, pos: 0 };
        let (version, counts) = r.header()?;
        if version >= b'2' {
            // Skip the 32-bit body and read the 64-bit one.
            let [isutc, isstd, leap, time, typ, chars] = counts;
            r.skip(time * 5 + typ * 6 + chars + leap * 8 + isstd + isutc)?;
            let (_, counts) = r.header()?;
            let mut zone = r.body(counts, 8)?;
            // Footer: "\n<rule>\n".
            let rest = &data[r.pos..];
            if rest.first() == Some(&b'\n') {
                if let Some(end) = rest[1..].iter().position(|&b| b == b'\n') {
                    zone.extend = String::from_utf8_lossy(&rest[1..1 + end]).into_owned();
                }
            }
            Some(zone)
        } else {
            r.body(counts, 4)
        }
    }

    /// Abbreviation and UTC offset in effect at `secs`.
    fn lookup(&self, secs: i64) -> Option<(String, i64)> {
        if self.types.is_empty() {
            return None;
        }
        if self.transitions.is_empty() || secs < self.transitions[0].0 {
            let t = &self.types[self.first_type()];
            return Some((t.abbrev.clone(), t.offset));
        }
        let last = *self.transitions.last().expect("non-empty");
        if secs >= last.0 && !self.extend.is_empty() {
            if let Some(found) = posix_rule_zone(&self.extend, secs) {
                return Some(found);
            }
        }
        let i = self.transitions.partition_point(|&(t, _)| t <= secs) - 1;
        let t = &self.types[self.transitions[i].1];
        Some((t.abbrev.clone(), t.offset))
    }

    /// Go's `lookupFirstZone`: the zone before the first transition.
    fn first_type(&self) -> usize {
        let used = |i: usize| self.transitions.iter().any(|&(_, t)| t == i);
        if !used(0) {
            return 0;
        }
        if let Some(&(_, first)) = self.transitions.first() {
            if self.types[first].is_dst {
                if let Some(i) = (0..first).rev().find(|&i| !self.types[i].is_dst) {
                    return i;
                }
            }
        }
        (0..self.types.len())
            .find(|&i| !self.types[i].is_dst)
            .unwrap_or(0)
    }
}

struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Option<&[u8]> {
        let bytes = self.data.get(self.pos..self.pos.checked_add(n)?)?;
        self.pos += n;
        Some(bytes)
    }

    fn skip(&mut self, n: usize) -> Option<()> {
        self.take(n).map(|_| ())
    }

    fn be_u32(&mut self) -> Option<u32> {
        Some(u32::from_be_bytes(self.take(4)?.try_into().ok()?))
    }

    /// The 44-byte header: version and the six counts (isutc, isstd, leap,
    /// time, type, char).
    fn header(&mut self) -> Option<(u8, [usize; 6])> {
        if self.take(4)? != b"TZif" {
            return None;
        }
        let version = self.take(1)?[0];
        self.skip(15)?;
        let mut counts = [0usize; 6];
        for c in &mut counts {
            *c = self.be_u32()? as usize;
        }
        Some((version, counts))
    }

    fn body(&mut self, counts: [usize; 6], time_size: usize) -> Option<Zone> {
        let [isutc, isstd, leap, time, typ, chars] = counts;
        let mut times = Vec::with_capacity(time);
        for _ in 0..time {
            let b = self.take(time_size)?;
            let t = if time_size == 8 {
                i64::from_be_bytes(b.try_into().ok()?)
            } else {
                i64::from(i32::from_be_bytes(b.try_into().ok()?))
            };
            times.push(t);
        }
        let indices = self.take(time)?.to_vec();
        let mut raw_types = Vec::with_capacity(typ);
        for _ in 0..typ {
            let b = self.take(6)?;
            let offset = i32::from_be_bytes(b[0..4].try_into().ok()?);
            raw_types.push((i64::from(offset), b[4] != 0, b[5] as usize));
        }
        let abbrevs = self.take(chars)?.to_vec();
        self.skip(leap * (time_size + 4) + isstd + isutc)?;
        let types = raw_types
            .into_iter()
            .map(|(offset, is_dst, ai)| {
                let bytes = abbrevs.get(ai..).unwrap_or(&[]);
                let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
                ZoneType {
                    offset,
                    is_dst,
                    abbrev: String::from_utf8_lossy(&bytes[..end]).into_owned(),
                }
            })
            .collect::<Vec<_>>();
        let mut transitions = Vec::with_capacity(time);
        for (t, &i) in times.into_iter().zip(&indices) {
            if (i as usize) >= types.len() {
                return None;
            }
            transitions.push((t, i as usize));
        }
        Some(Zone {
            types,
            transitions,
            extend: String::new(),
        })
    }
}

/// A rule of a POSIX TZ string: `Jn`, `n` or `Mm.w.d`, with its time of day.
#[derive(Clone, Copy, Debug)]
enum RuleDay {
    Julian(i64),
    DayOfYear(i64),
    MonthWeekDay { month: i64, week: i64, day: i64 },
}

/// Evaluates a POSIX TZ string (`CET-1CEST,M3.5.0,M10.5.0/3`) at `secs`, as
/// Go's `tzset` does.
fn posix_rule_zone(spec: &str, secs: i64) -> Option<(String, i64)> {
    let (std_name, rest) = tz_name(spec)?;
    let (std_off, rest) = tz_offset(rest)?;
    let std_off = -std_off;
    if rest.is_empty() || rest.starts_with(',') {
        return Some((std_name, std_off));
    }
    let (dst_name, rest) = tz_name(rest)?;
    let (dst_off, rest) = if rest.is_empty() || rest.starts_with(',') {
        (std_off + 3600, rest)
    } else {
        let (off, rest) = tz_offset(rest)?;
        (-off, rest)
    };
    let rules = if rest.is_empty() {
        ",M3.2.0,M11.1.0"
    } else {
        rest
    };
    let rules = rules
        .strip_prefix(',')
        .or_else(|| rules.strip_prefix(';'))?;
    let (start, rest) = tz_rule(rules)?;
    let rest = rest.strip_prefix(',')?;
    let (end, rest) = tz_rule(rest)?;
    if !rest.is_empty() {
        return None;
    }
    let days = secs.div_euclid(86_400);
    let year = civil_from_days(days).0;
    let ysec = secs - days_from_civil_jan1(year) * 86_400;
    let mut start_sec = rule_time(year, start, std_off);
    let mut end_sec = rule_time(year, end, dst_off);
    let (mut std_name, mut dst_name) = (std_name, dst_name);
    let (mut std_off, mut dst_off) = (std_off, dst_off);
    if end_sec < start_sec {
        std::mem::swap(&mut start_sec, &mut end_sec);
        std::mem::swap(&mut std_name, &mut dst_name);
        std::mem::swap(&mut std_off, &mut dst_off);
    }
    if ysec < start_sec || ysec >= end_sec {
        Some((std_name, std_off))
    } else {
        Some((dst_name, dst_off))
    }
}

fn tz_name(s: &str) -> Option<(String, &str)> {
    if let Some(rest) = s.strip_prefix('<') {
        let end = rest.find('>')?;
        return Some((rest[..end].to_string(), &rest[end + 1..]));
    }
    let end = s
        .find(|c: char| c.is_ascii_digit() || c == '-' || c == '+' || c == ',')
        .unwrap_or(s.len());
    if end < 3 {
        return None;
    }
    Some((s[..end].to_string(), &s[end..]))
}

/// `[+-]hh[:mm[:ss]]` in seconds.
fn tz_offset(s: &str) -> Option<(i64, &str)> {
    let (sign, s) = match s.as_bytes().first() {
        Some(b'+') => (1, &s[1..]),
        Some(b'-') => (-1, &s[1..]),
        _ => (1, s),
    };
    let (secs, rest) = tz_clock(s)?;
    Some((sign * secs, rest))
}

/// `hh[:mm[:ss]]` in seconds.
fn tz_clock(s: &str) -> Option<(i64, &str)> {
    let mut total = 0i64;
    let mut rest = s;
    for (i, scale) in [3600i64, 60, 1].into_iter().enumerate() {
        if i > 0 {
            match rest.strip_prefix(':') {
                Some(r) => rest = r,
                None => break,
            }
        }
        let (n, r) = tz_number(rest)?;
        total += n * scale;
        rest = r;
    }
    Some((total, rest))
}

fn tz_number(s: &str) -> Option<(i64, &str)> {
    let end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    if end == 0 {
        return None;
    }
    Some((s[..end].parse().ok()?, &s[end..]))
}

fn tz_rule(s: &str) -> Option<((RuleDay, i64), &str)> {
    let (day, rest) = if let Some(r) = s.strip_prefix('J') {
        let (n, r) = tz_number(r)?;
        (RuleDay::Julian(n), r)
    } else if let Some(r) = s.strip_prefix('M') {
        let (month, r) = tz_number(r)?;
        let (week, r) = tz_number(r.strip_prefix('.')?)?;
        let (day, r) = tz_number(r.strip_prefix('.')?)?;
        (RuleDay::MonthWeekDay { month, week, day }, r)
    } else {
        let (n, r) = tz_number(s)?;
        (RuleDay::DayOfYear(n), r)
    };
    match rest.strip_prefix('/') {
        Some(r) => {
            let (time, r) = tz_offset(r)?;
            Some(((day, time), r))
        }
        None => Some(((day, 7200), rest)),
    }
}

/// Seconds since the start of `year` (UTC) at which a rule takes effect.
fn rule_time(year: i64, (day, time): (RuleDay, i64), offset: i64) -> i64 {
    const DAYS_BEFORE: [i64; 13] = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334, 365];
    let days_in = |month: i64| {
        let d = DAYS_BEFORE[month as usize] - DAYS_BEFORE[month as usize - 1];
        if month == 2 && is_leap(year) {
            d + 1
        } else {
            d
        }
    };
    let d = match day {
        RuleDay::Julian(n) => {
            let mut d = n - 1;
            if is_leap(year) && n >= 60 {
                d += 1;
            }
            d
        }
        RuleDay::DayOfYear(n) => n,
        RuleDay::MonthWeekDay { month, week, day } => {
            let month = month.clamp(1, 12);
            // Day of week of the first day of the month (Zeller).
            let m1 = (month + 9) % 12 + 1;
            let yy0 = if month <= 2 { year - 1 } else { year };
            let (yy1, yy2) = (yy0 / 100, yy0 % 100);
            let dow = ((26 * m1 - 2) / 10 + 1 + yy2 + yy2 / 4 + yy1 / 4 - 2 * yy1).rem_euclid(7);
            let mut d = (day - dow).rem_euclid(7);
            for _ in 1..week {
                if d + 7 >= days_in(month) {
                    break;
                }
                d += 7;
            }
            d += DAYS_BEFORE[month as usize - 1];
            if is_leap(year) && month > 2 {
                d += 1;
            }
            d
        }
    };
    d * 86_400 + time - offset
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_507), (2026, 2, 23));
        assert_eq!(days_from_civil_jan1(1970), 0);
        assert_eq!(days_from_civil_jan1(2024), 19_723);
    }

    #[test]
    fn posix_rules() {
        let spec = "CET-1CEST,M3.5.0,M10.5.0/3";
        // 2024-07-01T00:00:00Z is summer time, 2024-01-15 is not.
        assert_eq!(
            posix_rule_zone(spec, 1_719_792_000),
            Some(("CEST".to_string(), 7200))
        );
        assert_eq!(
            posix_rule_zone(spec, 1_705_276_800),
            Some(("CET".to_string(), 3600))
        );
        assert_eq!(
            posix_rule_zone("<+0530>-5:30", 0),
            Some(("+0530".to_string(), 19_800))
        );
    }
}
