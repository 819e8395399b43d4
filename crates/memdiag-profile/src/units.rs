//! pprof's units of measurement (its `measurement` package): the byte, time
//! and GCU unit tables, recognizing a unit by name, and converting values
//! between units of one family. Shared by the unit harmonization done before
//! merges (`ops::scale`) and the report value formatting (`report::format`).

/// A unit of measurement: its canonical (printed) name, the lower-case
/// aliases it is recognized by, and how many base units it is worth.
struct Unit {
    name: &'static str,
    aliases: &'static [&'static str],
    factor: f64,
}

/// A family of interconvertible units (memory, time, GCU) and the unit used
/// when no unit of the family is asked for.
struct UnitType {
    default_name: &'static str,
    default_factor: f64,
    units: &'static [Unit],
}

const fn unit(name: &'static str, aliases: &'static [&'static str], factor: f64) -> Unit {
    Unit {
        name,
        aliases,
        factor,
    }
}

static UNIT_TYPES: [UnitType; 3] = [
    UnitType {
        default_name: "B",
        default_factor: 1.0,
        units: &[
            unit("B", &["b", "byte"], 1.0),
            unit("kB", &["kb", "kbyte", "kilobyte"], (1u64 << 10) as f64),
            unit("MB", &["mb", "mbyte", "megabyte"], (1u64 << 20) as f64),
            unit("GB", &["gb", "gbyte", "gigabyte"], (1u64 << 30) as f64),
            unit("TB", &["tb", "tbyte", "terabyte"], (1u64 << 40) as f64),
            unit("PB", &["pb", "pbyte", "petabyte"], (1u64 << 50) as f64),
        ],
    },
    UnitType {
        default_name: "s",
        default_factor: 1e9,
        units: &[
            unit("ns", &["ns", "nanosecond"], 1.0),
            unit("us", &["μs", "us", "microsecond"], 1e3),
            unit("ms", &["ms", "millisecond"], 1e6),
            unit("s", &["s", "sec", "second"], 1e9),
            unit("hrs", &["hour", "hr"], 3600e9),
        ],
    },
    UnitType {
        default_name: "GCU",
        default_factor: 1.0,
        units: &[
            unit("n*GCU", &["nanogcu"], 1e-9),
            unit("u*GCU", &["microgcu"], 1e-6),
            unit("m*GCU", &["milligcu"], 1e-3),
            unit("GCU", &["gcu"], 1.0),
            unit("k*GCU", &["kilogcu"], 1e3),
            unit("M*GCU", &["megagcu"], 1e6),
            unit("G*GCU", &["gigagcu"], 1e9),
            unit("T*GCU", &["teragcu"], 1e12),
            unit("P*GCU", &["petagcu"], 1e15),
        ],
    },
];

impl UnitType {
    /// The unit a name stands for: case-insensitive, and a trailing `s` is
    /// ignored on names longer than two bytes ("bytes", "seconds").
    fn sniff(&self, name: &str) -> Option<&'static Unit> {
        let lower = name.to_lowercase();
        let alias = if lower.len() > 2 {
            lower.strip_suffix('s').unwrap_or(&lower)
        } else {
            &lower
        };
        self.units.iter().find(|u| u.aliases.contains(&alias))
    }

    /// The largest unit in which `value` (in base units) is at least 1.
    fn auto_scale(&self, value: f64) -> Option<(f64, &'static str)> {
        let mut best: Option<&Unit> = None;
        for u in self.units {
            if u.factor >= best.map_or(0.0, |b| b.factor) && value / u.factor >= 1.0 {
                best = Some(u);
            }
        }
        best.map(|u| (value / u.factor, u.name))
    }

    /// `value` in unit `from` converted within this family, or `None` when
    /// `from` is not one of its units. A `to` outside the family converts to
    /// the default unit.
    fn convert(&self, value: i64, from: &str, to: &str) -> Option<(f64, &'static str)> {
        let from = self.sniff(from)?;
        let v = value as f64 * from.factor;
        if to == "minimum" || to == "auto" {
            return Some(
                self.auto_scale(v)
                    .unwrap_or((v / self.default_factor, self.default_name)),
            );
        }
        Some(match self.sniff(to) {
            Some(to) => (v / to.factor, to.name),
            None => (v / self.default_factor, self.default_name),
        })
    }
}

/// Converts `value` from unit `from` to unit `to`, as pprof's
/// `measurement.Scale`: returns the converted value and the canonical name of
/// the unit reached (`to` may also be `minimum` or `auto`, which pick the
/// largest unit keeping the value at least 1). Negative values convert as
/// their magnitude. Units pprof does not know are left as they are, and the
/// returned unit is empty when `to` is one of `count`, `sample`, `unit`,
/// `minimum`, `auto`.
pub(crate) fn convert<'a>(value: i64, from: &str, to: &'a str) -> (f64, &'a str) {
    if value < 0 && value != i64::MIN {
        let (v, u) = convert(-value, from, to);
        return (-v, u);
    }
    for ut in &UNIT_TYPES {
        if let Some(r) = ut.convert(value, from, to) {
            return r;
        }
    }
    match to {
        "count" | "sample" | "unit" | "minimum" | "auto" => (value as f64, ""),
        _ => (value as f64, to),
    }
}

/// Whether both unit names are known units of one family.
pub(crate) fn same_family(a: &str, b: &str) -> bool {
    UNIT_TYPES
        .iter()
        .any(|ut| ut.sniff(a).is_some() && ut.sniff(b).is_some())
}
