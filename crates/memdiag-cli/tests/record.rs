//! `memdiag record` end to end: a Go service with a slow leak
//! (testdata/go/leakserver) is recorded through net/http/pprof, and
//! `memdiag leaks` on the recording names the leaking Go function. Also:
//! Ctrl-C keeps every finished file, a non-empty directory is refused, and
//! an unreachable endpoint is retried and reported.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn temp_dir(name: &str) -> TempDir {
    let dir = std::env::temp_dir().join(format!("memdiag-record-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    TempDir(dir)
}

/// Kills the child when dropped (also when a test fails).
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Builds and starts the leak server; returns it and its base URL.
fn start_leakserver(go: &Path, tmp: &Path) -> (Server, String) {
    let bin = tmp.join("leakserver");
    let build = Command::new(go)
        .args(["build", "-o"])
        .arg(&bin)
        .arg(".")
        .current_dir(repo_root().join("testdata/go/leakserver"))
        .env("GOTOOLCHAIN", "local")
        .env("GOFLAGS", "-mod=mod")
        .output()
        .expect("run go build");
    assert!(build.status.success(), "go build: {}", stderr(&build));
    let mut child = Command::new(&bin)
        .args(["-addr", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("start leakserver");
    let stdout = child.stdout.take().unwrap();
    let server = Server(child);
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_string();
    (server, url)
}

/// The entries of DIR's index.tsv: (time_nanos, file, bytes).
fn index(dir: &Path) -> Vec<(i64, String, u64)> {
    let text = std::fs::read_to_string(dir.join("index.tsv")).unwrap_or_default();
    text.lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            assert_eq!(f.len(), 4, "index line {l:?}");
            (
                f[1].parse().unwrap(),
                f[2].to_string(),
                f[3].parse().unwrap(),
            )
        })
        .collect()
}

/// Every indexed file exists, has the size the index says, decodes, and
/// no temporary file is left.
fn check_recording(dir: &Path) -> usize {
    let entries = index(dir);
    for (time, file, bytes) in &entries {
        let data = std::fs::read(dir.join(file)).unwrap();
        assert_eq!(data.len() as u64, *bytes, "{file}");
        let p = memdiag_profile::decode(&data).unwrap();
        assert_eq!(p.time_nanos, *time, "{file}");
        assert!(
            file.starts_with("heap-") && file.ends_with(".pb.gz"),
            "{file}"
        );
    }
    let names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(!names.iter().any(|n| n.ends_with(".tmp")), "{names:?}");
    assert_eq!(names.len(), entries.len() + 1, "{names:?}");
    entries.len()
}

#[test]
fn records_a_go_service_and_finds_its_leak() {
    let Some(go) = go() else { return };
    let tmp = temp_dir("go");
    let (_server, base) = start_leakserver(&go, &tmp.0);
    // gc=1 makes Go's inuse figures current (its heap profile is as of the
    // last GC); the query is passed through as is.
    let url = format!("{base}/debug/pprof/heap?gc=1");
    let dir = tmp.0.join("snaps");
    let dir_s = dir.to_str().unwrap();

    let out = memdiag(&[
        "record", &url, "--every", "500ms", "--for", "5s", "--out", dir_s,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains("memdiag leaks"), "{}", stderr(&out));
    // Eleven ticks (0 s to 5 s); a tick is skipped only if a fetch overran.
    // Nine or more snapshots keep the leak significant among the ~150 sites
    // of a Go heap profile after Benjamini–Hochberg.
    let n = check_recording(&dir);
    assert!((9..=11).contains(&n), "{n} snapshots");

    let out = memdiag(&["leaks", "--json", dir_s]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let sites = v["sites"].as_array().unwrap();
    let class = |name: &str| {
        sites
            .iter()
            .find(|s| s["site"] == name)
            .map(|s| s["class"].as_str().unwrap().to_string())
    };
    assert_eq!(
        class("main.retainRequestLog").as_deref(),
        Some("leak"),
        "{v:#}"
    );
    assert_ne!(class("main.fillCache").as_deref(), Some("leak"), "{v:#}");
    assert_ne!(class("main.churn").as_deref(), Some("leak"), "{v:#}");

    // The directory is not empty now: refused without --append.
    let out = memdiag(&[
        "record", &url, "--every", "500ms", "--count", "1", "--out", dir_s,
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--append"), "{}", stderr(&out));
    // With --append, numbering and the index continue.
    let out = memdiag(&["record", &url, "--count", "1", "--out", dir_s, "--append"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(check_recording(&dir), n + 1);
    let last = index(&dir).last().unwrap().1.clone();
    assert!(last.starts_with(&format!("heap-{:04}-", n + 1)), "{last}");

    // Ctrl-C stops cleanly: exit 0 and every finished file kept.
    let dir2 = tmp.0.join("interrupted");
    let child = Command::new(env!("CARGO_BIN_EXE_memdiag"))
        .args([
            "record",
            &url,
            "--every",
            "200ms",
            "--out",
            dir2.to_str().unwrap(),
        ])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    while index(&dir2).len() < 3 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let kill = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains("interrupted"), "{}", stderr(&out));
    assert!(check_recording(&dir2) >= 3);
}

#[test]
fn failed_fetches_are_retried_and_reported() {
    let tmp = temp_dir("unreachable");
    let dir = tmp.0.join("snaps");
    // Port 9 (discard) on localhost: connection refused.
    let out = memdiag(&[
        "record",
        "http://127.0.0.1:9/debug/pprof/heap",
        "--every",
        "100ms",
        "--count",
        "1",
        "--for",
        "300ms",
        "--retries",
        "1",
        "--out",
        dir.to_str().unwrap(),
    ]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("attempt 1 of 2"), "{err}");
    assert!(err.contains("skipped"), "{err}");
    assert!(err.contains("no snapshot recorded"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn bad_arguments_are_rejected() {
    let out = memdiag(&["record", "/not/a/url", "--out", "/tmp/x"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("http(s)://"), "{}", stderr(&out));
    let out = memdiag(&["record", "http://h/", "--every", "ten", "--out", "/tmp/x"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("not a duration"), "{}", stderr(&out));
}
