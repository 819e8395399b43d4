//! End to end: memdiag's `http_server` example (allocating on two threads,
//! serving `/debug/pprof/`) read by the real `go tool pprof -top` and by
//! `memdiag top`, over its heap, allocs and profile URLs, with consistent
//! figures: identical reports of the same fetched bytes, and the same
//! figure for the example's steady live set when each tool fetches itself.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

/// The running example; killed (by its own handle) when dropped.
struct Example {
    child: Child,
    base: String,
}

impl Drop for Example {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Builds the example (a no-op when `cargo test` already did) and returns
/// its path, from cargo's own report of the artifact.
fn build_example() -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let out = Command::new(cargo)
        .args([
            "build",
            "-p",
            "memdiag",
            "--features",
            "http",
            "--example",
            "http_server",
            "--message-format=json",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stderr(Stdio::inherit())
        .output()
        .expect("run cargo build");
    assert!(out.status.success(), "cargo build of the example failed");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["target"]["name"] == "http_server")
        .find_map(|v| v["executable"].as_str().map(PathBuf::from))
        .expect("cargo reported no http_server executable")
}

fn start_example() -> Example {
    let mut child = Command::new(build_example())
        .arg("127.0.0.1:0")
        .env("MEMDIAG_EXAMPLE_LIMIT_MB", "32")
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the example");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    let _ = BufReader::new(stdout).read_line(&mut line);
    let base = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line from the example: {line:?}"))
        .to_string();
    Example { child, base }
}

fn go() -> Option<PathBuf> {
    let ok = Command::new("go")
        .arg("version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if ok {
        return Some(PathBuf::from("go"));
    }
    if std::env::var_os("CI").is_some() {
        panic!("`go` is not on PATH, and CI is set: the go tool pprof checks must run");
    }
    eprintln!("note: skipping: `go` is not on PATH");
    None
}

fn run(cmd: &mut Command) -> String {
    let out: Output = cmd.env("TZ", "UTC").output().expect("run");
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn go_top(go: &Path, tmp: &Path, args: &[&str]) -> String {
    run(Command::new(go)
        .args(["tool", "pprof", "-top"])
        .args(args)
        .env("PPROF_TMPDIR", tmp))
}

fn memdiag_top(args: &[&str]) -> String {
    run(Command::new(env!("CARGO_BIN_EXE_memdiag"))
        .arg("top")
        .args(args))
}

fn fetch(url: &str) -> Vec<u8> {
    let agent = ureq::AgentBuilder::new()
        .timeout_read(Duration::from_secs(120))
        .build();
    let resp = agent
        .get(url)
        .call()
        .unwrap_or_else(|e| panic!("{url}: {e}"));
    let mut body = Vec::new();
    resp.into_reader()
        .read_to_end(&mut body)
        .unwrap_or_else(|e| panic!("{url}: {e}"));
    body
}

fn from_showing(s: &str) -> &str {
    match s.find("Showing nodes") {
        Some(i) => &s[i..],
        None => panic!("no Showing line in:\n{s}"),
    }
}

/// The `flat` and `cum` columns of the line for a function ending in `name`.
fn figures(report: &str, name: &str) -> Option<(String, String)> {
    let line = report.lines().find(|l| l.trim_end().ends_with(name))?;
    let f: Vec<&str> = line.split_whitespace().collect();
    Some((f.first()?.to_string(), f.get(3)?.to_string()))
}

/// Both tools on the same fetched bytes: the same report, line for line.
fn same_report_of_bytes(go: &Path, tmp: &Path, url: &str, name: &str, flags: &[&str]) -> String {
    let file = tmp.join(name);
    std::fs::write(&file, fetch(url)).expect("write");
    let file = file.to_str().expect("utf-8 temp path");
    let args: Vec<&str> = flags.iter().copied().chain([file]).collect();
    let theirs = go_top(go, tmp, &args);
    let ours = memdiag_top(&args);
    assert_eq!(
        from_showing(&ours),
        from_showing(&theirs),
        "{url}: memdiag top and go tool pprof -top differ"
    );
    ours
}

#[test]
fn go_tool_pprof_and_memdiag_read_the_endpoint_alike() {
    let Some(go) = go() else { return };
    let ex = start_example();
    let tmp = std::env::temp_dir().join(format!("memdiag-http-endpoint-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).expect("temp dir");
    let heap = format!("{}heap", ex.base);

    // Wait (bounded) for the example's live set to stop growing: two
    // fetches in a row with the same retain_block figure.
    let mut last = None;
    let mut steady = None;
    for _ in 0..60 {
        std::thread::sleep(Duration::from_millis(500));
        let p = memdiag_profile::decode(&fetch(&heap)).expect("heap decodes");
        let o = memdiag_profile::report::Options {
            sample_index: p.default_sample_index(),
            unit: "B".to_string(),
            ..Default::default()
        };
        let top = memdiag_profile::report::top(&p, &o).to_text();
        let now = figures(&top, "retain_block").map(|f| f.1);
        if now.is_some() && now == last {
            steady = now;
            break;
        }
        last = now;
    }
    let steady = steady.expect("the example's live set did not settle");

    // heap: the same bytes read alike; each tool fetching on its own finds
    // the same steady live set of retain_block.
    let ours = same_report_of_bytes(&go, &tmp, &heap, "heap.pb.gz", &[]);
    assert!(ours.contains("Type: inuse_space"), "{ours}");
    let theirs = go_top(&go, &tmp, &["-unit=B", &heap]);
    let ours = memdiag_top(&["-unit=B", &heap]);
    assert_eq!(
        figures(&theirs, "retain_block").map(|f| f.1),
        Some(steady.clone()),
        "{theirs}"
    );
    assert_eq!(
        figures(&ours, "retain_block").map(|f| f.1),
        Some(steady.clone()),
        "{ours}"
    );

    // allocs: default sample type alloc_space, the churn is there.
    let allocs = format!("{}allocs", ex.base);
    let ours = same_report_of_bytes(&go, &tmp, &allocs, "allocs.pb.gz", &[]);
    assert!(ours.contains("Type: alloc_space"), "{ours}");
    assert!(ours.contains("churn"), "{ours}");
    let theirs = go_top(&go, &tmp, &[&allocs]);
    assert!(
        theirs.contains("Type: alloc_space") && theirs.contains("churn"),
        "{theirs}"
    );
    let ours = memdiag_top(&[&allocs]);
    assert!(
        ours.contains("Type: alloc_space") && ours.contains("churn"),
        "{ours}"
    );

    // heap?debug=1: go names the addresses through /debug/pprof/symbol;
    // memdiag through the text's frame lines; the same live set.
    let legacy = format!("{}heap?debug=1", ex.base);
    let flags = ["-sample_index=inuse_space", "-unit=B", &legacy];
    let theirs = go_top(&go, &tmp, &flags);
    let ours = memdiag_top(&flags);
    let (g, m) = (
        figures(&theirs, "retain_block"),
        figures(&ours, "retain_block"),
    );
    assert!(g.is_some(), "go:\n{theirs}");
    assert_eq!(
        g.map(|f| f.1),
        m.map(|f| f.1),
        "go:\n{theirs}\nmemdiag:\n{ours}"
    );
    // The legacy text holds sampled counts: unsampled again, the live set
    // comes back within 0.1 % of the protobuf figure (to the unit for the
    // records of one object size).
    let bytes = |s: &str| s.trim_end_matches('B').parse::<f64>().unwrap_or(f64::NAN);
    let (legacy_live, proto_live) = (
        bytes(
            &figures(&ours, "retain_block")
                .map(|f| f.1)
                .unwrap_or_default(),
        ),
        bytes(&steady),
    );
    assert!(
        ((legacy_live - proto_live) / proto_live).abs() < 1e-3,
        "legacy {legacy_live} vs protobuf {proto_live}"
    );

    // profile: a 2-second CPU profile each (one at a time), and the same
    // bytes read alike.
    let cpu = format!("{}profile?seconds=2", ex.base);
    let theirs = go_top(&go, &tmp, &[&cpu]);
    assert!(
        theirs.contains("Type: cpu") && theirs.contains("churn"),
        "{theirs}"
    );
    let ours = memdiag_top(&[&cpu]);
    assert!(
        ours.contains("Type: cpu") && ours.contains("churn"),
        "{ours}"
    );
    same_report_of_bytes(&go, &tmp, &cpu, "cpu.pb.gz", &[]);

    // A delta heap profile over 1 second.
    let delta = format!("{}allocs?seconds=1", ex.base);
    let ours = same_report_of_bytes(&go, &tmp, &delta, "delta.pb.gz", &[]);
    assert!(ours.contains("Type: alloc_space"), "{ours}");

    let _ = std::fs::remove_dir_all(&tmp);
}
