//! Baseline: the workload over bare `System`.
#[path = "../../../../crates/memdiag/examples/shared/workload.rs"]
mod workload;

fn main() {
    workload::run("bare-system");
}
