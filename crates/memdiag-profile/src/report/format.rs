//! Value and percentage formatting as in pprof's internal/measurement.

/// Converts `value` from `from` to `to` ("minimum"/"auto" choose a unit that
/// keeps the number at least 1), returning the number and the unit to print
/// after it (empty for plain counts).
pub fn scale(value: i64, from: &str, to: &str) -> (f64, String) {
    let (v, u) = crate::units::convert(value, from, to);
    (v, u.to_string())
}

/// A value in `unit`, scaled to `output_unit` ("minimum" picks the unit that
/// keeps the number small), formatted like pprof (e.g. `1.50MB`, `512kB`).
pub fn scaled_label(value: i64, unit: &str, output_unit: &str) -> String {
    let (v, u) = scale(value, unit, output_unit);
    let fixed = format!("{v:.2}");
    let number = fixed.strip_suffix(".00").unwrap_or(&fixed);
    if number == "0" || number == "-0" {
        return "0".to_string();
    }
    format!("{number}{u}")
}

/// `value / total` as pprof prints it in the flat%/sum%/cum% columns: at
/// least two significant digits, six characters wide.
pub fn percentage(value: i64, total: i64) -> String {
    let ratio = if total != 0 {
        (value as f64 / total as f64).abs() * 100.0
    } else {
        0.0
    };
    if (99.95..=100.05).contains(&ratio) {
        "  100%".to_string()
    } else if ratio >= 1.0 {
        format!("{ratio:5.2}%")
    } else {
        format!("{:>5}%", go_general(ratio, 2))
    }
}

/// Go's `%.<precision>g`: `precision` significant digits, trailing zeros
/// dropped, exponent form when the decimal exponent is below -4 or at least
/// the number of digits kept.
pub(crate) fn go_general(v: f64, precision: usize) -> String {
    let precision = precision.max(1) as i64;
    if !v.is_finite() {
        return if v.is_nan() {
            "NaN".to_string()
        } else if v > 0.0 {
            "+Inf".to_string()
        } else {
            "-Inf".to_string()
        };
    }
    let sign = if v.is_sign_negative() { "-" } else { "" };
    let (digits, dp) = decimal_digits(v.abs(), precision as usize);
    let digits = digits.as_bytes();
    let nd = digits.len() as i64;
    let digit_at = |i: i64| -> char {
        if (0..nd).contains(&i) {
            digits[i as usize] as char
        } else {
            '0'
        }
    };
    let mut eprec = precision;
    if eprec > nd && nd >= dp {
        eprec = nd;
    }
    let exp = dp - 1;
    let mut out = String::from(sign);
    if exp < -4 || exp >= eprec {
        let kept = precision.min(nd).max(1);
        out.push(digit_at(0));
        if kept > 1 {
            out.push('.');
            for i in 1..kept {
                out.push(digit_at(i));
            }
        }
        let exp_sign = if exp < 0 { '-' } else { '+' };
        out.push_str(&format!("e{exp_sign}{:02}", exp.abs()));
        return out;
    }
    let prec = if precision > dp { nd } else { precision };
    let decimals = (prec - dp).max(0);
    if dp <= 0 {
        out.push('0');
    } else {
        for i in 0..dp {
            out.push(digit_at(i));
        }
    }
    if decimals > 0 {
        out.push('.');
        for i in 0..decimals {
            out.push(digit_at(dp + i));
        }
    }
    out
}

/// The significant digits of `v` (non-negative, finite) correctly rounded to
/// `precision` digits, without trailing zeros, and the position of the
/// decimal point relative to the first digit (`0.0125` → ("13", -1)).
fn decimal_digits(v: f64, precision: usize) -> (String, i64) {
    if v == 0.0 {
        return (String::new(), 0);
    }
    let sci = format!("{:.*e}", precision - 1, v);
    let (mantissa, exp) = sci.split_once('e').expect("exponent form");
    let exp: i64 = exp.parse().expect("exponent");
    let mut digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    while digits.ends_with('0') {
        digits.pop();
    }
    (digits, exp + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scaled_labels_match_pprof() {
        assert_eq!(scaled_label(0, "bytes", "minimum"), "0");
        assert_eq!(scaled_label(512, "bytes", "minimum"), "512B");
        assert_eq!(scaled_label(1024, "bytes", "minimum"), "1kB");
        assert_eq!(scaled_label(1536, "bytes", "minimum"), "1.50kB");
        assert_eq!(scaled_label(3 << 20, "bytes", "minimum"), "3MB");
        assert_eq!(scaled_label(-1536, "bytes", "minimum"), "-1.50kB");
        assert_eq!(scaled_label(1536, "bytes", "MB"), "0");
        assert_eq!(scaled_label(15 << 20, "bytes", "GB"), "0.01GB");
        assert_eq!(scaled_label(1 << 20, "bytes", "kB"), "1024kB");
        assert_eq!(scaled_label(1 << 20, "bytes", "bytes"), "1048576B");
        assert_eq!(scaled_label(1 << 20, "bytes", "s"), "1048576B");
        assert_eq!(scaled_label(7, "count", "minimum"), "7");
        assert_eq!(scaled_label(7, "objects", "minimum"), "7");
        assert_eq!(scaled_label(7, "objects", "MB"), "7MB");
        assert_eq!(scaled_label(1_500_000, "nanoseconds", "minimum"), "1.50ms");
        assert_eq!(scaled_label(10_000_000_000, "ns", "minimum"), "10s");
        assert_eq!(scaled_label(7_200_000_000_000, "ns", "minimum"), "2hrs");
        assert_eq!(scaled_label(5, "ns", "MB"), "0");
        assert_eq!(scaled_label(1_000_000_000, "ns", "MB"), "1s");
        assert_eq!(scaled_label(5, "megagcu", "minimum"), "5M*GCU");
    }

    #[test]
    fn percentages_match_pprof() {
        assert_eq!(percentage(1, 1), "  100%");
        assert_eq!(percentage(9996, 10000), "  100%");
        assert_eq!(percentage(5, 10), "50.00%");
        assert_eq!(percentage(-5, 10), "50.00%");
        assert_eq!(percentage(1, 100), " 1.00%");
        assert_eq!(percentage(5, 1000), "  0.5%");
        assert_eq!(percentage(1, 800), " 0.12%");
        assert_eq!(percentage(1, 1_000_000), "0.0001%");
        assert_eq!(percentage(1, 10_000_000), "1e-05%");
        assert_eq!(percentage(0, 10), "    0%");
        assert_eq!(percentage(3, 0), "    0%");
        assert_eq!(percentage(996, 100_000), "    1%");
        assert_eq!(percentage(99_996, 100_000_000), "  0.1%");
        assert_eq!(percentage(250, 100), "250.00%");
    }

    #[test]
    fn general_format() {
        assert_eq!(go_general(0.5, 2), "0.5");
        assert_eq!(go_general(0.125, 2), "0.12");
        assert_eq!(go_general(0.0125, 2), "0.013");
        assert_eq!(go_general(12.5, 2), "12");
        assert_eq!(go_general(125.0, 2), "1.2e+02");
        assert_eq!(go_general(0.00001234, 2), "1.2e-05");
        assert_eq!(go_general(0.0, 2), "0");
    }
}
