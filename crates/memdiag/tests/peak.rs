//! peak_profile() keeps the live set at the highest live heap;
//! memory_stats() reports RSS beside the heap estimate.

mod common;

#[global_allocator]
static ALLOC: memdiag::Profiled<std::alloc::System> = memdiag::Profiled::new(std::alloc::System);

const MB: i64 = 1 << 20;

#[inline(never)]
fn peak_burst() -> Vec<Vec<u8>> {
    (0..50).map(|_| vec![1u8; MB as usize]).collect()
}

#[inline(never)]
fn after_peak() -> Vec<Vec<u8>> {
    (0..5).map(|_| vec![2u8; MB as usize]).collect()
}

#[test]
fn peak_profile_keeps_the_high_water_live_set() {
    memdiag::set_sample_rate(1);
    drop(std::hint::black_box(peak_burst()));
    let kept = std::hint::black_box(after_peak());

    let p = memdiag::peak_profile();
    let burst = common::totals_for(&p, "peak::peak_burst")[3];
    assert!(
        (49 * MB..=50 * MB + 50 * 24).contains(&burst),
        "burst at peak: {burst}"
    );
    assert_eq!(common::totals_for(&p, "peak::after_peak")[3], 0);

    let now = memdiag::heap_profile();
    assert_eq!(common::totals_for(&now, "peak::peak_burst")[3], 0);
    assert_eq!(
        common::totals_for(&now, "peak::after_peak")[3],
        5 * MB + 5 * 24
    );

    let s = memdiag::memory_stats();
    assert!(s.rss_bytes > 5 * MB as u64, "{s:?}");
    assert!(s.heap_inuse_bytes >= 5 * MB as u64, "{s:?}");
    assert!(s.heap_peak_bytes >= 49 * MB as u64, "{s:?}");
    assert_eq!(s.sample_rate, 1);
    assert!(now
        .comment_strings()
        .any(|c| c.contains("heap_inuse_estimate=")));
    drop(kept);
}
