//! dhat-rs heap profiling (every allocation) over `System`.
#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

#[path = "../../../../crates/memdiag/examples/shared/workload.rs"]
mod workload;

fn main() {
    let profiler = dhat::Profiler::new_heap();
    workload::run("dhat");
    // Writes dhat-heap.json into the current directory (after the timed
    // part, which the workload prints).
    drop(profiler);
}
