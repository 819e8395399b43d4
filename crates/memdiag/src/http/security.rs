//! Request checks that come before any profile work: the query's size and
//! the bearer token. And the loopback rule of [`serve`](super::serve).

use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

use super::routes::fail;
use super::Config;

/// The longest query accepted: ours are a few parameters.
pub(crate) const MAX_QUERY: usize = 2048;

/// `None` when the request may proceed, else the answer to give.
pub(crate) fn check(config: &Config, headers: &HeaderMap, uri: &Uri) -> Option<Response> {
    if let Some(q) = uri.query() {
        if q.len() > MAX_QUERY {
            return Some(fail(
                StatusCode::URI_TOO_LONG,
                &format!("query too long: {} bytes, at most {MAX_QUERY}", q.len()),
            ));
        }
    }
    if let Some(token) = &config.token {
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim);
        let ok = given.is_some_and(|g| same(g.as_bytes(), token.as_bytes()));
        if !ok {
            let mut r = fail(
                StatusCode::UNAUTHORIZED,
                "missing or wrong bearer token (send Authorization: Bearer <token>)",
            );
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer realm=\"memdiag\""),
            );
            return Some(r.into_response());
        }
    }
    None
}

/// Compares in time independent of where the inputs differ.
fn same(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Whether a bound address keeps the profiles on this machine.
pub(crate) fn is_loopback(addr: &std::net::SocketAddr) -> bool {
    match addr.ip() {
        std::net::IpAddr::V4(ip) => ip.is_loopback(),
        std::net::IpAddr::V6(ip) => {
            ip.is_loopback() || ip.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_rule() {
        for a in [
            "127.0.0.1:1",
            "127.9.9.9:1",
            "[::1]:1",
            "[::ffff:127.0.0.1]:1",
        ] {
            assert!(is_loopback(&a.parse().unwrap()), "{a}");
        }
        for a in ["0.0.0.0:1", "10.0.0.1:1", "[::]:1", "192.168.1.1:1"] {
            assert!(!is_loopback(&a.parse().unwrap()), "{a}");
        }
    }

    #[test]
    fn token_comparison() {
        assert!(same(b"abc", b"abc"));
        assert!(!same(b"abc", b"abd"));
        assert!(!same(b"abc", b"abcd"));
    }
}
