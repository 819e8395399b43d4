//! Baseline for `overhead`: the same workload over bare `System`.
//! `cargo run --release -p memdiag --example overhead_bare -- [OPS] [THREADS]`

#[path = "shared/workload.rs"]
mod workload;

fn main() {
    workload::run("bare-system");
}
