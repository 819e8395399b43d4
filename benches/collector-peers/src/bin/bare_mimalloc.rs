//! Baseline: the workload over bare mimalloc.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[path = "../../../../crates/memdiag/examples/shared/workload.rs"]
mod workload;

fn main() {
    workload::run("bare-mimalloc");
}
