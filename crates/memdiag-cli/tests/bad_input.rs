//! Bad input gets one clear line naming the input and the cause, exit code 2.

mod common;

use std::io::Write;

use common::*;

fn temp_file(name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("memdiag-bad-input-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::File::create(&path)
        .unwrap()
        .write_all(bytes)
        .unwrap();
    path
}

/// Runs `memdiag top INPUT` and checks: exit 2, stderr one line naming
/// `input`, containing every word of `cause_words`.
fn assert_rejected(input: &str, cause_words: &[&str]) {
    let out = memdiag(&["top", input]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{input}: stderr {err}");
    assert!(out.stdout.is_empty(), "{input}: printed a report");
    assert_eq!(err.trim_end().lines().count(), 1, "{input}: {err}");
    assert!(
        err.contains(input),
        "{input}: error does not name the input: {err}"
    );
    for w in cause_words {
        assert!(err.contains(w), "{input}: error lacks {w:?}: {err}");
    }
}

#[test]
fn empty_file() {
    let p = temp_file("empty.pb.gz", b"");
    assert_rejected(p.to_str().unwrap(), &["empty"]);
}

#[test]
fn directory() {
    let dir = std::env::temp_dir();
    assert_rejected(dir.to_str().unwrap(), &["directory"]);
}

#[test]
fn missing_file() {
    assert_rejected("/nonexistent/heap.pb.gz", &["No such file"]);
}

#[test]
fn garbage_bytes() {
    let p = temp_file("garbage.bin", &[0xff, 0x00, 0x13, 0x37, 0xfe, 0x80, 0x80]);
    assert_rejected(p.to_str().unwrap(), &["not a pprof profile"]);
}

#[test]
fn text_that_is_not_a_profile() {
    let p = temp_file("notes.txt", b"hello, this is not a profile\n");
    assert_rejected(p.to_str().unwrap(), &["unrecognized format"]);
}

#[test]
fn truncated_gzip() {
    let good = std::fs::read(repo_root().join("testdata/profiles/heap.pb.gz")).unwrap();
    let p = temp_file("truncated.pb.gz", &good[..good.len() / 2]);
    assert_rejected(p.to_str().unwrap(), &["gzip"]);
}

#[test]
fn unreachable_url() {
    // Port 1 on loopback: nothing listens there.
    assert_rejected("http://127.0.0.1:1/debug/pprof/heap", &["fetch failed"]);
}

#[test]
fn unknown_sample_index() {
    let out = memdiag(&["top", "-sample_index=nope", "testdata/profiles/heap.pb.gz"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("inuse_space"), "{}", stderr(&out));
}

#[test]
fn bad_regex() {
    let out = memdiag(&["top", "-focus=(", "testdata/profiles/heap.pb.gz"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

#[test]
fn usage_error() {
    let out = memdiag(&["top"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn merge_refuses_to_overwrite() {
    let existing = temp_file("existing.pb.gz", b"keep me");
    let out = memdiag(&[
        "merge",
        "-o",
        existing.to_str().unwrap(),
        "testdata/profiles/heap.pb.gz",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--force"), "{}", stderr(&out));
    assert_eq!(std::fs::read(&existing).unwrap(), b"keep me");
}
