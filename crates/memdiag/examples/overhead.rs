//! The alloc-heavy workload over `Profiled<System>` (default rate, or
//! `MEMDIAG_RATE`); compare with `overhead_bare`.
//! `cargo run --release -p memdiag --example overhead -- [OPS] [THREADS]`

#[global_allocator]
static ALLOC: memdiag::Profiled<std::alloc::System> = memdiag::Profiled::new(std::alloc::System);

#[path = "shared/workload.rs"]
mod workload;

fn main() {
    workload::run(&format!("profiled(rate={})", memdiag::sample_rate()));
    if std::env::var_os("OVERHEAD_EXPORT").is_some() {
        let p = memdiag::heap_profile();
        eprintln!("samples in profile: {}", p.samples.len());
    }
}
