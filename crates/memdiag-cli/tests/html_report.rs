//! `memdiag report`: one self-contained HTML file whose embedded view agrees
//! with `memdiag top --json`, whose flame tree adds up, and which never
//! overwrites a file by surprise.

mod common;

use std::path::{Path, PathBuf};

use common::*;
use memdiag_profile::{Function, Line, Location, Profile};

const HEAP: &str = "testdata/profiles/heap.pb.gz";
const HEAP_BASE: &str = "testdata/profiles/heap_base.pb.gz";

/// A fresh directory for one test, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("memdiag-html-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    fn file(&self, name: &str) -> String {
        self.0.join(name).to_str().unwrap().to_string()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs `memdiag report ARGS -o OUT` and returns the page.
fn report(args: &[&str], out: &str) -> String {
    let mut all = vec!["report"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["-o", out]);
    let o = memdiag(&all);
    assert!(o.status.success(), "report {args:?}: {}", stderr(&o));
    std::fs::read_to_string(out).unwrap()
}

#[test]
fn the_report_is_one_self_contained_file() {
    let dir = TempDir::new("self-contained");
    let page = report(&[HEAP], &dir.file("r.html"));
    assert!(page.starts_with("<!DOCTYPE html>"));
    for external in [
        "src=\"http",
        "src='http",
        "<link",
        "<script src",
        "@import",
        "url(http",
    ] {
        assert!(!page.contains(external), "the page refers to {external}");
    }
    // Exactly two scripts: the data and the code.
    assert_eq!(page.matches("<script").count(), 2);
    assert_eq!(page.matches("</script>").count(), 2);
    for id in [
        "summary",
        "flame",
        "flame-reset",
        "search",
        "search-status",
        "top",
    ] {
        assert!(page.contains(&format!("id=\"{id}\"")), "no #{id}");
    }
    let files: Vec<_> = std::fs::read_dir(&dir.0).unwrap().collect();
    assert_eq!(files.len(), 1, "report left other files behind");
}

#[test]
fn the_embedded_top_is_memdiags_top() {
    let dir = TempDir::new("top");
    for select in [
        &[][..],
        &["-sample_index=alloc_space"],
        &["-focus=main.phase2"],
    ] {
        let mut args = select.to_vec();
        args.push(HEAP);
        let view = embedded(&report(&args, &dir.file("r.html")));
        let _ = std::fs::remove_file(dir.file("r.html"));
        let expected = top_json(&args);
        assert!(!rows(&expected).is_empty());
        assert_eq!(rows(&view["top"]), rows(&expected), "{select:?}");
        assert_eq!(view["top"]["total"], expected["total"], "{select:?}");
        assert_eq!(view["summary"]["sample_type"], expected["sample_type"]);
    }
}

#[test]
fn the_flame_root_is_the_total_and_no_child_exceeds_its_parent() {
    let dir = TempDir::new("flame");
    for select in ["-sample_index=inuse_space", "-sample_index=alloc_objects"] {
        let view = embedded(&report(&[select, HEAP], &dir.file("r.html")));
        let _ = std::fs::remove_file(dir.file("r.html"));
        let flame = &view["flame"];
        assert_flame_adds_up(flame);
        assert_eq!(flame["value"][0], view["summary"]["total"], "{select}");
        assert_eq!(flame["value"][0], top_json(&[select, HEAP])["total"]);
        assert!(flame["base"].is_null(), "a single profile has no base");
    }
}

#[test]
fn a_diff_base_gives_a_base_value_per_frame() {
    let dir = TempDir::new("diff");
    let args = ["-diff_base", HEAP_BASE, HEAP];
    let view = embedded(&report(&args, &dir.file("r.html")));
    assert_eq!(rows(&view["top"]), rows(&top_json(&args)));
    let flame = &view["flame"];
    let base = flame["base"].as_array().expect("no base column");
    assert_eq!(base.len(), flame["value"].as_array().unwrap().len());
    // The tree compares the two profiles, each whole.
    let total = |f: &str| top_json(&["-sample_index=inuse_space", f])["total"].clone();
    assert_eq!(flame["value"][0], total(HEAP));
    assert_eq!(flame["base"][0], total(HEAP_BASE));
    assert_eq!(view["summary"]["diff"], true);
}

#[test]
fn an_existing_output_is_kept_unless_forced() {
    let dir = TempDir::new("force");
    let out = dir.file("r.html");
    std::fs::write(&out, "keep me").unwrap();
    let o = memdiag(&["report", HEAP, "-o", &out]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains(&out) && stderr(&o).contains("--force"));
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "keep me");
    let o = memdiag(&["report", HEAP, "-o", &out, "--force"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(std::fs::read_to_string(&out).unwrap().contains(DATA_OPEN));
}

#[test]
fn bad_input_is_named_and_writes_nothing() {
    let dir = TempDir::new("bad");
    let out = dir.file("r.html");
    let o = memdiag(&["report", "/nonexistent/heap.pb.gz", "-o", &out]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.starts_with("memdiag: /nonexistent/heap.pb.gz: "),
        "{err}"
    );
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(!Path::new(&out).exists());
    let o = memdiag(&["report", "-sample_index=nonsense", HEAP, "-o", &out]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(!Path::new(&out).exists());
}

/// A profile of one stack `main.main → NAME` worth `bytes`, at `secs`.
fn one_site_profile(dir: &Path, file: &str, sites: &[(&str, i64)], secs: i64) -> String {
    let mut p = Profile::with_sample_types(&[("inuse_objects", "count"), ("inuse_space", "bytes")]);
    p.time_nanos = 1_764_000_000_000_000_000 + secs * 1_000_000_000;
    let location = |p: &mut Profile, name: &str| {
        let f = Function {
            name: p.strings.intern(name),
            ..Function::default()
        };
        p.functions.push(f);
        p.locations.push(Location {
            address: 0x1000 + p.locations.len() as u64,
            lines: vec![Line {
                function: Some(p.functions.len() as u32 - 1),
                line: 1,
                column: 0,
            }],
            ..Location::default()
        });
        p.locations.len() as u32 - 1
    };
    let main = location(&mut p, "main.main");
    for &(name, bytes) in sites {
        let leaf = location(&mut p, name);
        p.samples.push(&[leaf, main], &[bytes / 64, bytes], &[]);
    }
    let path = dir.join(file).to_str().unwrap().to_string();
    std::fs::write(&path, memdiag_profile::encode_gzip(&p)).unwrap();
    path
}

#[test]
fn frame_names_cannot_break_out_of_the_data_script() {
    let dir = TempDir::new("escape");
    let evil = "</script><script>alert(1)</script><!--";
    let input = one_site_profile(&dir.0, "evil.pb.gz", &[(evil, 4096)], 0);
    let page = report(&[&input], &dir.file("r.html"));
    assert_eq!(page.matches("</script>").count(), 2);
    let view = embedded(&page);
    assert!(view["flame"]["names"]
        .as_array()
        .unwrap()
        .iter()
        .any(|n| n == evil));
}

#[test]
fn a_recording_gets_a_timeline_and_its_last_snapshot() {
    let dir = TempDir::new("recording");
    let rec = dir.0.join("rec");
    std::fs::create_dir(&rec).unwrap();
    // 12 snapshots a minute apart: a steady leak and a site that never moves.
    let mut last = String::new();
    for i in 0..12i64 {
        last = one_site_profile(
            &rec,
            &format!("heap-{i:04}.pb.gz"),
            &[("main.leak", 1_000_000 * (i + 1)), ("main.init", 500_000)],
            60 * i,
        );
    }
    let view = embedded(&report(&[rec.to_str().unwrap()], &dir.file("r.html")));
    let t = &view["timeline"];
    assert_eq!(t["snapshots"], 12);
    assert_eq!(t["times_secs"].as_array().unwrap().len(), 12);
    let leak = t["sites"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "main.leak")
        .expect("the leaking site is not plotted");
    assert_eq!(leak["class"], "leak");
    let values: Vec<i64> = leak["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_i64().unwrap())
        .collect();
    assert_eq!(values.first(), Some(&1_000_000));
    assert_eq!(values.last(), Some(&12_000_000));
    let totals = t["total"].as_array().unwrap();
    assert_eq!(totals.last().unwrap().as_i64(), Some(12_500_000));
    // The flame graph and top table show the last snapshot.
    assert_eq!(rows(&view["top"]), rows(&top_json(&[&last])));
    assert_eq!(view["flame"]["value"][0].as_i64(), Some(12_500_000));
    let page = std::fs::read_to_string(dir.file("r.html")).unwrap();
    assert!(page.contains("id=\"timeline-box\""));
}
