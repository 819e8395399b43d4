//! Micro figures for the collector (`cargo bench -p memdiag`):
//! - `unwind/16_frames`: one frame-pointer walk of 16 frames (target ≤ 50 ns);
//! - `fast_path/*`: an unsampled alloc + free through `Profiled<System>`
//!   at the default rate, beside the same pair on bare `System`.
//!
//! Build with frame pointers (the workspace's `.cargo/config.toml` does).

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use std::alloc::{GlobalAlloc, Layout, System};

/// Recurses `depth` frames deep, then runs `f` there, so a walk of 16
/// frames never reaches the bottom of the stack.
#[inline(never)]
fn at_depth(depth: usize, f: &mut dyn FnMut()) {
    if depth == 0 {
        f();
    } else {
        at_depth(black_box(depth - 1), f);
    }
    black_box(depth);
}

fn unwind(c: &mut Criterion) {
    let mut buf = [0usize; 16];
    at_depth(20, &mut || {
        assert_eq!(
            memdiag::__bench::capture(&mut buf),
            16,
            "frame pointers missing?"
        );
        c.bench_function("unwind/16_frames", |b| {
            b.iter(|| black_box(memdiag::__bench::capture(black_box(&mut buf))))
        });
    });
}

fn fast_path(c: &mut Criterion) {
    memdiag::set_sample_rate(memdiag::DEFAULT_RATE);
    let profiled = memdiag::Profiled::new(System);
    let mut g = c.benchmark_group("fast_path");
    for size in [16usize, 256] {
        let layout = Layout::from_size_align(size, 8).unwrap();
        g.bench_function(format!("bare_system/{size}"), |b| {
            b.iter(|| unsafe {
                let p = System.alloc(black_box(layout));
                System.dealloc(black_box(p), layout);
            })
        });
        // One sample per 512 KiB on average: at 16 bytes, one call in
        // 32768 takes the slow path; criterion's mean includes it.
        g.bench_function(format!("memdiag_system/{size}"), |b| {
            b.iter(|| unsafe {
                let p = profiled.alloc(black_box(layout));
                profiled.dealloc(black_box(p), layout);
            })
        });
    }
    g.finish();
}

criterion_group!(benches, unwind, fast_path);
criterion_main!(benches);
