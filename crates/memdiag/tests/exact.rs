//! Full tracking (rate 1): exact counts, attributed to the right functions.

mod common;

#[global_allocator]
static ALLOC: memdiag::Profiled<std::alloc::System> = memdiag::Profiled::new(std::alloc::System);

/// 1 outer Vec of 100 boxes (1600 bytes) + 100 blocks of 1000..1100 bytes.
#[inline(never)]
fn make_live_pattern() -> Vec<Box<[u8]>> {
    let mut v = Vec::with_capacity(100);
    for i in 0..100 {
        v.push(vec![1u8; 1000 + i].into_boxed_slice());
    }
    v
}

/// 50 blocks of 2000 bytes, all freed.
#[inline(never)]
fn make_freed_pattern() -> usize {
    let mut n = 0;
    for i in 0..50 {
        let b = std::hint::black_box(vec![i as u8; 2000]);
        n += b.len();
    }
    n
}

#[test]
fn rate_one_counts_exactly() {
    memdiag::set_sample_rate(1);
    let live = std::hint::black_box(make_live_pattern());
    let freed = make_freed_pattern();
    assert_eq!(freed, 100_000);
    let p = memdiag::heap_profile();

    let names: Vec<&str> = (0..4).map(|i| p.sample_type_name(i)).collect();
    assert_eq!(
        names,
        [
            "alloc_objects",
            "alloc_space",
            "inuse_objects",
            "inuse_space"
        ]
    );
    assert_eq!(p.str(p.default_sample_type), "inuse_space");
    assert_eq!(p.period, 1);
    let pt = p.period_type.unwrap();
    assert_eq!((p.str(pt.ty), p.str(pt.unit)), ("space", "bytes"));

    let bytes = 1600 + (0..100).map(|i| 1000 + i).sum::<i64>();
    let t = common::totals_for(&p, "exact::make_live_pattern");
    assert_eq!(t, [101, bytes, 101, bytes], "live pattern");
    let t = common::totals_for(&p, "exact::make_freed_pattern");
    assert_eq!(t, [50, 100_000, 0, 0], "freed pattern");

    // The profiler's own frames are dropped from the leaf end.
    for s in p.samples.iter() {
        if let Some(&leaf) = s.locations.first() {
            for line in &p.locations[leaf as usize].lines {
                let name = p.function_name(line);
                assert!(!name.contains("memdiag::"), "profiler frame {name}");
            }
        }
    }
    drop(live);
    let p = memdiag::heap_profile();
    let t = common::totals_for(&p, "exact::make_live_pattern");
    assert_eq!(t, [101, bytes, 0, 0], "after free");
}

/// Grows a Vec<u64> one push at a time: each growth is a realloc, i.e. a
/// free of the old block and an allocation of the new size.
#[inline(never)]
fn grow_by_push() -> Vec<u64> {
    let mut v = Vec::new();
    for i in 0..1000 {
        v.push(i);
    }
    v
}

#[test]
fn rate_one_counts_realloc_growth() {
    memdiag::set_sample_rate(1);
    let v = std::hint::black_box(grow_by_push());
    let p = memdiag::heap_profile();
    let t = common::totals_for(&p, "exact::grow_by_push");
    // Capacities 4, 8, ..., 1024 elements of 8 bytes: 9 blocks.
    let allocated: i64 = (2..=10).map(|k| (1i64 << k) * 8).sum();
    assert_eq!(v.capacity(), 1024);
    assert_eq!(t, [9, allocated, 1, 1024 * 8]);
}

/// 200 blocks of 3000 bytes and the 4800-byte Vec holding them.
#[inline(never)]
fn make_on_thread() -> Vec<Vec<u8>> {
    let mut v = Vec::with_capacity(200);
    for i in 0..200 {
        v.push(vec![i as u8; 3000]);
    }
    v
}

/// Blocks allocated on short-lived threads (each holds an arena shard
/// until it exits) and freed on another (back through the shard's remote
/// list): the counts stay exact.
#[test]
fn rate_one_counts_cross_thread_frees() {
    memdiag::set_sample_rate(1);
    for _ in 0..20 {
        let v = std::thread::spawn(make_on_thread).join().unwrap();
        drop(std::hint::black_box(v));
    }
    let p = memdiag::heap_profile();
    let t = common::totals_for(&p, "exact::make_on_thread");
    assert_eq!(t, [20 * 201, 20 * (200 * 3000 + 4800), 0, 0]);
}
