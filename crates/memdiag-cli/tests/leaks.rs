//! `memdiag leaks` on series of synthetic heap profiles written by the test:
//! the leak is named, the cache and the churn are not, exit codes follow
//! grep (1 leak found, 0 none, 2 bad input).

mod common;

use std::path::{Path, PathBuf};

use common::*;
use memdiag_profile::{Function, Line, Location, Mapping, Profile};

const START_NANOS: i64 = 1_764_000_000_000_000_000;

/// A fresh directory for one test, removed when dropped.
struct TempDir(PathBuf);

impl std::ops::Deref for TempDir {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn temp_dir(name: &str) -> TempDir {
    let dir = std::env::temp_dir().join(format!("memdiag-leaks-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    TempDir(dir)
}

/// A Go-style heap profile at `secs`: each site is a function called from
/// `main.main` (frames leaf first separated by `;` for a deeper stack),
/// with (inuse bytes, cumulative allocated bytes).
fn heap(secs: f64, sites: &[(&str, i64, i64)], binary: &str) -> Profile {
    let mut p = Profile::with_sample_types(&[
        ("alloc_objects", "count"),
        ("alloc_space", "bytes"),
        ("inuse_objects", "count"),
        ("inuse_space", "bytes"),
    ]);
    p.time_nanos = START_NANOS + (secs * 1e9) as i64;
    p.period = 512 * 1024;
    let m = Mapping {
        filename: p.strings.intern(binary),
        build_id: p.strings.intern("0123abcd"),
        has_functions: true,
        ..Mapping::default()
    };
    p.mappings.push(m);
    let location = |p: &mut Profile, name: &str| {
        let f = Function {
            name: p.strings.intern(name),
            filename: p.strings.intern("/src/app/main.go"),
            ..Function::default()
        };
        p.functions.push(f);
        p.locations.push(Location {
            mapping: Some(0),
            address: 0x40_0000 + 16 * p.locations.len() as u64,
            lines: vec![Line {
                function: Some(p.functions.len() as u32 - 1),
                line: 42,
                column: 0,
            }],
            ..Location::default()
        });
        p.locations.len() as u32 - 1
    };
    let main = location(&mut p, "main.main");
    for &(name, inuse, alloc) in sites {
        let mut stack: Vec<u32> = name.split(';').map(|f| location(&mut p, f)).collect();
        stack.push(main);
        p.samples
            .push(&stack, &[alloc / 64, alloc, inuse / 64, inuse], &[]);
    }
    p
}

fn write(dir: &Path, name: &str, p: &Profile) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, memdiag_profile::encode_gzip(p)).unwrap();
    path
}

/// Deterministic noise in [0, 1).
fn noise(i: u64) -> f64 {
    let mut x = i.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0xdead_beef;
    x ^= x >> 31;
    x = x.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x ^= x >> 29;
    (x >> 11) as f64 / (1u64 << 53) as f64
}

/// 24 snapshots 10 s apart. `main.leakyLog` keeps 4 KiB/s (if `leak`);
/// `main.loadCache` fills 3 MiB over the first 60 s and stays full;
/// `main.handle` churns 1 MiB/s, holding 100–300 KiB at any time;
/// `main.init` never changes.
fn series(dir: &Path, leak: bool) -> Vec<PathBuf> {
    (0..24)
        .map(|i| {
            let t = 10.0 * i as f64;
            let cache = (3 << 20) * i.min(6) / 6;
            let churn = 100_000 + (200_000.0 * noise(i as u64)) as i64;
            let mut sites = vec![
                ("main.loadCache", cache, cache),
                ("main.handle", churn, (1 << 20) * 10 * i + churn),
                ("main.init", 65_536, 65_536),
            ];
            if leak {
                let kept = 4096 * 10 * i;
                sites.push(("main.leakyLog", kept, kept));
            }
            write(
                dir,
                &format!("heap-{i:04}.pb.gz"),
                &heap(t, &sites, "/usr/bin/app"),
            )
        })
        .collect()
}

fn row<'a>(text: &'a str, site: &str) -> &'a str {
    text.lines()
        .find(|l| l.ends_with(&format!(" {site}")))
        .unwrap_or_else(|| panic!("no row for {site} in:\n{text}"))
}

#[test]
fn leak_is_named_and_cache_is_not() {
    let dir = temp_dir("leak");
    series(&dir, true);
    let out = memdiag(&["leaks", dir.to_str().unwrap()]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}{}", stderr(&out));
    // 4 KiB/s = 240 KiB/min, retained entirely.
    let leak = row(&text, "main.leakyLog");
    assert!(leak.contains("leak"), "{leak}");
    assert!(leak.contains("+240kB/min"), "{leak}");
    assert!(leak.contains("100.0%"), "{leak}");
    assert!(row(&text, "main.loadCache").contains("plateau"), "{text}");
    assert!(row(&text, "main.handle").contains("churn"), "{text}");
    assert!(!text.contains("main.init"), "{text}");
    let stacks = text.split("Leaking stacks").nth(1).expect("stacks section");
    assert!(stacks.contains("main.leakyLog") && stacks.contains("main.main"));
    assert!(!stacks.contains("main.loadCache"), "{stacks}");
    assert!(
        text.starts_with("24 snapshots over 3m50s, inuse_space by function"),
        "{text}"
    );
}

#[test]
fn json_lists_every_changing_site_with_its_class() {
    let dir = temp_dir("json");
    series(&dir, true);
    let out = memdiag(&["leaks", "--json", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let class = |site: &str| {
        v["sites"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["site"] == site)
            .map(|s| s["class"].as_str().unwrap().to_string())
    };
    assert_eq!(class("main.leakyLog").as_deref(), Some("leak"));
    assert_eq!(class("main.loadCache").as_deref(), Some("plateau"));
    assert_eq!(class("main.init"), None);
    assert_eq!(v["counts"]["leak"], 1);
    assert_eq!(v["snapshots"], 24);
    assert_eq!(v["files"].as_array().unwrap().len(), 24);
    let leak = &v["sites"][0];
    assert_eq!(
        leak["stack"],
        serde_json::json!(["main.leakyLog", "main.main"])
    );
    assert_eq!(leak["first_seen_secs"], 10.0);
}

#[test]
fn container_growth_is_shown_with_its_leak() {
    // main.leakyLog appends its 4 KiB records to a slice whose buffer
    // doubles (runtime.growslice, 24 B per record), for the last time at
    // 1024 records, before the last third: a plateau by itself, but it
    // grows for the leak, so it is listed with it.
    let dir = temp_dir("container");
    for i in 0..24i64 {
        let kept = 4096 * 10 * i;
        let cap = 24 * (10 * i as u64).max(1).next_power_of_two() as i64;
        let sites = [
            ("main.leakyLog", kept, kept),
            ("runtime.growslice;main.leakyLog", cap, 2 * cap),
        ];
        let p = heap(10.0 * i as f64, &sites, "/usr/bin/app");
        write(&dir, &format!("heap-{i:04}.pb.gz"), &p);
    }
    let out = memdiag(&["leaks", dir.to_str().unwrap()]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}{}", stderr(&out));
    assert!(text.contains("Sites: 2 leak, 0 plateau"), "{text}");
    // The callers are the same, so the rows name the frame allocated by.
    let leak = row(&text, "main.leakyLog");
    assert!(leak.starts_with("1  leak "), "{text}");
    let grow = row(&text, "main.leakyLog → runtime.growslice");
    assert!(grow.starts_with("2  leak (grows with #1) "), "{text}");
    assert!(
        text.contains(", grows with #1\n    runtime.growslice"),
        "{text}"
    );
    let out = memdiag(&["leaks", "--json", dir.to_str().unwrap()]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["sites"][0]["joins"], serde_json::Value::Null);
    assert_eq!(v["sites"][1]["joins"], 1);
    assert_eq!(v["sites"][1]["stack"][0], "runtime.growslice");
    // The report's timeline names the leak the container grows with.
    let page = dir.join("report.html");
    let out = memdiag(&[
        "report",
        dir.to_str().unwrap(),
        "-o",
        page.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let view = embedded(&std::fs::read_to_string(page).unwrap());
    let sites = view["timeline"]["sites"].as_array().unwrap();
    assert_eq!(sites[0]["name"], "main.leakyLog");
    assert_eq!(sites[0]["grows_with"], serde_json::Value::Null);
    assert_eq!(sites[1]["name"], "main.leakyLog → runtime.growslice");
    assert_eq!(sites[1]["grows_with"], "main.leakyLog");
}

#[test]
fn no_leak_exits_zero() {
    let dir = temp_dir("noleak");
    series(&dir, false);
    let out = memdiag(&["leaks", dir.to_str().unwrap()]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}{}", stderr(&out));
    assert!(text.contains("Sites: 0 leak, 1 plateau"), "{text}");
    assert!(!text.contains("Leaking stacks"), "{text}");
}

#[test]
fn files_out_of_time_order_are_sorted_with_a_warning() {
    let dir = temp_dir("order");
    let mut files = series(&dir, true);
    files.swap(3, 7);
    let args: Vec<&str> = std::iter::once("leaks")
        .chain(files.iter().map(|f| f.to_str().unwrap()))
        .collect();
    let out = memdiag(&args);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("ordered by time_nanos"), "{err}");
    assert!(row(&stdout(&out), "main.leakyLog").contains("+240kB/min"));
}

#[test]
fn few_snapshots_give_a_weak_verdict() {
    let dir = temp_dir("weak");
    for i in 0..3 {
        let kept = 100_000 * i;
        write(
            &dir,
            &format!("h{i}.pb.gz"),
            &heap(i as f64, &[("main.grow", kept, kept)], "/bin/a"),
        );
    }
    let out = memdiag(&["leaks", dir.to_str().unwrap()]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("Verdict is weak: only 3 snapshots"), "{text}");
    assert!(row(&text, "main.grow").contains("leak?"), "{text}");
}

/// Exit 2, nothing on stdout, and stderr holding every one of `words`.
fn assert_rejected(args: &[&str], words: &[&str]) {
    let out = memdiag(args);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
    assert!(out.stdout.is_empty(), "{args:?}: printed {}", stdout(&out));
    assert!(!err.contains("panicked"), "{err}");
    for w in words {
        assert!(err.contains(w), "{args:?}: error lacks {w:?}: {err}");
    }
}

#[test]
fn a_single_snapshot_is_rejected() {
    let dir = temp_dir("single");
    let f = write(&dir, "one.pb.gz", &heap(0.0, &[("main.f", 1, 1)], "/bin/a"));
    assert_rejected(
        &["leaks", f.to_str().unwrap()],
        &["one.pb.gz", "only one snapshot"],
    );
}

#[test]
fn a_file_that_is_not_a_profile_is_named() {
    let dir = temp_dir("notprofile");
    series(&dir, true);
    std::fs::write(dir.join("notes.txt"), "these are my notes\n").unwrap();
    assert_rejected(
        &["leaks", dir.to_str().unwrap()],
        &["notes.txt", "not a usable heap profile"],
    );
}

#[test]
fn mixed_profile_types_are_rejected() {
    let dir = temp_dir("mixed");
    let files = series(&dir, true);
    let mut cpu = Profile::with_sample_types(&[("samples", "count"), ("cpu", "nanoseconds")]);
    cpu.time_nanos = START_NANOS + 5;
    let cpu_file = write(&dir, "cpu.pb.gz", &cpu);
    assert_rejected(
        &[
            "leaks",
            files[0].to_str().unwrap(),
            cpu_file.to_str().unwrap(),
        ],
        &["cpu.pb.gz", "sample types", "cpu/nanoseconds"],
    );
}

#[test]
fn snapshots_of_another_program_are_warned_about() {
    let dir = temp_dir("program");
    let a = write(&dir, "a.pb.gz", &heap(0.0, &[("main.f", 10, 10)], "/bin/a"));
    let b = write(
        &dir,
        "b.pb.gz",
        &heap(10.0, &[("main.f", 20, 20)], "/bin/b"),
    );
    let c = write(
        &dir,
        "c.pb.gz",
        &heap(20.0, &[("main.f", 30, 30)], "/bin/a"),
    );
    let out = memdiag(&[
        "leaks",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        c.to_str().unwrap(),
    ]);
    let err = stderr(&out);
    assert_ne!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("b.pb.gz") && err.contains("different programs"),
        "{err}"
    );
    assert!(!err.contains("c.pb.gz"), "{err}");
}

#[test]
fn equal_timestamps() {
    let dir = temp_dir("times");
    let same: Vec<PathBuf> = (0..3)
        .map(|i| {
            write(
                &dir,
                &format!("s{i}.pb.gz"),
                &heap(0.0, &[("main.f", i, i)], "/bin/a"),
            )
        })
        .collect();
    let args: Vec<&str> = std::iter::once("leaks")
        .chain(same.iter().map(|f| f.to_str().unwrap()))
        .collect();
    assert_rejected(&args, &["same time_nanos"]);

    let later = write(
        &dir,
        "later.pb.gz",
        &heap(10.0, &[("main.f", 5, 5)], "/bin/a"),
    );
    let out = memdiag(&[
        "leaks",
        same[0].to_str().unwrap(),
        same[1].to_str().unwrap(),
        later.to_str().unwrap(),
    ]);
    let err = stderr(&out);
    assert_ne!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("s0.pb.gz and ") && err.contains("s1.pb.gz have the same time_nanos"),
        "{err}"
    );
}

#[test]
fn missing_input_and_urls_are_rejected() {
    assert_rejected(
        &["leaks", "/nonexistent/memdiag-dir"],
        &["/nonexistent/memdiag-dir", "no such file"],
    );
    assert_rejected(
        &["leaks", "http://127.0.0.1:9/debug/pprof/heap"],
        &["memdiag record"],
    );
    let dir = temp_dir("empty");
    assert_rejected(&["leaks", dir.to_str().unwrap()], &["holds no profiles"]);
}

#[test]
fn sample_index_selects_the_series() {
    let dir = temp_dir("sample-index");
    series(&dir, true);
    // Objects are bytes / 64 in these profiles: 4 KiB/s is 64 objects/s,
    // 3840 per minute.
    let out = memdiag(&[
        "leaks",
        "-sample_index=inuse_objects",
        dir.to_str().unwrap(),
    ]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}{}", stderr(&out));
    assert!(text.contains("inuse_objects by function"), "{text}");
    assert!(row(&text, "main.leakyLog").contains("+3840/min"), "{text}");

    let out = memdiag(&["leaks", "-sample_index=alloc_space", dir.to_str().unwrap()]);
    assert!(stderr(&out).contains("only grows"), "{}", stderr(&out));

    assert_rejected(
        &["leaks", "-sample_index=bogus", dir.to_str().unwrap()],
        &["heap-0000.pb.gz", "bogus", "inuse_space"],
    );
}
