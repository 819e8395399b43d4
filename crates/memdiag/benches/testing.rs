//! Cost of a `memdiag::testing` scope (`cargo bench -p memdiag --bench
//! testing`): the same code with 1M allocations, unscoped and in a scope,
//! where every allocation is counted exactly and its stack recorded.
//! - `to_string`: 1M small strings built and kept in a Vec, then dropped;
//! - `alloc_free`: 1M 64-byte boxes allocated and freed, nothing else (the
//!   worst case: all the time goes to the allocator).

use criterion::{black_box, criterion_group, criterion_main, Criterion};

#[global_allocator]
static ALLOC: memdiag::Profiled<std::alloc::System> = memdiag::Profiled::new(std::alloc::System);

const N: usize = 1_000_000;

#[inline(never)]
fn to_string() -> usize {
    let v: Vec<String> = (0..N).map(|i| i.to_string()).collect();
    v.iter().map(String::len).sum()
}

#[inline(never)]
fn alloc_free() -> usize {
    let mut n = 0;
    for i in 0..N {
        let b = black_box(Box::new([i as u8; 64]));
        n += b[0] as usize;
    }
    n
}

fn scope(c: &mut Criterion) {
    memdiag::set_sample_rate(memdiag::DEFAULT_RATE);
    let mut g = c.benchmark_group("scope_1m");
    g.sample_size(10);
    for (name, f) in [
        ("to_string", to_string as fn() -> usize),
        ("alloc_free", alloc_free),
    ] {
        g.bench_function(format!("{name}/unscoped"), |b| b.iter(|| black_box(f())));
        g.bench_function(format!("{name}/scoped"), |b| {
            b.iter(|| black_box(memdiag::testing::measure(f).value))
        });
    }
    g.finish();
}

criterion_group!(benches, scope);
criterion_main!(benches);
