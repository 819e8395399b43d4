//! memdiag over mimalloc (rate: default 512 KiB, or `MEMDIAG_RATE`).
#[global_allocator]
static ALLOC: memdiag::Profiled<mimalloc::MiMalloc> = memdiag::Profiled::new(mimalloc::MiMalloc);

#[path = "../../../../crates/memdiag/examples/shared/workload.rs"]
mod workload;

fn main() {
    workload::run(&format!(
        "memdiag-mimalloc(rate={})",
        memdiag::sample_rate()
    ));
    // Not a full export: symbolizing would dominate the peak RSS measured.
    let s = memdiag::memory_stats();
    eprintln!(
        "memdiag: live heap estimate {} KiB, profiler tables {} KiB",
        s.heap_inuse_bytes >> 10,
        s.profiler_bytes >> 10
    );
}
