//! tikv-jemallocator built with profiling: bare when run plainly, its own
//! heap profiler with `_RJEM_MALLOC_CONF=prof:true,lg_prof_sample:19`
//! (512 KiB; the prefixed name is the one tikv's jemalloc reads).
#[global_allocator]
static ALLOC: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[path = "../../../../crates/memdiag/examples/shared/workload.rs"]
mod workload;

fn main() {
    let label = match std::env::var("_RJEM_MALLOC_CONF") {
        Ok(c) => format!("jemalloc({c})"),
        Err(_) => "bare-jemalloc".to_string(),
    };
    workload::run(&label);
}
