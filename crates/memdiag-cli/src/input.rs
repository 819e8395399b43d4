//! Loading a profile from a file or an `http(s)://` URL.

use std::io::Read;
use std::path::Path;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use memdiag_profile::Profile;

/// Largest response body accepted from a URL (profiles are rarely > 100 MB).
const MAX_BODY: u64 = 1 << 30;

pub fn is_url(input: &str) -> bool {
    input.starts_with("http://") || input.starts_with("https://")
}

/// Reads the bytes of `input` (a path or a URL).
pub fn read_bytes(input: &str) -> Result<Vec<u8>> {
    if is_url(input) {
        return fetch(input);
    }
    let path = Path::new(input);
    if path.is_dir() {
        bail!("{input}: is a directory, expected a profile file");
    }
    std::fs::read(path).with_context(|| format!("{input}: cannot read"))
}

/// Reads and decodes the profile at `input`.
pub fn load(input: &str) -> Result<Profile> {
    let bytes = read_bytes(input)?;
    memdiag_profile::decode(&bytes).with_context(|| input.to_string())
}

/// The `seconds=N` query parameter, which makes the server wait N seconds.
fn seconds_param(url: &str) -> Option<u64> {
    let query = url.split_once('?')?.1;
    query
        .split('&')
        .find_map(|kv| kv.strip_prefix("seconds="))
        .and_then(|v| v.parse().ok())
}

fn fetch(url: &str) -> Result<Vec<u8>> {
    let wait = seconds_param(url).unwrap_or(0);
    let agent = ureq::AgentBuilder::new()
        .timeout_connect(Duration::from_secs(10))
        .timeout_read(Duration::from_secs(wait + 60))
        .build();
    let response = match agent.get(url).call() {
        Ok(r) => r,
        Err(ureq::Error::Status(code, r)) => {
            let body = r.into_string().unwrap_or_default();
            let reason = body.lines().next().unwrap_or("").trim();
            bail!("{url}: server answered HTTP {code}: {reason}");
        }
        Err(e) => bail!("{url}: fetch failed: {e}"),
    };
    let mut body = Vec::new();
    response
        .into_reader()
        .take(MAX_BODY)
        .read_to_end(&mut body)
        .with_context(|| format!("{url}: reading the response failed"))?;
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_parameter_is_found_anywhere_in_the_query() {
        assert_eq!(
            seconds_param("http://h/debug/pprof/heap?seconds=5"),
            Some(5)
        );
        assert_eq!(seconds_param("http://h/p?gc=1&seconds=30"), Some(30));
        assert_eq!(seconds_param("http://h/p"), None);
    }
}
