//! A program that allocates on two threads and serves its profiles at
//! `/debug/pprof/`, as a Go service with `net/http/pprof` does.
//!
//! ```text
//! cargo run -p memdiag --features http --example http_server -- 127.0.0.1:6060
//! go tool pprof -top http://127.0.0.1:6060/debug/pprof/heap
//! memdiag top http://127.0.0.1:6060/debug/pprof/allocs
//! go tool pprof -top 'http://127.0.0.1:6060/debug/pprof/profile?seconds=5'
//! ```
//!
//! Prints `listening on http://ADDR/debug/pprof/` once serving (port 0 picks
//! a free port), then runs until killed. `MEMDIAG_EXAMPLE_LIMIT_MB` (default
//! 64) bounds what the `retain` thread keeps.

use std::io::Write;
use std::time::Duration;

#[global_allocator]
static ALLOC: memdiag::Profiled<std::alloc::System> = memdiag::Profiled::new(std::alloc::System);

/// Keeps 16 KiB per call (the "leak"), up to the limit.
#[inline(never)]
fn retain_block(kept: &mut Vec<Vec<u8>>, i: usize) {
    kept.push(vec![i as u8; 16 * 1024]);
}

/// Allocates and frees buffers of mixed sizes, burning some CPU.
#[inline(never)]
fn churn(i: usize) -> u64 {
    let v: Vec<u64> = (0..(i % 4000) as u64 + 64).collect();
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    for x in &v {
        h = (h ^ x).wrapping_mul(0x0100_0000_01b3);
    }
    let s = format!("{h:x}{}", v.len());
    h ^ s.len() as u64
}

fn main() {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:6060".to_string());
    let limit_mb: usize = std::env::var("MEMDIAG_EXAMPLE_LIMIT_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64);
    let server = match memdiag::http::serve(&addr) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("http_server: {e}");
            std::process::exit(2);
        }
    };

    let retain = std::thread::Builder::new()
        .name("retain".into())
        .spawn(move || {
            let mut kept = Vec::new();
            let mut i = 0;
            loop {
                if kept.len() * 16 < limit_mb * 1024 {
                    retain_block(&mut kept, i);
                    i += 1;
                }
                std::thread::sleep(Duration::from_micros(200));
            }
        })
        .expect("spawn");
    let churner = std::thread::Builder::new()
        .name("churn".into())
        .spawn(|| {
            let mut sink = 0u64;
            let mut i = 0usize;
            loop {
                sink = sink.wrapping_add(churn(i));
                i = i.wrapping_add(1);
                if i.is_multiple_of(256) {
                    std::hint::black_box(sink);
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
        })
        .expect("spawn");

    println!("listening on {}", server.url());
    let _ = std::io::stdout().flush();
    let _ = retain.join();
    let _ = churner.join();
}
