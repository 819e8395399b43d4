// Helpers of the `/debug/pprof` endpoint tests (feature `http`).
#![allow(dead_code)]

use std::io::Read;
use std::time::Duration;

/// An answer: status, selected headers, body.
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// One request, with timeouts so that a hung server fails the test.
pub fn request(method: &str, url: &str, body: Option<&[u8]>, token: Option<&str>) -> Answer {
    let agent = ureq::AgentBuilder::new()
        .timeout_connect(Duration::from_secs(10))
        .timeout_read(Duration::from_secs(120))
        .redirects(0)
        .build();
    let mut req = agent.request(method, url);
    if let Some(t) = token {
        req = req.set("Authorization", &format!("Bearer {t}"));
    }
    let result = match body {
        Some(b) => req.send_bytes(b),
        None => req.call(),
    };
    let resp = match result {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("{method} {url}: {e}"),
    };
    let status = resp.status();
    let headers = resp
        .headers_names()
        .into_iter()
        .filter_map(|n| Some((n.clone(), resp.header(&n)?.to_string())))
        .collect();
    let mut body = Vec::new();
    resp.into_reader()
        .take(1 << 30)
        .read_to_end(&mut body)
        .unwrap_or_else(|e| panic!("{method} {url}: reading the body: {e}"));
    Answer {
        status,
        headers,
        body,
    }
}

pub fn get(url: &str) -> Answer {
    request("GET", url, None, None)
}

/// `go`, or `None` with a note; under CI (`CI` set) a missing `go` fails.
pub fn go() -> Option<&'static str> {
    let ok = std::process::Command::new("go")
        .arg("version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if ok {
        return Some("go");
    }
    if std::env::var_os("CI").is_some() {
        panic!("`go` is not on PATH, and CI is set: the go tool pprof checks must run");
    }
    eprintln!("note: skipping the go tool pprof checks: `go` is not on PATH");
    None
}
