//! The generator behind `scripts/bench-leaks-scale` (ignored: it is a
//! benchmark fixture, not a test), plus a small run of the same series that
//! checks the generated leaks are found.
//!
//! Each snapshot is a heap profile whose samples all have distinct stacks
//! (like testdata/go/bigheap: 40 functions, the callee at each level chosen
//! by the base-40 digits of the site number, depth 8..14). Site k is a leak
//! when k % 1000 == 1, constant when k % 7 == 0, and churns otherwise.

mod common;

use std::path::Path;

use common::*;
use memdiag_profile::{Function, Line, Location, Profile};

const FUNCS: usize = 40;
const START_NANOS: i64 = 1_764_000_000_000_000_000;

fn noise(k: u64, i: u64) -> f64 {
    let mut x = (k << 20 ^ i).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    x ^= x >> 31;
    x = x.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x ^= x >> 29;
    (x >> 11) as f64 / (1u64 << 53) as f64
}

/// The call path of site `k`, leaf first, as location indices.
fn stack(k: usize, out: &mut Vec<u32>) {
    out.clear();
    let mut digits = Vec::new();
    let mut x = k;
    loop {
        digits.push((x % FUNCS) as u32);
        x /= FUNCS;
        if x == 0 {
            break;
        }
    }
    let pad = 8usize.saturating_sub(digits.len()) + k % 7;
    out.extend(digits.iter().copied());
    out.extend((0..pad).map(|p| ((k % 7 * 11 + p * 7) % FUNCS) as u32));
}

fn snapshot(sites: usize, i: usize, every_secs: f64) -> Profile {
    let mut p = Profile::with_sample_types(&[
        ("alloc_objects", "count"),
        ("alloc_space", "bytes"),
        ("inuse_objects", "count"),
        ("inuse_space", "bytes"),
    ]);
    p.time_nanos = START_NANOS + (i as f64 * every_secs * 1e9) as i64;
    let file = p.strings.intern("/src/gen/main.go");
    for f in 0..FUNCS {
        let name = p.strings.intern(&format!("main.f{f:02}"));
        p.functions.push(Function {
            name,
            filename: file,
            ..Function::default()
        });
        p.locations.push(Location {
            address: 0x40_0000 + 16 * f as u64,
            lines: vec![Line {
                function: Some(f as u32),
                line: 10 + f as i64,
                column: 0,
            }],
            ..Location::default()
        });
    }
    let t = i as f64 * every_secs;
    let mut locs = Vec::new();
    p.samples.reserve(sites, sites * 12);
    for k in 0..sites {
        stack(k, &mut locs);
        let base = 1024.0 + 64.0 * (k % 100) as f64;
        let (inuse, alloc) = if k % 1000 == 1 {
            let v = base + 100.0 * t;
            (v, v)
        } else if k % 7 == 0 {
            (base, base)
        } else {
            let v = base * (0.5 + noise(k as u64, i as u64));
            (v, base * 10.0 * (i + 1) as f64 + v)
        };
        let (inuse, alloc) = (inuse as i64, alloc as i64);
        p.samples
            .push(&locs, &[alloc / 64, alloc, inuse / 64, inuse], &[]);
    }
    p
}

fn generate(dir: &Path, snapshots: usize, sites: usize) {
    std::fs::create_dir_all(dir).unwrap();
    for i in 0..snapshots {
        let bytes = memdiag_profile::encode_gzip(&snapshot(sites, i, 10.0));
        std::fs::write(dir.join(format!("heap-{i:04}.pb.gz")), bytes).unwrap();
    }
}

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// `MEMDIAG_SCALE_DIR=DIR [MEMDIAG_SCALE_SNAPSHOTS=100] [MEMDIAG_SCALE_SAMPLES=50000]`
#[test]
#[ignore = "benchmark fixture generator, run by scripts/bench-leaks-scale"]
fn generate_scale_series() {
    let dir = std::env::var("MEMDIAG_SCALE_DIR").expect("set MEMDIAG_SCALE_DIR");
    generate(
        Path::new(&dir),
        env("MEMDIAG_SCALE_SNAPSHOTS", 100),
        env("MEMDIAG_SCALE_SAMPLES", 50_000),
    );
}

#[test]
fn generated_leaks_are_found() {
    // 2000 sites, each with its own stack: sites 1 and 1001 (k % 1000 == 1)
    // leak 100 B/s = 6000 B/min each; the rest are constant or churn.
    let dir = std::env::temp_dir().join(format!("memdiag-leaks-scale-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    generate(&dir, 20, 2000);
    let out = memdiag(&["leaks", "--json", dir.to_str().unwrap()]);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["counts"]["leak"], 2, "{}", stdout(&out));
    for leak in v["sites"].as_array().unwrap().iter().take(2) {
        assert_eq!(leak["class"], "leak");
        let rate = leak["growth_per_minute"].as_f64().unwrap();
        assert!((rate - 6000.0).abs() < 1.0, "{rate}");
    }
}
