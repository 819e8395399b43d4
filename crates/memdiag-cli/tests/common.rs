//! Helpers shared by the end-to-end tests of the `memdiag` binary.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("repo root")
        .to_path_buf()
}

/// Runs the memdiag binary from the repo root with TZ=UTC.
pub fn memdiag(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_memdiag"))
        .args(args)
        .current_dir(repo_root())
        .env("TZ", "UTC")
        .output()
        .expect("run memdiag")
}

/// `go` on PATH, or None with a note printed (interop tests then skip).
pub fn go() -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("go"))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        eprintln!("note: `go` is not installed; skipping the live go tool pprof comparison");
    }
    found
}

/// Runs `go tool pprof ARGS` from the repo root with TZ=UTC.
pub fn go_pprof(go: &Path, args: &[&str]) -> Output {
    Command::new(go)
        .args(["tool", "pprof"])
        .args(args)
        .current_dir(repo_root())
        .env("TZ", "UTC")
        .env("PPROF_TMPDIR", std::env::temp_dir())
        .output()
        .expect("run go tool pprof")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Translates `go tool pprof` arguments (`-top -sample_index=x FILE`) into
/// memdiag's (`top -sample_index=x FILE`): the report flag becomes the command.
pub fn translate(go_args: &[String]) -> Vec<String> {
    let reports = ["top", "traces", "tree", "raw", "peek", "list", "tags"];
    let mut command = None;
    let mut regex = None;
    let mut rest = Vec::new();
    let mut i = 0;
    while i < go_args.len() {
        let a = &go_args[i];
        let name = a.trim_start_matches('-');
        let (key, value) = match name.split_once('=') {
            Some((k, v)) => (k, Some(v.to_string())),
            None => (name, None),
        };
        if a.starts_with('-') && reports.contains(&key) {
            command = Some(key.to_string());
            if key == "peek" || key == "list" {
                regex = value.or_else(|| {
                    i += 1;
                    go_args.get(i).cloned()
                });
            }
        } else {
            rest.push(a.clone());
        }
        i += 1;
    }
    let mut out = vec![command.expect("a report flag such as -top")];
    out.extend(regex);
    out.extend(rest);
    out
}

/// (name, flat, cum) of each row of a top report.
pub fn rows(top: &serde_json::Value) -> Vec<(String, i64, i64)> {
    top["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| {
            (
                r["name"].as_str().unwrap().to_string(),
                r["flat"].as_i64().unwrap(),
                r["cum"].as_i64().unwrap(),
            )
        })
        .collect()
}

pub fn top_json(args: &[&str]) -> serde_json::Value {
    let mut all = vec!["top", "--json"];
    all.extend_from_slice(args);
    let o = memdiag(&all);
    assert!(o.status.success(), "top {args:?}: {}", stderr(&o));
    serde_json::from_str(&stdout(&o)).unwrap()
}

/// Checks a view's flame tree (the columns `report` and `web` send)'s shape: pre-order from one root, no child worth
/// more than its parent (a tree without base: values are non-negative).
pub fn assert_flame_adds_up(flame: &serde_json::Value) {
    let col = |k: &str| -> Vec<i64> {
        flame[k]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_i64().unwrap())
            .collect()
    };
    let (depth, value, name) = (col("depth"), col("value"), col("name"));
    let names = flame["names"].as_array().unwrap().len() as i64;
    assert!(value.len() > 1, "the flame tree is empty");
    assert_eq!((depth.len(), name.len()), (value.len(), value.len()));
    assert_eq!(depth[0], 0);
    let mut stack: Vec<usize> = Vec::new();
    for i in 0..value.len() {
        assert!(name[i] >= 0 && name[i] < names, "node {i}: bad name index");
        let d = depth[i] as usize;
        assert!(
            i == 0 || (1..=stack.len()).contains(&d),
            "node {i}: depth {d}"
        );
        stack.truncate(d);
        if let Some(&parent) = stack.last() {
            assert!(
                value[i] <= value[parent],
                "node {i} ({}) is worth more than its parent ({} > {})",
                flame["names"][name[i] as usize],
                value[i],
                value[parent]
            );
        }
        stack.push(i);
    }
}

/// Opens the data script of a page from `report` (or `web`).
pub const DATA_OPEN: &str = "<script id=\"data\" type=\"application/json\">";

/// The view embedded in a page.
pub fn embedded(page: &str) -> serde_json::Value {
    let start = page.find(DATA_OPEN).expect("no data script") + DATA_OPEN.len();
    let len = page[start..]
        .find("</script>")
        .expect("data script not closed");
    serde_json::from_str(&page[start..start + len]).expect("data is not JSON")
}
