//! Query parameters, validated: `seconds`, `debug`, `gc`. A bad value is a
//! one-line reason for a 400 answer; unknown parameters are ignored (as Go).

use std::borrow::Cow;

/// The parameters of a profile request.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Params {
    /// `seconds`, when given: a positive integer no larger than the limit.
    pub seconds: Option<u64>,
    /// `debug`: 0 = protobuf, else text.
    pub debug: u32,
}

/// Parses the query of a profile request. `max_seconds` caps `seconds`.
pub(crate) fn parse(query: &str, max_seconds: u64) -> Result<Params, String> {
    let mut p = Params::default();
    let (mut seen_seconds, mut seen_debug) = (false, false);
    for (key, value) in pairs(query) {
        match &*key {
            // The first value wins, as Go's FormValue.
            "seconds" if !seen_seconds => {
                seen_seconds = true;
                p.seconds = Some(seconds(&value, max_seconds)?);
            }
            "debug" if !seen_debug => {
                seen_debug = true;
                p.debug = value.parse::<u32>().map_err(|_| {
                    format!(
                        "invalid value for \"debug\": {:?} - must be a non-negative integer",
                        short(&value)
                    )
                })?;
            }
            // `gc=1` asks Go to collect garbage before a heap profile. Rust
            // has no collector: the sampled live set is always current, so it
            // is accepted (any value) and does nothing.
            _ => {}
        }
    }
    Ok(p)
}

/// A `seconds` value: a positive integer, at most `max`.
pub(crate) fn seconds(value: &str, max: u64) -> Result<u64, String> {
    match value.parse::<u64>() {
        Ok(0) | Err(_) => Err(format!(
            "invalid value for \"seconds\": {:?} - must be a positive integer",
            short(value)
        )),
        Ok(n) if n > max => Err(format!(
            "invalid value for \"seconds\": {n} exceeds this server's limit of {max}"
        )),
        Ok(n) => Ok(n),
    }
}

/// `key=value` pairs of a query, percent-decoded (`+` is a space).
pub(crate) fn pairs(query: &str) -> impl Iterator<Item = (Cow<'_, str>, Cow<'_, str>)> {
    query.split('&').filter(|s| !s.is_empty()).map(|kv| {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        (decode(k), decode(v))
    })
}

fn decode(s: &str) -> Cow<'_, str> {
    if !s.contains(['%', '+']) {
        return Cow::Borrowed(s);
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = b
                    .get(i + 1..i + 3)
                    .and_then(|h| u8::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok());
                if let Some(byte) = hex {
                    out.push(byte);
                    i += 2;
                } else {
                    out.push(b'%');
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    Cow::Owned(String::from_utf8_lossy(&out).into_owned())
}

/// The start of a value, for a reason line.
fn short(s: &str) -> String {
    match s.char_indices().nth(32) {
        Some((i, _)) => format!("{}...", &s[..i]),
        None => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn good_and_bad_values() {
        assert_eq!(parse("", 300), Ok(Params::default()));
        assert_eq!(
            parse("seconds=5&debug=1&gc=1&x=y", 300),
            Ok(Params {
                seconds: Some(5),
                debug: 1
            })
        );
        assert_eq!(parse("seconds=%35", 300).unwrap().seconds, Some(5));
        assert_eq!(
            parse("seconds=5&seconds=abc", 300).unwrap().seconds,
            Some(5)
        );
        for bad in [
            "seconds=-1",
            "seconds=abc",
            "seconds=0",
            "seconds=",
            "debug=x",
        ] {
            let e = parse(bad, 300).unwrap_err();
            assert!(e.starts_with("invalid value for"), "{bad}: {e}");
            assert!(!e.contains('\n'), "{e}");
        }
        let e = parse("seconds=100000", 300).unwrap_err();
        assert!(e.contains("limit of 300"), "{e}");
        let e = parse(&format!("seconds={}", "9".repeat(100)), 300).unwrap_err();
        assert!(e.contains("..."), "{e}");
    }

    #[test]
    fn decoding() {
        assert_eq!(decode("a+b%20c%zz%4"), "a b c%zz%4");
    }
}
