//! Leaks slowly in `leak_some` next to churn, then writes a heap profile.
//!
//! ```text
//! cargo run --release -p memdiag --example leaky -- /tmp/leaky.pb.gz
//! go tool pprof -top /tmp/leaky.pb.gz   # or: memdiag top /tmp/leaky.pb.gz
//! ```

#[global_allocator]
static ALLOC: memdiag::Profiled<std::alloc::System> = memdiag::Profiled::new(std::alloc::System);

/// Keeps 4 KiB per call forever.
#[inline(never)]
fn leak_some(leaked: &mut Vec<Vec<u8>>, i: usize) {
    leaked.push(vec![i as u8; 4096]);
}

/// Allocates and frees buffers of mixed sizes.
#[inline(never)]
fn churn(i: usize) -> usize {
    let v: Vec<u64> = (0..(i % 2000) + 16).map(|x| x as u64).collect();
    let s = format!("{:?}", &v[..4]);
    v.len() + s.len()
}

fn main() {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "leaky.pb.gz".to_string());
    let mut leaked = Vec::new();
    let mut sink = 0usize;
    for i in 0..20_000 {
        sink = sink.wrapping_add(churn(i));
        if i % 4 == 0 {
            leak_some(&mut leaked, i);
        }
    }
    memdiag::write_heap_profile(&path).expect("write profile");
    eprintln!(
        "leaked {} KiB in leak_some (sink {sink}); profile written to {path}",
        leaked.len() * 4
    );
}
