//! Profile times in the local time zone, found as Go's `time.Local` finds it:
//! `$TZ` (set but empty means UTC), else the system zone, else UTC. jiff
//! reads the zoneinfo database.

use jiff::tz::TimeZone;
use jiff::{Timestamp, Zoned};

fn local_zone() -> TimeZone {
    match std::env::var_os("TZ") {
        Some(tz) if tz.is_empty() => TimeZone::UTC,
        _ => TimeZone::try_system().unwrap_or(TimeZone::UTC),
    }
}

fn time_in(unix_nanos: i64, zone: TimeZone) -> Zoned {
    Timestamp::from_nanosecond(i128::from(unix_nanos))
        .unwrap_or(Timestamp::UNIX_EPOCH)
        .to_zoned(zone)
}

/// The zone's abbreviation at `t` (`CET`), or its offset (`+0530`) when the
/// zone has none, as Go prints `MST`.
fn zone_name(t: &Zoned) -> String {
    let info = t.time_zone().to_offset_info(t.timestamp());
    let abbreviation = info.abbreviation();
    if abbreviation.is_empty() {
        t.strftime("%z").to_string()
    } else {
        abbreviation.to_string()
    }
}

/// `unix_nanos` like Go's `Format("Jan 2, 2006 at 3:04pm (MST)")`.
pub fn format_profile_time(unix_nanos: i64) -> String {
    format_time(&time_in(unix_nanos, local_zone()))
}

fn format_time(t: &Zoned) -> String {
    format!(
        "{} ({})",
        t.strftime("%b %-d, %Y at %-I:%M%P"),
        zone_name(t)
    )
}

/// `unix_nanos` like Go's `time.Time.String()`:
/// `2006-01-02 15:04:05.999999999 -0700 MST`.
pub fn go_time_string(unix_nanos: i64) -> String {
    go_string(&time_in(unix_nanos, local_zone()))
}

fn go_string(t: &Zoned) -> String {
    let mut out = t.strftime("%Y-%m-%d %H:%M:%S").to_string();
    let frac = t.subsec_nanosecond();
    if frac != 0 {
        out.push('.');
        out.push_str(format!("{frac:09}").trim_end_matches('0'));
    }
    format!("{out} {} {}", t.strftime("%z"), zone_name(t))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-11-25T06:20:31.5Z, checked by hand.
    const NANOS: i64 = 1_795_587_631_500_000_000;

    fn at(nanos: i64, zone: &str) -> Zoned {
        time_in(nanos, TimeZone::get(zone).unwrap())
    }

    #[test]
    fn formats_like_go() {
        assert_eq!(
            format_time(&at(NANOS, "UTC")),
            "Nov 25, 2026 at 6:20am (UTC)"
        );
        assert_eq!(
            go_string(&at(NANOS, "UTC")),
            "2026-11-25 06:20:31.5 +0000 UTC"
        );
        let evening = NANOS - 500_000_000 + 12 * 3_600_000_000_000;
        assert_eq!(
            go_string(&at(evening, "UTC")),
            "2026-11-25 18:20:31 +0000 UTC"
        );
        assert_eq!(
            format_time(&at(evening, "UTC")),
            "Nov 25, 2026 at 6:20pm (UTC)"
        );
        // Go: "Nov 25, 2026 at 1:20am (EST)", "2026-11-25 01:20:31.5 -0500 EST".
        assert_eq!(
            format_time(&at(NANOS, "America/New_York")),
            "Nov 25, 2026 at 1:20am (EST)"
        );
        assert_eq!(
            go_string(&at(NANOS, "America/New_York")),
            "2026-11-25 01:20:31.5 -0500 EST"
        );
    }
}
