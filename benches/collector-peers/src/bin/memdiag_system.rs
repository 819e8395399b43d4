//! memdiag over `System` (rate: default 512 KiB, or `MEMDIAG_RATE`).
#[global_allocator]
static ALLOC: memdiag::Profiled<std::alloc::System> = memdiag::Profiled::new(std::alloc::System);

#[path = "../../../../crates/memdiag/examples/shared/workload.rs"]
mod workload;

fn main() {
    workload::run(&format!("memdiag-system(rate={})", memdiag::sample_rate()));
    report();
}

/// Proves the profiler recorded something, outside the timed part. Not a
/// full export: symbolizing would dominate the peak RSS measured.
fn report() {
    let s = memdiag::memory_stats();
    eprintln!(
        "memdiag: live heap estimate {} KiB, profiler tables {} KiB, rss {} KiB",
        s.heap_inuse_bytes >> 10,
        s.profiler_bytes >> 10,
        s.rss_bytes >> 10
    );
}
