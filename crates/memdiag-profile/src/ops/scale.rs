//! Scaling sample values, and pprof's unit conversions (its `measurement`
//! package) used to harmonize units and to read tag filter ranges.

use super::{go_f64_to_i64, period_type_strs};
use crate::model::{Profile, ValueType};
use crate::units;
use crate::Error;

/// Multiplies every sample value by `factor`, rounding half away from zero
/// (Go's `math.Round`), and drops the samples left with only zeros — pprof's
/// `Profile.Scale`. A factor of exactly 1 changes nothing.
pub fn scale(p: &mut Profile, factor: f64) {
    if factor == 1.0 {
        return;
    }
    let ratios = vec![factor; p.samples.width()];
    scale_values(p, &ratios);
}

/// Multiplies each sample type by its own ratio — pprof's `Profile.ScaleN`.
///
/// Like Go, a sample is kept only if one of the values whose ratio is not 1
/// ends up non-zero (so a sample whose scaled values all become zero is
/// dropped even when an unscaled value is not zero). Nothing happens when all
/// ratios are 1.
pub fn scale_n(p: &mut Profile, ratios: &[f64]) -> Result<(), Error> {
    if ratios.len() != p.sample_types.len() {
        return Err(Error::invalid(
            "scale ratios",
            format!(
                "got {} ratios, want {} (one per sample type)",
                ratios.len(),
                p.sample_types.len()
            ),
        ));
    }
    scale_values(p, ratios);
    Ok(())
}

fn scale_values(p: &mut Profile, ratios: &[f64]) {
    if ratios.iter().all(|&r| r == 1.0) {
        return;
    }
    let width = p.samples.width();
    if width == 0 {
        return;
    }
    let mut keep = Vec::with_capacity(p.samples.len());
    for values in p.samples.all_values_mut().chunks_mut(width) {
        let mut kept = false;
        for (v, &r) in values.iter_mut().zip(ratios) {
            if r != 1.0 {
                *v = go_f64_to_i64((*v as f64 * r).round());
                kept |= *v != 0;
            }
        }
        keep.push(kept);
    }
    if keep.iter().all(|&k| k) {
        return;
    }
    let mut keep = keep.into_iter();
    p.samples.retain(|_| keep.next().unwrap_or(false));
}

/// Converts `value` from unit `from` to unit `to`, as pprof's
/// `measurement.Scale`: returns the converted value and the canonical name of
/// the unit reached (`to` may also be `minimum` or `auto`, which pick the
/// largest unit keeping the value at least 1). Units pprof does not know are
/// left as they are, and the returned unit is empty when `to` is one of
/// `count`, `sample`, `unit`, `minimum`, `auto`.
pub fn convert_unit<'a>(value: i64, from: &str, to: &'a str) -> (f64, &'a str) {
    units::convert(value, from, to)
}

/// Whether two value types may be combined: the same type (ignoring one
/// trailing `s`), and units that are equal or of one family.
fn compatible_value_types(a: (&str, &str), b: (&str, &str)) -> bool {
    let trim = |s: &'_ str| -> String { s.strip_suffix('s').unwrap_or(s).to_string() };
    if trim(a.0) != trim(b.0) {
        return false;
    }
    if a.1 == b.1 {
        return true;
    }
    units::same_family(a.1, b.1)
}

/// The finest of a set of compatible value types; `None` for fewer than two.
fn common_value_type<'a>(
    types: &[(&'a str, &'a str)],
) -> Result<Option<(&'a str, &'a str)>, String> {
    if types.len() <= 1 {
        return Ok(None);
    }
    let mut min = types[0];
    for &t in &types[1..] {
        if !compatible_value_types(min, t) {
            return Err(format!(
                "incompatible types: {}/{} and {}/{}",
                min.0, min.1, t.0, t.1
            ));
        }
        if convert_unit(1, t.1, min.1).0 < 1.0 {
            min = t;
        }
    }
    Ok(Some(min))
}

/// Converts the profiles to common units, the finest each sample type (and
/// the period type) uses among them, scaling values to match — pprof's
/// `measurement.ScaleProfiles`, which the driver runs before every merge.
/// Fails when the profiles have different numbers of sample types or
/// incompatible ones.
pub fn scale_profiles(profiles: &mut [Profile]) -> Result<(), Error> {
    let Some(first) = profiles.first() else {
        return Ok(());
    };
    let period_types: Vec<(&str, &str)> = profiles.iter().map(period_type_strs).collect();
    let period_unit = common_value_type(&period_types)
        .map_err(|e| Error::Incompatible(format!("period type: {e}")))?
        .map(|(_, unit)| unit.to_string());

    let n = first.sample_types.len();
    if let Some(p) = profiles.iter().find(|p| p.sample_types.len() != n) {
        return Err(Error::Incompatible(format!(
            "inconsistent sample type count: {} {} vs {} {}",
            n,
            super::describe_sample_types(first),
            p.sample_types.len(),
            super::describe_sample_types(p)
        )));
    }
    let mut units: Vec<Option<String>> = Vec::with_capacity(n);
    for i in 0..n {
        let types: Vec<(&str, &str)> = profiles
            .iter()
            .map(|p| (p.sample_type_name(i), p.sample_type_unit(i)))
            .collect();
        let common = common_value_type(&types)
            .map_err(|e| Error::Incompatible(format!("sample types: {e}")))?;
        units.push(common.map(|(_, unit)| unit.to_string()));
    }

    for p in profiles.iter_mut() {
        if let Some(to) = &period_unit {
            let (_, from) = period_type_strs(p);
            let (period, _) = convert_unit(p.period, from, to);
            p.period = go_f64_to_i64(period);
            let unit = p.strings.intern(to);
            match &mut p.period_type {
                Some(vt) => vt.unit = unit,
                None if !unit.is_empty() => {
                    p.period_type = Some(ValueType {
                        ty: Default::default(),
                        unit,
                    })
                }
                None => {}
            }
        }
        let mut ratios = vec![1.0; n];
        for (i, to) in units.iter().enumerate() {
            let Some(to) = to else { continue };
            ratios[i] = convert_unit(1, p.sample_type_unit(i), to).0;
            p.sample_types[i].unit = p.strings.intern(to);
        }
        scale_n(p, &ratios)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_like_measurement_scale() {
        assert_eq!(convert_unit(2048, "bytes", "kb"), (2.0, "kB"));
        assert_eq!(convert_unit(1, "kb", "kb"), (1.0, "kB"));
        assert_eq!(convert_unit(-2048, "B", "kilobyte"), (-2.0, "kB"));
        assert_eq!(convert_unit(3, "count", "count"), (3.0, ""));
        assert_eq!(convert_unit(3, "", ""), (3.0, ""));
        assert_eq!(convert_unit(3, "widgets", "widgets"), (3.0, "widgets"));
        assert_eq!(convert_unit(1536, "bytes", "minimum"), (1.5, "kB"));
        assert_eq!(convert_unit(5, "ms", "weird"), (0.005, "s"));
        assert_eq!(convert_unit(1, "hour", "s"), (3600.0, "s"));
    }

    #[test]
    fn compatible_types_ignore_trailing_s() {
        assert!(compatible_value_types(
            ("alloc_space", "bytes"),
            ("alloc_spaces", "kilobytes")
        ));
        assert!(!compatible_value_types(
            ("alloc_space", "bytes"),
            ("alloc_objects", "count")
        ));
        assert!(!compatible_value_types(("cpu", "ms"), ("cpu", "bytes")));
    }
}
