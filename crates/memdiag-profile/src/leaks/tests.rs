//! Classification of synthetic series, end to end through the builder.
//! Each expected class follows from how the series was made, as argued in
//! each test.

use super::*;
use crate::model::{Line, Location, Profile};
use crate::report::Granularity;
use crate::Function;

const KIB: f64 = 1024.0;

/// One site of a synthetic snapshot: the function that allocates (called
/// from `main.main`; frames leaf first separated by `;` for a deeper
/// stack), its inuse bytes and its cumulative allocated bytes.
struct Site<'a> {
    func: &'a str,
    inuse: f64,
    alloc: f64,
}

/// A Go-style heap profile at `secs` seconds. Location ids and addresses
/// change from snapshot to snapshot (`shift`), as they would across
/// restarts: alignment must go by function names.
fn snapshot(secs: f64, sites: &[Site], shift: u64) -> Profile {
    let mut p = Profile::with_sample_types(&[
        ("alloc_objects", "count"),
        ("alloc_space", "bytes"),
        ("inuse_objects", "count"),
        ("inuse_space", "bytes"),
    ]);
    p.time_nanos = 1_700_000_000_000_000_000 + (secs * 1e9) as i64;
    let func = |p: &mut Profile, name: &str| {
        let f = Function {
            name: p.strings.intern(name),
            filename: p.strings.intern("main.go"),
            ..Function::default()
        };
        p.functions.push(f);
        p.locations.push(Location {
            address: 0x1000 + shift * 16 + p.locations.len() as u64,
            lines: vec![Line {
                function: Some(p.functions.len() as u32 - 1),
                line: 10,
                column: 0,
            }],
            ..Location::default()
        });
        p.locations.len() as u32 - 1
    };
    // Padding locations so ids differ between snapshots.
    for k in 0..shift % 3 {
        func(&mut p, &format!("unused{k}"));
    }
    let main = func(&mut p, "main.main");
    for s in sites {
        let mut stack: Vec<u32> = s.func.split(';').map(|f| func(&mut p, f)).collect();
        stack.push(main);
        let objects = |bytes: f64| (bytes / 64.0).round() as i64;
        p.samples.push(
            &stack,
            &[
                objects(s.alloc),
                s.alloc.round() as i64,
                objects(s.inuse),
                s.inuse.round() as i64,
            ],
            &[],
        );
    }
    p
}

/// Deterministic noise in [0, 1).
struct Noise(u64);

impl Noise {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Runs the analysis on `n` snapshots `every` seconds apart; `site(i, t)`
/// gives each snapshot's sites.
fn run(n: usize, every: f64, site: impl Fn(usize, f64) -> Vec<(String, f64, f64)>) -> LeakReport {
    let mut b = SeriesBuilder::new(Granularity::Functions, None, n);
    for i in 0..n {
        let t = i as f64 * every;
        let owned = site(i, t);
        let sites: Vec<Site> = owned
            .iter()
            .map(|(f, inuse, alloc)| Site {
                func: f,
                inuse: *inuse,
                alloc: *alloc,
            })
            .collect();
        let warnings = b.add(&snapshot(t, &sites, i as u64)).expect("add snapshot");
        assert!(warnings.is_empty(), "{warnings:?}");
    }
    analyze(&b.finish(), &Params::default())
}

fn class_of(r: &LeakReport, func: &str) -> Class {
    r.sites
        .iter()
        .find(|s| s.site == func)
        .map_or(Class::Stable, |s| s.class)
}

fn one(name: &str, inuse: f64, alloc: f64) -> Vec<(String, f64, f64)> {
    vec![(name.to_string(), inuse, alloc)]
}

#[test]
fn linear_leak() {
    // 2 KiB retained per second, nothing freed: every later snapshot holds
    // more than every earlier one, and the last third grows as fast as the
    // whole. Leak, at 120 KiB/min, keeping all it allocates.
    let r = run(30, 10.0, |_, t| {
        one("main.leak", 2.0 * KIB * t, 2.0 * KIB * t)
    });
    let s = &r.sites[0];
    assert_eq!(s.class, Class::Leak);
    assert!(
        (s.growth_per_minute - 120.0 * KIB).abs() < 1.0,
        "{}",
        s.growth_per_minute
    );
    assert_eq!(s.total_growth, (2.0 * KIB * 290.0) as i64);
    assert!((s.retained_fraction.unwrap() - 1.0).abs() < 1e-9);
    assert!(s.q_value < 1e-6);
    assert!(!s.weak);
    assert!(r.has_leaks());
}

#[test]
fn slow_leak_under_heavy_churn() {
    // 1 KiB/s retained while 1 MiB/s is allocated and freed at the same
    // site: inuse carries up to 256 KiB of live churn, 25 times the 10 KiB
    // gained between two snapshots. Over 100 snapshots the ~1 MiB of growth
    // dominates the noise, so the trend is significant and persists: leak,
    // with a retained fraction near 1/1024.
    let noise = std::cell::RefCell::new(Noise(0x9e37_79b9_7f4a_7c15));
    let r = run(100, 10.0, |_, t| {
        let churn = 256.0 * KIB * noise.borrow_mut().next();
        one(
            "main.slowLeak",
            KIB * t + churn,
            (KIB + 1024.0 * KIB) * t + churn,
        )
    });
    let s = &r.sites[0];
    assert_eq!(s.class, Class::Leak, "{s:?}");
    assert!(
        (s.growth_per_minute / (60.0 * KIB) - 1.0).abs() < 0.25,
        "{}",
        s.growth_per_minute
    );
    let retained = s.retained_fraction.unwrap();
    assert!(retained > 0.0 && retained < 0.01, "{retained}");
}

#[test]
fn churn_alone_is_not_a_leak() {
    // The same churn without the retained KiB/s: no trend.
    let noise = std::cell::RefCell::new(Noise(7));
    let r = run(100, 10.0, |_, t| {
        let churn = 256.0 * KIB * noise.borrow_mut().next();
        one("main.churn", 64.0 * KIB + churn, 1024.0 * KIB * t + churn)
    });
    assert_eq!(class_of(&r, "main.churn"), Class::Churn);
    assert!(!r.has_leaks());
}

#[test]
fn plateau_cache() {
    // A cache fills at 10 KiB/s for the first 40% of the run, then holds
    // 4 MiB (give or take 1%) until the end. It grew significantly, but the
    // last third is flat: plateau, not leak.
    let noise = std::cell::RefCell::new(Noise(11));
    let r = run(60, 10.0, |i, t| {
        let full = 10.0 * KIB * 240.0;
        let v = if i < 24 { 10.0 * KIB * t } else { full };
        let jitter = 0.01 * full * noise.borrow_mut().next();
        one("main.cache", v + jitter, v + jitter + 0.1 * KIB * t)
    });
    assert_eq!(class_of(&r, "main.cache"), Class::Plateau);
    assert!(!r.has_leaks());
}

#[test]
fn sawtooth_cache() {
    // A cache that fills over 20 snapshots, is evicted to empty, and fills
    // again, five times. Each cycle rises, but there is no trend across
    // cycles: the autocorrelation-corrected test is not significant, and the
    // late level equals the early one. Churn.
    let r = run(100, 10.0, |i, t| {
        let v = (i % 20) as f64 * 50.0 * KIB;
        one("main.lru", v, 5.0 * KIB * t)
    });
    assert_eq!(class_of(&r, "main.lru"), Class::Churn);
}

#[test]
fn step_burst() {
    // A burst at snapshot 30 of 60 allocates 8 MiB that stays: the series
    // grew (a significant rise) but is flat on both sides of the step, and
    // so in the recent window. Plateau. A burst that is freed again a few
    // snapshots later leaves no trend: churn.
    let r = run(60, 10.0, |i, _| {
        let kept = if i >= 30 { 8192.0 * KIB } else { 0.0 };
        let freed = if (30..33).contains(&i) {
            8192.0 * KIB
        } else {
            0.0
        };
        let total = if i >= 30 { 8192.0 * KIB } else { 0.0 };
        vec![
            ("main.burstKept".to_string(), KIB + kept, KIB + total),
            ("main.burstFreed".to_string(), KIB + freed, KIB + total),
        ]
    });
    assert_eq!(class_of(&r, "main.burstKept"), Class::Plateau);
    assert_eq!(class_of(&r, "main.burstFreed"), Class::Churn);
    assert!(!r.has_leaks());
}

#[test]
fn slow_warm_up_then_flat() {
    // Warm-up approaching 2 MiB exponentially with a time constant of 1/8
    // of the run: by the start of the last third it is within e^-5 (0.7%) of
    // its final size, so the recent slope is a tiny fraction of the overall
    // one. Plateau.
    let noise = std::cell::RefCell::new(Noise(3));
    let span = 600.0;
    let r = run(61, 10.0, |_, t| {
        let v = 2048.0 * KIB * (1.0 - (-t / (span / 8.0)).exp());
        let jitter = 4.0 * KIB * noise.borrow_mut().next();
        one("main.warmup", v + jitter, v + jitter)
    });
    assert_eq!(class_of(&r, "main.warmup"), Class::Plateau);
}

#[test]
fn shrinking() {
    // Memory released at 1 KiB/s from 1 MiB: a significant downward trend.
    let r = run(40, 10.0, |_, t| {
        one("main.drain", 1024.0 * KIB - KIB * t, 1024.0 * KIB)
    });
    let s = r.sites.iter().find(|s| s.site == "main.drain").unwrap();
    assert_eq!(s.class, Class::Shrinking);
    assert!(s.growth_per_minute < 0.0);
}

#[test]
fn constant_site_is_stable_and_omitted() {
    // Allocated once at start-up and never again: nothing changes.
    let r = run(20, 10.0, |_, _| one("main.init", 4096.0, 4096.0));
    assert_eq!(r.counts.stable, 1);
    assert!(r.sites.is_empty());
}

#[test]
fn short_series_verdict_is_weak() {
    // Four snapshots cannot give a significant test after correction, so a
    // strictly rising series is called a leak, flagged weak.
    let r = run(4, 10.0, |_, t| {
        one("main.leak", 1000.0 + 100.0 * t, 1000.0 + 100.0 * t)
    });
    assert!(r.weak);
    let s = &r.sites[0];
    assert_eq!(s.class, Class::Leak);
    assert!(s.weak);
}

#[test]
fn leak_among_many_sites_survives_multiple_testing() {
    // 500 churning sites and one leak: Benjamini–Hochberg keeps the leak
    // (its p-value is astronomically small) and at α = 5% expects fewer
    // than one false leak among pure-noise sites.
    let noise = std::cell::RefCell::new(Noise(99));
    let r = run(50, 10.0, |_, t| {
        let mut v: Vec<(String, f64, f64)> = (0..500)
            .map(|k| {
                let x = 64.0 * KIB * noise.borrow_mut().next();
                (format!("main.worker{k}"), x, 100.0 * KIB * t + x)
            })
            .collect();
        v.push(("main.leak".to_string(), 512.0 * t, 512.0 * t));
        v
    });
    let leaks: Vec<&str> = r.leaks().map(|s| s.site.as_str()).collect();
    assert_eq!(leaks, ["main.leak"]);
}

#[test]
fn snapshots_added_out_of_order_are_sorted_by_time() {
    let mut b = SeriesBuilder::new(Granularity::Functions, None, 3);
    for (secs, bytes) in [(20.0, 300.0), (0.0, 100.0), (10.0, 200.0)] {
        let site = Site {
            func: "main.f",
            inuse: bytes,
            alloc: bytes,
        };
        b.add(&snapshot(secs, &[site], secs as u64)).unwrap();
    }
    let series = b.finish();
    assert_eq!(series.sites.len(), 1);
    assert_eq!(series.sites[0].values, [100, 200, 300]);
    assert!(series.times_nanos.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(
        series.stack_names(series.sites[0].stack),
        ["main.f", "main.main"]
    );
}

#[test]
fn site_absent_from_a_snapshot_counts_zero() {
    let mut b = SeriesBuilder::new(Granularity::Functions, None, 3);
    let a = |v| Site {
        func: "main.a",
        inuse: v,
        alloc: v,
    };
    let late = Site {
        func: "main.late",
        inuse: 5.0,
        alloc: 5.0,
    };
    b.add(&snapshot(0.0, &[a(1.0)], 0)).unwrap();
    b.add(&snapshot(1.0, &[a(2.0), late], 1)).unwrap();
    b.add(&snapshot(2.0, &[], 2)).unwrap();
    let s = b.finish();
    let by_name = |n: &str| {
        s.sites
            .iter()
            .find(|x| s.stack_names(x.stack)[0] == n)
            .unwrap()
            .values
            .clone()
    };
    assert_eq!(by_name("main.a"), [1, 2, 0]);
    assert_eq!(by_name("main.late"), [0, 5, 0]);
}

#[test]
fn mixed_sample_types_are_rejected() {
    let mut b = SeriesBuilder::new(Granularity::Functions, None, 2);
    b.add(&snapshot(0.0, &[], 0)).unwrap();
    let cpu = Profile::with_sample_types(&[("samples", "count"), ("cpu", "nanoseconds")]);
    let err = b.add(&cpu).unwrap_err().to_string();
    assert!(err.contains("samples/count, cpu/nanoseconds"), "{err}");
    assert!(err.contains("inuse_space/bytes"), "{err}");
}

#[test]
fn another_program_is_warned_about() {
    let mut b = SeriesBuilder::new(Granularity::Functions, None, 2);
    let with_mapping = |file: &str| {
        let mut p = snapshot(0.0, &[], 0);
        let m = crate::Mapping {
            filename: p.strings.intern(file),
            build_id: p.strings.intern("abc"),
            ..crate::Mapping::default()
        };
        p.mappings.push(m);
        p
    };
    assert!(b.add(&with_mapping("/bin/a")).unwrap().is_empty());
    let w = b.add(&with_mapping("/bin/b")).unwrap();
    assert_eq!(w.len(), 1);
    assert!(w[0].contains("/bin/b") && w[0].contains("/bin/a"), "{w:?}");
}

#[test]
fn site_name_skips_allocator_frames() {
    let stack: Vec<String> = [
        "alloc::raw_vec::finish_grow",
        "<memdiag::Sampler as core::alloc::GlobalAlloc>::alloc",
        "app::cache::insert",
        "main",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    assert_eq!(site_name(&stack), "app::cache::insert");
    let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    // A primitive's impl of a std trait is std's; a user type's impl of a
    // std trait is the user's.
    let stack = names(&[
        "<alloc::alloc::Global as core::alloc::Allocator>::allocate",
        "<u8 as alloc::vec::spec_from_elem::SpecFromElem>::from_elem",
        "<app::Cache as core::clone::Clone>::clone",
    ]);
    assert_eq!(
        site_name(&stack),
        "<app::Cache as core::clone::Clone>::clone"
    );
}

#[test]
fn negligible_steady_drift_is_not_a_leak() {
    // A 1 MiB buffer that grows by 1 byte per second: perfectly steady, so
    // the trend test is sure of it, but 590 B over the run is 0.06% of the
    // site, far below the 5% that makes growth material. Nothing is
    // allocated besides, and the range is tiny: stable.
    let r = run(60, 10.0, |_, t| {
        one("main.buffer", 1024.0 * KIB + t, 1024.0 * KIB + t)
    });
    assert_eq!(class_of(&r, "main.buffer"), Class::Stable);
    assert!(!r.has_leaks());
}

#[test]
fn a_few_kib_of_steady_growth_is_not_a_leak() {
    // Go's goroutine structs grow by ~150 B/s while a scraper's connections
    // warm the runtime up: as steady as a leak, and all of the site, but
    // 6 KiB over 40 s is under the 16 KiB that makes growth material. A
    // real 1 KiB/s leak beside it (40 KiB) still is one.
    let r = run(41, 1.0, |_, t| {
        let mut v = one("runtime.malg", 150.0 * t, 150.0 * t);
        v.extend(one("main.leak", KIB * t, KIB * t));
        v
    });
    assert_ne!(class_of(&r, "runtime.malg"), Class::Leak);
    assert_eq!(class_of(&r, "main.leak"), Class::Leak);
}

#[test]
fn leak_under_a_sawtooth() {
    // The sawtooth cache of `sawtooth_cache` (fills 0 → 950 KiB over 20
    // snapshots, then evicted) at a site that also keeps 1 KiB/s: every
    // eviction now returns to a higher floor, 1 MiB higher by the end. The
    // floor rises with the slope and the rise is material: leak.
    let r = run(100, 10.0, |i, t| {
        let v = (i % 20) as f64 * 50.0 * KIB + KIB * t;
        one("main.lruLeak", v, 5.0 * KIB * t + KIB * t)
    });
    assert_eq!(class_of(&r, "main.lruLeak"), Class::Leak);
}

#[test]
fn leak_without_a_recent_window_is_weak() {
    // Six snapshots are enough for the trend test but too few for a recent
    // window, so a steady rise cannot yet be told from a cache about to
    // stop: leak, flagged weak, while the report as a whole is not weak.
    let r = run(6, 10.0, |_, t| {
        one("main.leak", 1000.0 + 1000.0 * t, 1000.0 + 1000.0 * t)
    });
    assert!(!r.weak);
    let s = &r.sites[0];
    assert_eq!(s.class, Class::Leak);
    assert!(s.weak);
    assert!(s.recent_growth_per_minute.is_none());
}

#[test]
fn a_sample_with_a_bad_location_is_an_error_not_a_panic() {
    let mut b = SeriesBuilder::new(Granularity::Functions, None, 2);
    let mut p = snapshot(0.0, &[], 0);
    p.samples.push(&[99], &[1, 1, 1, 1], &[]);
    let err = b.add(&p).unwrap_err().to_string();
    assert!(
        err.contains("sample.location_id") && err.contains("99"),
        "{err}"
    );
    // The builder is still usable.
    b.add(&snapshot(1.0, &[], 1)).unwrap();
    assert_eq!(b.len(), 1);
}

/// The verdict on the site whose leaf frame is `leaf`.
fn by_leaf<'a>(r: &'a LeakReport, leaf: &str) -> &'a SiteVerdict {
    r.sites
        .iter()
        .find(|s| s.stack[0] == leaf)
        .unwrap_or_else(|| panic!("no site with leaf {leaf}: {:?}", r.sites))
}

/// A slice that holds `records(t)` pointers of 24 bytes and doubles its
/// capacity when full: inuse is the current buffer (the old one is freed),
/// alloc every buffer so far. It doubles for the last time at 1024
/// records.
fn doubling(name: &str, records: f64) -> (String, f64, f64) {
    let cap = records.max(1.0).log2().ceil().exp2();
    (name.to_string(), 24.0 * cap, 24.0 * (2.0 * cap - 1.0))
}

#[test]
fn container_growth_joins_its_leak() {
    // main.leak keeps 7 records a second and appends them to a slice, whose
    // growth is a site of its own with the same allocating call. The slice
    // doubles for the last time at 146 s of 290: flat through the last
    // third, a plateau by itself. It grows for the leak, so it joins it,
    // ranked right after it.
    let r = run(30, 10.0, |_, t| {
        vec![
            ("main.leak".to_string(), 7.0 * 128.0 * t, 7.0 * 128.0 * t),
            doubling("runtime.growslice;main.leak", 7.0 * t),
        ]
    });
    assert_eq!(r.counts.leak, 2, "{:?}", r.sites);
    assert_eq!(r.sites[0].stack[0], "main.leak");
    assert_eq!(r.sites[0].joins, None);
    let grow = &r.sites[1];
    assert_eq!(grow.stack[0], "runtime.growslice");
    assert_eq!((grow.class, grow.joins), (Class::Leak, Some(1)));
}

#[test]
fn a_cache_and_its_rehash_stay_plateaus() {
    // A cache fills for 100 s and its map's buckets double with it; a leak
    // elsewhere in the program. The rehash site's allocating function is
    // the cache's, which has no leak: both stay plateaus.
    let r = run(30, 10.0, |_, t| {
        let entries = 10.0 * t.min(100.0);
        vec![
            ("main.leak".to_string(), 2.0 * KIB * t, 2.0 * KIB * t),
            (
                "main.cache".to_string(),
                4.0 * KIB * entries,
                4.0 * KIB * entries,
            ),
            doubling("runtime.hashGrow;main.cache", entries),
        ]
    });
    assert_eq!(by_leaf(&r, "main.leak").class, Class::Leak);
    for leaf in ["main.cache", "runtime.hashGrow"] {
        let s = by_leaf(&r, leaf);
        assert_eq!((s.class, s.joins), (Class::Plateau, None), "{leaf}");
    }
}

#[test]
fn container_growth_of_another_function_does_not_join() {
    // The slice of `container_growth_joins_its_leak`, but grown by
    // main.index, which keeps nothing itself: its allocating call is not the
    // leak's, so it stays a plateau.
    let r = run(30, 10.0, |_, t| {
        vec![
            ("main.leak".to_string(), 7.0 * 128.0 * t, 7.0 * 128.0 * t),
            doubling("runtime.growslice;main.index", 7.0 * t),
        ]
    });
    assert_eq!(r.counts.leak, 1);
    let s = by_leaf(&r, "runtime.growslice");
    assert_eq!((s.class, s.joins), (Class::Plateau, None));
}

#[test]
fn allocating_frame_skips_collections_and_runtime() {
    // A Vec's realloc (Rust), a HashMap rehash through std, and a Go map
    // growth are all the work of the function that inserts.
    let rust_vec = [
        "alloc::alloc::realloc",
        "<alloc::raw_vec::RawVecInner>::finish_grow",
        "alloc::vec::Vec<T,A>::push",
        "app::leak",
        "app::main",
    ];
    let rust_map = [
        "hashbrown::raw::RawTable<T,A>::reserve_rehash",
        "std::collections::hash::map::HashMap<K,V,S,A>::insert",
        "<std::collections::hash::map::HashMap<K,V,S>>::entry",
        "app::cache_insert",
    ];
    let go_map = [
        "runtime.mallocgc",
        "runtime.makeBucketArray",
        "runtime.hashGrow",
        "runtime.mapassign_faststr",
        "main.leakIntoMap",
    ];
    assert_eq!(allocating_frame(rust_vec), Some(3));
    assert_eq!(allocating_frame(rust_map), Some(3));
    assert_eq!(allocating_frame(go_map), Some(4));
    assert_eq!(allocating_frame(["runtime.malg", "runtime.newproc1"]), None);
}
