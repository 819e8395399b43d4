//! pprof-alloc 0.6's wrapper sampler over `System`, at 512 KiB.
#[global_allocator]
static ALLOC: pprof_alloc::PprofAlloc =
    pprof_alloc::PprofAlloc::new().with_pprof_sample_rate(512 * 1024);

#[path = "../../../../crates/memdiag/examples/shared/workload.rs"]
mod workload;

fn main() {
    workload::run("pprof-alloc(rate=524288)");
}
