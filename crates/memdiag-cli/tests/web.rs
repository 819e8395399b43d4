//! `memdiag web`: the server announces its address, serves the page and a
//! JSON view that agrees with `memdiag top --json` for the same selection,
//! lists a function's source like `memdiag list`, and answers bad
//! parameters with 400 and one line.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use common::*;
use serde_json::Value;

const HEAP: &str = "testdata/profiles/heap.pb.gz";
const HEAP_BASE: &str = "testdata/profiles/heap_base.pb.gz";

/// A running `memdiag web`, killed (by its own handle) when dropped.
struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(args: &[&str]) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_memdiag"))
        .arg("web")
        .args(["--port", "0"])
        .args(args)
        .current_dir(repo_root())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start memdiag web");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("read the first line");
    // Built before the checks, so that a failed check still kills it.
    let mut server = Server {
        child,
        base: String::new(),
    };
    let port: u16 = line
        .strip_prefix("memdiag web: serving on http://127.0.0.1:")
        .and_then(|rest| rest.strip_suffix("/\n"))
        .and_then(|port| port.parse().ok())
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"));
    assert_ne!(port, 0);
    server.base = format!("http://127.0.0.1:{port}");
    server
}

impl Server {
    /// GET `path`: (status, body).
    fn get(&self, path: &str) -> (u16, String) {
        match ureq::get(&format!("{}{path}", self.base)).call() {
            Ok(r) => (r.status(), r.into_string().expect("body")),
            Err(ureq::Error::Status(code, r)) => (code, r.into_string().expect("body")),
            Err(e) => panic!("GET {path}: {e}"),
        }
    }

    fn view(&self, query: &str) -> Value {
        let (status, body) = self.get(&format!("/api/view?{query}"));
        assert_eq!(status, 200, "{query}: {body}");
        serde_json::from_str(&body).expect("the view is not JSON")
    }
}

#[test]
fn serves_the_page_and_a_view_that_matches_top() {
    let server = start(&[HEAP]);
    let (status, page) = server.get("/");
    assert_eq!(status, 200);
    for id in [
        "summary",
        "flame",
        "search",
        "top",
        "sample-index",
        "focus",
        "ignore",
        "source",
    ] {
        assert!(page.contains(&format!("id=\"{id}\"")), "no #{id}");
    }
    assert!(
        !page.contains("id=\"data\""),
        "the web page fetches its data"
    );

    for (query, args) in [
        ("", vec![]),
        (
            "sample_index=alloc_space",
            vec!["-sample_index=alloc_space"],
        ),
        ("focus=main%5C.phase1", vec!["-focus=main\\.phase1"]),
        (
            "ignore=buildCache&sample_index=inuse_objects",
            vec!["-ignore=buildCache", "-sample_index=inuse_objects"],
        ),
    ] {
        let view = server.view(query);
        let mut args = args.clone();
        args.push(HEAP);
        let expected = top_json(&args);
        assert!(!rows(&expected).is_empty());
        assert_eq!(rows(&view["top"]), rows(&expected), "{query}");
        assert_eq!(view["summary"]["total"], expected["total"], "{query}");
        assert_flame_adds_up(&view["flame"]);
        if !query.contains("focus") && !query.contains("ignore") {
            // Unfiltered, the tree holds every sample.
            assert_eq!(view["flame"]["value"][0], expected["total"], "{query}");
        }
        assert!(view["timeline"].is_null());
    }
}

#[test]
fn lists_a_function_like_memdiag_list() {
    let server = start(&[HEAP]);
    let (status, text) = server.get("/api/list?name=main.buildCache");
    assert_eq!(status, 200, "{text}");
    let o = memdiag(&["list", "^main\\.buildCache$", HEAP]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(text, stdout(&o));
    let (status, text) = server.get("/api/list?name=no.such.function");
    assert_eq!(status, 400);
    assert_eq!(text.lines().count(), 1, "{text}");
}

#[test]
fn bad_parameters_get_400_and_one_line() {
    let server = start(&[HEAP]);
    for query in [
        "sample_index=nonsense",
        "sample_index=99",
        "focus=(",
        "colour=red",
        "focus=%zz",
        "base=/etc/passwd",
    ] {
        let (status, body) = server.get(&format!("/api/view?{query}"));
        assert_eq!(status, 400, "{query}: {body}");
        assert_eq!(body.trim_end().lines().count(), 1, "{query}: {body}");
    }
    // Still serving after the failures.
    assert_eq!(server.view("")["top"]["total"], top_json(&[HEAP])["total"]);
}

#[test]
fn a_base_colours_the_flame_and_can_be_dropped() {
    let server = start(&["-diff_base", HEAP_BASE, HEAP]);
    let view = server.view("");
    let expected = top_json(&["-diff_base", HEAP_BASE, HEAP]);
    assert_eq!(rows(&view["top"]), rows(&expected));
    assert_eq!(view["controls"]["base"], HEAP_BASE);
    assert_eq!(view["controls"]["bases"][0], HEAP_BASE);
    let base = view["flame"]["base"].as_array().expect("no base column");
    assert_eq!(base[0], top_json(&[HEAP_BASE])["total"]);

    let plain = server.view("base=");
    assert!(plain["flame"]["base"].is_null());
    assert_eq!(rows(&plain["top"]), rows(&top_json(&[HEAP])));
}
