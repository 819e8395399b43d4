//! Load: 200 concurrent fetches of `heap` and of the index while the app
//! allocates on two threads. All succeed, the app keeps allocating, nothing
//! deadlocks (every request has a read timeout; the counts are fixed).
#![cfg(feature = "http")]

mod http_common;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

#[global_allocator]
static ALLOC: memdiag::Profiled<std::alloc::System> = memdiag::Profiled::new(std::alloc::System);

#[inline(never)]
fn app_work(i: u64, kept: &mut Vec<Vec<u8>>) {
    let v = vec![i as u8; 64 + (i % 3000) as usize];
    if i.is_multiple_of(16) {
        kept.push(v);
        if kept.len() > 2000 {
            kept.drain(..1000);
        }
    }
}

#[test]
fn two_hundred_concurrent_fetches_while_the_app_allocates() {
    let server = memdiag::http::serve("127.0.0.1:0").expect("serve");
    let base = server.url();
    let stop = Arc::new(AtomicBool::new(false));
    let progress = Arc::new(AtomicU64::new(0));
    let app: Vec<_> = (0..2)
        .map(|_| {
            let (stop, progress) = (stop.clone(), progress.clone());
            std::thread::spawn(move || {
                let mut kept = Vec::new();
                let mut i = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    app_work(i, &mut kept);
                    i += 1;
                    progress.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();

    // Let the app allocate ~30 MB first (about 60 samples at the default
    // 512 KiB rate), so that every fetch has something to show: a fetch
    // that wins the race with the app's first sample gets an empty heap.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while progress.load(Ordering::Relaxed) < 20_000 {
        assert!(
            std::time::Instant::now() < deadline,
            "the app did not start"
        );
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    let before = progress.load(Ordering::Relaxed);
    let clients: Vec<_> = (0..200)
        .map(|n| {
            let url = if n % 2 == 0 {
                format!("{base}heap")
            } else {
                base.clone()
            };
            std::thread::spawn(move || (url.clone(), http_common::get(&url)))
        })
        .collect();
    let mut heaps = 0;
    for c in clients {
        let (url, a) = c.join().expect("client thread");
        assert_eq!(a.status, 200, "{url}: {}", a.text());
        if url.ends_with("heap") {
            let p = memdiag_profile::decode(&a.body).unwrap_or_else(|e| panic!("{url}: {e}"));
            assert!(!p.samples.is_empty(), "{url}: empty profile");
            heaps += 1;
        } else {
            assert!(a.text().contains("<a href='heap?debug=1'>heap</a>"));
        }
    }
    assert_eq!(heaps, 100);
    let during = progress.load(Ordering::Relaxed);
    assert!(during > before, "the app made no progress while serving");
    stop.store(true, Ordering::Relaxed);
    for t in app {
        t.join().expect("app thread");
    }

    // The server's own work is not in the profile: no frame of the server
    // (tokio, axum, hyper) appears in the heap.
    let p = memdiag::heap_profile();
    for s in p.samples.iter() {
        for &l in s.locations {
            for line in &p.locations[l as usize].lines {
                let name = p.function_name(line);
                assert!(
                    !(name.contains("tokio::")
                        || name.contains("hyper::")
                        || name.contains("axum::")),
                    "server frame in the app's profile: {name}"
                );
            }
        }
    }
    server.stop();
}
