//! Stress: 8 threads with realloc storms, threads that start and exit,
//! allocation in TLS destructors, concurrent profile export, and `fork` with
//! a child that allocates — all within a timeout (no deadlock, no crash),
//! with the frame-pointer walk and again with the DWARF unwinder.

use std::sync::mpsc;
use std::time::{Duration, Instant};

#[global_allocator]
static ALLOC: memdiag::Profiled<std::alloc::System> = memdiag::Profiled::new(std::alloc::System);

struct AllocOnDrop(Vec<u8>);

impl Drop for AllocOnDrop {
    fn drop(&mut self) {
        // Allocates (and grows) during thread teardown.
        let mut v: Vec<u64> = Vec::new();
        for i in 0..1000 {
            v.push(i);
        }
        self.0.extend_from_slice(&[1; 100]);
        std::hint::black_box((&v, &self.0));
    }
}

thread_local! {
    static ON_EXIT: std::cell::RefCell<AllocOnDrop> =
        const { std::cell::RefCell::new(AllocOnDrop(Vec::new())) };
}

#[inline(never)]
fn realloc_storm(seed: usize) -> usize {
    let mut total = 0;
    let mut bufs: Vec<Vec<u8>> = Vec::new();
    for i in 0..2000 {
        let mut v = Vec::new();
        for j in 0..((i * 7 + seed) % 300) {
            v.push(j as u8);
        }
        v.shrink_to_fit();
        let mut s = String::with_capacity(3);
        s.push_str(&"x".repeat(i % 50));
        total += v.len() + s.len();
        bufs.push(v);
        if bufs.len() > 64 {
            bufs.swap_remove(i % 64);
        }
        if i % 500 == 0 {
            let big = vec![0u8; 300 << 10];
            total += big.len();
        }
    }
    total
}

fn short_lived_threads(n: usize) {
    let hs: Vec<_> = (0..n)
        .map(|k| {
            std::thread::spawn(move || {
                ON_EXIT.with(|d| d.borrow_mut().0.push(k as u8));
                realloc_storm(k)
            })
        })
        .collect();
    for h in hs {
        h.join().unwrap();
    }
}

fn fork_child_allocates() {
    // SAFETY: the child only allocates, then _exits.
    unsafe {
        let pid = libc::fork();
        assert!(pid >= 0, "fork failed");
        if pid == 0 {
            let v: Vec<Vec<u8>> = (0..1000).map(|i| vec![i as u8; i * 10]).collect();
            let p = memdiag::heap_profile();
            let ok = !v.is_empty() && p.sample_types.len() == 4;
            libc::_exit(if ok { 0 } else { 1 });
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let mut status = 0;
            let r = libc::waitpid(pid, &mut status, libc::WNOHANG);
            if r == pid {
                assert!(
                    libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
                    "child failed: {status}"
                );
                return;
            }
            if Instant::now() > deadline {
                libc::kill(pid, libc::SIGKILL);
                panic!("forked child deadlocked");
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

#[test]
fn stress_without_deadlock() {
    stress(memdiag::Unwind::FramePointers);
    // The DWARF unwinder sets up its tables at its first stack, while
    // other threads allocate and fork.
    stress(memdiag::Unwind::Dwarf);
}

fn stress(unwind: memdiag::Unwind) {
    memdiag::set_unwind(unwind);
    // A small rate sends many allocations down the sampled path.
    memdiag::set_sample_rate(4096);
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let workers: Vec<_> = (0..8)
            .map(|t| {
                std::thread::spawn(move || {
                    ON_EXIT.with(|d| d.borrow_mut().0.push(t as u8));
                    let mut n = 0;
                    for round in 0..6 {
                        n += realloc_storm(t * 31 + round);
                        if round % 2 == 0 {
                            short_lived_threads(2);
                        }
                    }
                    n
                })
            })
            .collect();
        for _ in 0..5 {
            let p = memdiag::heap_profile();
            assert_eq!(p.sample_types.len(), 4);
            fork_child_allocates();
        }
        for w in workers {
            w.join().unwrap();
        }
        tx.send(()).unwrap();
    });
    rx.recv_timeout(Duration::from_secs(240))
        .expect("stress did not finish: deadlock?");
    let p = memdiag::heap_profile();
    assert!(p.samples.len() > 1);
}
