//! Profiles fetched over HTTP from a real server (Python's http.server on
//! loopback) read exactly like the same files on disk.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use common::*;

/// A static file server over testdata/profiles on an ephemeral port.
struct Server {
    child: Child,
    port: u16,
}

impl Server {
    fn start() -> Option<Server> {
        let mut child = Command::new("python3")
            .args(["-u", "-m", "http.server", "0", "--bind", "127.0.0.1"])
            .current_dir(repo_root().join("testdata/profiles"))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| eprintln!("note: python3 unavailable ({e}); skipping"))
            .ok()?;
        let mut line = String::new();
        BufReader::new(child.stdout.take()?)
            .read_line(&mut line)
            .ok()?;
        // "Serving HTTP on 127.0.0.1 port 40123 (http://127.0.0.1:40123/) ..."
        let port = line
            .split(" port ")
            .nth(1)?
            .split(' ')
            .next()?
            .parse()
            .ok()?;
        Some(Server { child, port })
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}/{path}", self.port)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn url_and_file_give_the_same_report() {
    let Some(server) = Server::start() else {
        return;
    };
    for (name, report) in [
        ("heap.pb.gz", "top"),
        ("heap.pb.gz", "traces"),
        ("heap_rate4096.txt", "top"),
    ] {
        let file = format!("testdata/profiles/{name}");
        // `?seconds=` is passed through to the server untouched.
        let url = server.url(&format!("{name}?seconds=0"));
        let (from_file, from_url) = (memdiag(&[report, &file]), memdiag(&[report, &url]));
        assert!(from_url.status.success(), "{url}: {}", stderr(&from_url));
        assert_eq!(stdout(&from_file), stdout(&from_url), "{report} {name}");
    }
}

#[test]
fn http_error_status_is_reported() {
    let Some(server) = Server::start() else {
        return;
    };
    let url = server.url("no-such-profile.pb.gz");
    let out = memdiag(&["top", &url]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains(&url) && err.contains("HTTP 404"), "{err}");
}
