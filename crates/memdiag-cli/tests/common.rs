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
