//! `heap?debug=1`, Go's legacy heap text with sampled counts: memdiag's
//! reader gives back the figures of the protobuf profile served just before
//! (counts to the unit per record, bytes within one part in 10^5); the real
//! `go tool pprof` reads the same bytes exactly as memdiag's reader does
//! (identical `-top` for three sample types); and `go tool pprof` on the URL
//! names the addresses through the endpoint's `symbol` route and finds the
//! same live figure as memdiag.
#![cfg(feature = "http")]

mod http_common;

use std::process::Command;

use memdiag_profile::report::{top, Options};
use memdiag_profile::Profile;

#[global_allocator]
static ALLOC: memdiag::Profiled<std::alloc::System> = memdiag::Profiled::new(std::alloc::System);

#[inline(never)]
fn keep_blocks(kept: &mut Vec<Vec<u8>>) {
    for i in 0..4000 {
        kept.push(vec![i as u8; 8192]);
    }
}

/// Allocates and frees (so that the alloc totals differ from the in-use ones
/// and the text keeps four sample types).
#[inline(never)]
fn churn() -> usize {
    (0..2000)
        .map(|i| std::hint::black_box(vec![i as u8; 16384]).len())
        .sum()
}

/// Totals of the samples whose stack has a function named `needle`.
fn totals(p: &Profile, needle: &str) -> Vec<i64> {
    let mut out = vec![0i64; p.sample_types.len()];
    for s in p.samples.iter() {
        let hit = s.locations.iter().any(|&l| {
            p.locations[l as usize]
                .lines
                .iter()
                .any(|line| p.function_name(line).contains(needle))
        });
        if hit {
            for (o, v) in out.iter_mut().zip(s.values) {
                *o += v;
            }
        }
    }
    out
}

fn from_showing(s: &str) -> String {
    match s.find("Showing nodes") {
        Some(i) => s[i..].to_string(),
        None => panic!("no Showing line in:\n{s}"),
    }
}

/// The `cum` column of the `top` line for a function ending in `name`.
fn cum_of(report: &str, name: &str) -> String {
    report
        .lines()
        .find(|l| l.trim_end().ends_with(name))
        .and_then(|l| l.split_whitespace().nth(3))
        .unwrap_or_else(|| panic!("no {name} in:\n{report}"))
        .to_string()
}

#[test]
fn legacy_text_round_trips_through_memdiag_and_go() {
    // Room for every block up front: keep_blocks' only record is then its
    // 8 KiB blocks (one object size), which the text restores to the unit;
    // the outer vector's growth would add a record of mixed sizes, which the
    // text restores only within about one sample's weight.
    let mut kept = Vec::with_capacity(4000);
    keep_blocks(&mut kept);
    assert!(churn() > 0);
    let server = memdiag::http::serve("127.0.0.1:0").expect("serve");
    let base = server.url();

    let proto = http_common::get(&format!("{base}heap"));
    let text = http_common::get(&format!("{base}heap?debug=1"));
    assert_eq!(text.status, 200, "{}", text.text());
    let p = memdiag_profile::decode(&proto.body).expect("proto decodes");
    let body = text.text();
    assert!(body.starts_with("heap profile: "), "{body}");
    assert!(
        body.lines()
            .next()
            .unwrap_or("")
            .ends_with(&format!("@ heap/{}", 2 * p.period)),
        "{body}"
    );

    // memdiag's reader: the same figures as the protobuf for keep_blocks
    // (one object size: to the unit per record).
    let q = memdiag_profile::codec::parse_legacy_heap(&text.body).expect("legacy text parses");
    assert_eq!(q.period, p.period);
    let (want, got) = (totals(&p, "keep_blocks"), totals(&q, "keep_blocks"));
    assert!(want[3] > 20 << 20, "keep_blocks not in the heap: {want:?}");
    assert_eq!(
        (0..4).map(|i| q.sample_type_name(i)).collect::<Vec<_>>(),
        [
            "alloc_objects",
            "alloc_space",
            "inuse_objects",
            "inuse_space"
        ]
    );
    // Per record, a count comes back to the unit; bytes within the weight
    // of one sampled byte (the text holds whole sampled bytes, each worth
    // about rate/size bytes): one part in 10^5 here.
    let records = p.samples.len() as i64;
    for i in 0..4 {
        let tolerance = if i % 2 == 0 {
            records
        } else {
            records + want[i] / 100_000
        };
        assert!(
            (want[i] - got[i]).abs() <= tolerance,
            "{}: protobuf {want:?}, legacy text {got:?}",
            p.sample_type_name(i)
        );
    }

    let Some(go) = http_common::go() else {
        server.stop();
        return;
    };
    let dir = std::env::temp_dir().join(format!("memdiag-http-legacy-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("heap.txt");
    std::fs::write(&file, &text.body).expect("write");

    // go tool pprof on the same bytes, unsymbolized: exactly memdiag's
    // reading of them, for each sample type.
    let raw = memdiag_profile::codec::parse_legacy_heap_unsymbolized(&text.body).expect("parses");
    for index in ["alloc_space", "inuse_space", "inuse_objects"] {
        let o = Options {
            sample_index: raw.sample_index(index).expect("sample type"),
            ..Default::default()
        };
        let ours = top(&raw, &o).to_text();
        let out = Command::new(go)
            .args(["tool", "pprof", "-top", "-symbolize=none"])
            .arg(format!("-sample_index={index}"))
            .arg(&file)
            .env("PPROF_TMPDIR", &dir)
            .output()
            .expect("run go tool pprof");
        let theirs = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "go tool pprof: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(from_showing(&ours), from_showing(&theirs), "{index}");
    }

    // go tool pprof on the URL: it names the addresses by POSTing them to
    // /debug/pprof/symbol, and finds keep_blocks with memdiag's figure.
    let out = Command::new(go)
        .args([
            "tool",
            "pprof",
            "-top",
            "-sample_index=inuse_space",
            "-unit=B",
        ])
        .arg(format!("{base}heap?debug=1"))
        .env("PPROF_TMPDIR", &dir)
        .output()
        .expect("run go tool pprof");
    let theirs = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "go tool pprof: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let o = Options {
        sample_index: q.sample_index("inuse_space").expect("inuse_space"),
        // In bytes: each tool picks its unit from its own total, and the
        // process's other allocations move between the two fetches.
        unit: "B".to_string(),
        ..Default::default()
    };
    let ours = top(&q, &o).to_text();
    assert_eq!(
        cum_of(&theirs, "keep_blocks"),
        cum_of(&ours, "keep_blocks"),
        "go:\n{theirs}\nmemdiag:\n{ours}"
    );
    let _ = std::fs::remove_dir_all(&dir);
    drop(kept);
    server.stop();
}
