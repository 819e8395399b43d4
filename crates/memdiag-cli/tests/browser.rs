//! The HTML report (`memdiag report`) and the live web UI (`memdiag web`) in
//! a real browser: headless Debian Chromium driven by playwright-core runs
//! tests/browser/check.mjs, which clicks, zooms, searches and (on the web)
//! changes the controls, and prints what it saw as JSON. The figures are
//! checked here against `memdiag top --json` on the same profile.
//!
//! Needs `node`, /usr/bin/chromium and tests/browser/node_modules; the test
//! fails, saying how to install them, when one is missing (`bash .ci/run`
//! installs them). Screenshots: target/tmp/browser/{report,web}/*.png.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use common::*;
use serde_json::Value;

const FIXTURE: &str = "testdata/profiles/heap.pb.gz";
const CHROMIUM: &str = "/usr/bin/chromium";
const INSTALL: &str = "`bash .ci/run` installs them; by hand: \
    `apt-get install -y chromium` (and Node.js 20+ with npm), then \
    `npm ci --no-audit --no-fund` in crates/memdiag-cli/tests/browser";

fn browser_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser")
}

/// Panics, with how to install them, unless node, Chromium and
/// playwright-core are all there: a missing browser must not pass.
fn require_tools() {
    let mut missing = Vec::new();
    // playwright-core wants Node 20 or later ("v20.20.2").
    let node = Command::new("node").arg("--version").output();
    let major = node.ok().filter(|o| o.status.success()).and_then(|o| {
        let v = stdout(&o);
        v.trim()
            .trim_start_matches('v')
            .split('.')
            .next()?
            .parse::<u32>()
            .ok()
    });
    if major.is_none_or(|m| m < 20) {
        let found = major.map_or("none".to_string(), |m| format!("v{m}"));
        missing.push(format!("`node` 20 or later on PATH (found: {found})"));
    }
    if !Path::new(CHROMIUM).is_file() {
        missing.push(CHROMIUM.to_string());
    }
    let playwright = browser_dir().join("node_modules/playwright-core/package.json");
    if !playwright.is_file() {
        missing.push(playwright.display().to_string());
    }
    assert!(
        missing.is_empty(),
        "the browser test needs {}: {INSTALL}",
        missing.join(", ")
    );
}

/// A fresh directory under target/tmp/browser/ (kept: the screenshots).
fn out_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("browser")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `file://` URL of an absolute path, bytes outside [A-Za-z0-9/._~-] escaped.
fn file_url(path: &Path) -> String {
    let mut url = String::from("file://");
    for b in path.to_str().expect("UTF-8 path").bytes() {
        if b.is_ascii_alphanumeric() || b"/._~-".contains(&b) {
            url.push(b as char);
        } else {
            url.push_str(&format!("%{b:02X}"));
        }
    }
    url
}

/// Runs check.mjs on `url`; its JSON once it exited 0.
fn check_page(url: &str, out: &Path, web: bool) -> Value {
    let mut cmd = Command::new("node");
    cmd.arg(browser_dir().join("check.mjs"))
        .arg(url)
        .arg(out)
        .current_dir(browser_dir());
    if web {
        cmd.arg("--web");
    }
    let o = cmd.output().expect("run node check.mjs");
    let (stdout, stderr) = (stdout(&o), stderr(&o));
    assert!(
        o.status.success(),
        "check.mjs {url} failed ({}):\n{stderr}\n{stdout}",
        o.status
    );
    std::fs::write(out.join("check.json"), &stdout).unwrap();
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("check.mjs output: {e}\n{stdout}"))
}

type Row = (String, i64, i64);

fn rows(v: &Value) -> Vec<Row> {
    v.as_array()
        .unwrap_or_else(|| panic!("rows: {v}"))
        .iter()
        .map(|r| {
            (
                r["name"].as_str().expect("row name").to_string(),
                r["flat"].as_i64().expect("row flat"),
                r["cum"].as_i64().expect("row cum"),
            )
        })
        .collect()
}

/// `memdiag top --json ARGS FIXTURE`: (total, rows).
fn top(args: &[&str]) -> (i64, Vec<Row>) {
    let mut all = vec!["top", "--json"];
    all.extend_from_slice(args);
    all.push(FIXTURE);
    let o = memdiag(&all);
    assert!(o.status.success(), "memdiag {all:?}: {}", stderr(&o));
    let v: Value = serde_json::from_str(&stdout(&o)).expect("top --json");
    (v["total"].as_i64().expect("total"), rows(&v["rows"]))
}

/// Every row `top` shows is in the page's table, with the same flat and cum
/// (the table may list more: `top` drops nodes under 0.5% of the total).
fn assert_rows_shown(page: &[Row], top: &[Row], what: &str) {
    assert!(!top.is_empty(), "{what}: `memdiag top` shows no row");
    let mut left = page.to_vec();
    let mut missing = Vec::new();
    for row in top {
        match left.iter().position(|r| r == row) {
            Some(i) => {
                left.remove(i);
            }
            None => missing.push(row),
        }
    }
    assert!(
        missing.is_empty(),
        "{what}: rows of `memdiag top` not in the page's #top table: {missing:?}\npage: {page:?}"
    );
}

fn num(v: &Value, what: &str) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("{what}: {v}"))
}

/// The zoom record of check.mjs: the clicked frame now spans #flame.
fn assert_zoomed(z: &Value, what: &str) {
    let after = num(&z["width_after"], "width_after");
    let flame = num(&z["flame_width"], "flame_width");
    assert!(
        (after - flame).abs() <= 2.0,
        "{what}: a click on {} made it {after} px wide (was {}), #flame is {flame} px",
        z["name"],
        z["width_before"]
    );
    assert_eq!(z["reset"]["same_as_before"], true, "{what}: #flame-reset");
}

/// What both pages must show: the flame graph zooms and searches, the top
/// table is `memdiag top`'s, the console stays clean.
fn assert_page(v: &Value, what: &str) {
    let frames = v["frames"].as_u64().expect("frames");
    assert!(frames > 1, "{what}: {frames} frames in #flame");
    let (total, top_rows) = top(&[]);
    assert_eq!(
        v["root"]["value"].as_i64(),
        Some(total),
        "{what}: the root frame's value is not `memdiag top`'s total"
    );
    assert_rows_shown(&rows(&v["top_rows"]), &top_rows, what);

    assert_zoomed(&v["zoom"], &format!("{what}: widest frame"));
    // The widest frame under the root is nearly as wide as it: the zoom on a
    // frame under 60% of the width shows more.
    let narrow = &v["zoom_narrow"];
    assert!(narrow.is_object(), "{what}: no frame under 60% of #flame");
    assert!(
        num(&narrow["width_before"], "width_before")
            < 0.6 * num(&narrow["flame_width"], "flame_width")
    );
    assert_zoomed(narrow, &format!("{what}: narrower frame"));

    let search = &v["search"];
    assert!(
        search["matches"].as_u64().unwrap_or(0) >= 1,
        "{what}: #search {} matched no frame: {search}",
        search["term"]
    );
    assert!(
        search["status"]
            .as_str()
            .is_some_and(|s| s.contains("frames")),
        "{what}: #search-status {}",
        search["status"]
    );
    for key in [
        "console_errors",
        "page_errors",
        "failed_requests",
        "foreign_requests",
    ] {
        assert_eq!(v[key], Value::Array(vec![]), "{what}: {key}");
    }
    for png in ["before.png", "zoomed.png", "search.png"] {
        let file = Path::new(v["screenshots"]["before"].as_str().unwrap()).with_file_name(png);
        assert!(file.is_file(), "{what}: no screenshot {}", file.display());
    }
}

#[test]
fn report_page_in_chromium() {
    require_tools();
    let out = out_dir("report");
    let html = out.join("report.html");
    let o = memdiag(&["report", FIXTURE, "-o", html.to_str().unwrap()]);
    assert!(o.status.success(), "memdiag report: {}", stderr(&o));
    let v = check_page(&file_url(&html), &out, false);
    assert_page(&v, "report");
    assert_eq!(v["web_controls"], 0, "report: web-only controls are shown");
}

/// `memdiag web`, killed when dropped (a failed assertion included).
struct WebServer(Child);

impl Drop for WebServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl WebServer {
    /// Starts it on a free port; the URL of its first stdout line.
    fn start(out: &Path) -> (WebServer, String) {
        let log = std::fs::File::create(out.join("server-stderr.log")).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_memdiag"))
            .args(["web", FIXTURE, "--port", "0"])
            .current_dir(repo_root())
            .env("TZ", "UTC")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .expect("start memdiag web");
        let mut server = WebServer(child);
        let stdout = server.0.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        // Reads the first line, then drains stdout so the server never blocks.
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            let _ = tx.send(lines.next());
            lines.for_each(drop);
        });
        let line = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(Some(Ok(line))) => line,
            other => panic!(
                "memdiag web printed no first line ({other:?}); stderr: {}",
                std::fs::read_to_string(out.join("server-stderr.log")).unwrap_or_default()
            ),
        };
        let url = line
            .strip_prefix("memdiag web: serving on ")
            .filter(|u| u.starts_with("http://127.0.0.1:") && u.ends_with('/'))
            .unwrap_or_else(|| panic!("memdiag web's first line: {line:?}"))
            .to_string();
        (server, url)
    }
}

#[test]
fn web_ui_in_chromium() {
    require_tools();
    let out = out_dir("web");
    let (server, url) = WebServer::start(&out);
    let v = check_page(&url, &out, true);
    drop(server);
    assert_page(&v, "web");

    // Another sample type: the table is `top -sample_index` of it.
    let si = &v["sample_index"];
    assert_eq!(si["changed"], true, "web: #sample-index: {si}");
    let to = si["to"].as_str().expect("sample_index.to");
    let (_, want) = top(&["--sample_index", to]);
    assert_rows_shown(
        &rows(&si["rows"]),
        &want,
        &format!("web: sample_index {to}"),
    );
    assert_eq!(
        si["back"], true,
        "web: #sample-index back to {}",
        si["from"]
    );

    // Focus: only the stacks through the function, whose cum is the root.
    let focus = &v["focus"];
    let name = focus["name"].as_str().expect("focus.name");
    let regex = focus["regex"].as_str().expect("focus.regex");
    assert_eq!(focus["frames_off_focus"], 0, "web: #focus {regex}: {focus}");
    let (total, all) = top(&[]);
    let cum = |rows: &[Row]| {
        rows.iter()
            .find(|r| r.0 == name)
            .unwrap_or_else(|| panic!("{name} not in `memdiag top`"))
            .2
    };
    let (_, focused) = top(&["--focus", regex]);
    assert_eq!(
        focus["root_after"].as_i64(),
        Some(cum(&focused)),
        "web: #focus {regex}: root value vs the cum of {name}"
    );
    assert!(cum(&focused) < total);
    assert_rows_shown(
        &rows(&focus["rows"]),
        &focused,
        &format!("web: focus {regex}"),
    );

    // Ignore: the samples through it are gone.
    let ignore = &v["ignore"];
    assert_eq!(
        ignore["matching_frames"], 0,
        "web: #ignore {regex}: {ignore}"
    );
    let (_, ignored) = top(&["--ignore", regex]);
    assert_eq!(
        ignore["root_after"].as_i64(),
        Some(total - cum(&all)),
        "web: #ignore {regex}: root value vs total - cum of {name}"
    );
    assert_rows_shown(
        &rows(&ignore["rows"]),
        &ignored,
        &format!("web: ignore {regex}"),
    );

    // A click on a frame lists its source.
    let source = &v["source"];
    let clicked = source["clicked"].as_str().unwrap();
    assert!(
        source["text_head"]
            .as_str()
            .is_some_and(|t| t.contains(clicked)),
        "web: #source after a click on {clicked}: {source}"
    );
}
