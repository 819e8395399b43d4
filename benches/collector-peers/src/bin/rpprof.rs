//! rpprof 0.18's AllocProfiler over `System`, at 512 KiB.
#[global_allocator]
static ALLOC: rpprof::alloc::AllocProfiler = rpprof::alloc::AllocProfiler::system();

#[path = "../../../../crates/memdiag/examples/shared/workload.rs"]
mod workload;

fn main() {
    rpprof::alloc::set_sample_rate(512 * 1024);
    rpprof::alloc::start();
    workload::run("rpprof(rate=524288)");
    // No heap_report(): in rpprof 0.18.3 it did not return on this
    // workload (left for minutes); the timed part is the workload alone.
    eprintln!("rpprof: active={}", rpprof::alloc::is_active());
}
