//! `symbol`: how `go tool pprof` names the addresses of a profile that has
//! none (Go's legacy heap text). GET answers `num_symbols: 1` (there are
//! symbols); POST `0xPC+0xPC+...` answers one `0xPC name` line per address
//! that falls in a function, as Go's handler (a GET's query is read the same
//! way).

use std::fmt::Write as _;

use axum::response::Response;

use super::routes::ok;

/// Largest number of addresses looked up per request.
const MAX_ADDRESSES: usize = 100_000;

pub(crate) async fn serve(input: &[u8]) -> Response {
    let input = input.to_vec();
    let text = tokio::task::spawn_blocking(move || answer(&input))
        .await
        .unwrap_or_else(|e| format!("num_symbols: 1\nreading request: {e}\n"));
    ok(text, None)
}

fn answer(input: &[u8]) -> String {
    let mut out = String::from("num_symbols: 1\n");
    for word in input.split(|&b| b == b'+').take(MAX_ADDRESSES) {
        let Some(pc) = std::str::from_utf8(word).ok().and_then(parse_uint) else {
            continue;
        };
        if pc == 0 {
            continue;
        }
        if let Some(name) = function_at(pc) {
            let _ = writeln!(out, "{pc:#x} {name}");
        }
    }
    out
}

/// An unsigned integer as Go's `strconv.ParseUint(s, 0, 64)`: `0x` hex,
/// `0o`/`0` octal, `0b` binary, else decimal.
fn parse_uint(s: &str) -> Option<u64> {
    let s = s.trim();
    let lower = s.to_ascii_lowercase();
    let (digits, radix) = if let Some(h) = lower.strip_prefix("0x") {
        (h.to_string(), 16)
    } else if let Some(b) = lower.strip_prefix("0b") {
        (b.to_string(), 2)
    } else if let Some(o) = lower.strip_prefix("0o") {
        (o.to_string(), 8)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (lower[1..].to_string(), 8)
    } else {
        (lower, 10)
    };
    let digits = digits.replace('_', "");
    u64::from_str_radix(&digits, radix).ok()
}

/// The name of the function holding `pc` (the outermost one when frames
/// were inlined there: the function the symbol table names).
fn function_at(pc: u64) -> Option<String> {
    let mut name = None;
    backtrace::resolve(pc as usize as *mut std::ffi::c_void, |s| {
        if let Some(n) = s.name() {
            name = Some(format!("{n:#}"));
        }
    });
    name.filter(|n| !n.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[inline(never)]
    fn marker() -> usize {
        std::hint::black_box(7)
    }

    #[test]
    fn names_a_function_and_skips_junk() {
        let pc = marker as *const () as usize as u64 + 1;
        let text = answer(format!("{pc:#x}+junk+0+0x1").as_bytes());
        let mut lines = text.lines();
        assert_eq!(lines.next(), Some("num_symbols: 1"));
        let line = lines.next().unwrap_or_default();
        assert!(line.starts_with(&format!("{pc:#x} ")), "{text}");
        assert!(line.contains("marker"), "{text}");
        assert_eq!(lines.next(), None, "{text}");
        assert_eq!(answer(b""), "num_symbols: 1\n");
    }

    #[test]
    fn go_integer_syntax() {
        assert_eq!(parse_uint("0x1F"), Some(31));
        assert_eq!(parse_uint("017"), Some(15));
        assert_eq!(parse_uint("42"), Some(42));
        assert_eq!(parse_uint("0"), Some(0));
        assert_eq!(parse_uint("x"), None);
    }
}
