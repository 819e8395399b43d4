//! `memdiag::testing`: leaks and peaks of a scope, exactly, with the stacks
//! of what is left.

use memdiag::testing::{self, assert_no_leak, measure, Limits};
use std::sync::{Barrier, Mutex};

#[global_allocator]
static ALLOC: memdiag::Profiled<std::alloc::System> = memdiag::Profiled::new(std::alloc::System);

/// Leaks one 4000-byte block.
#[inline(never)]
fn leak_some() {
    Box::leak(vec![7u8; 4000].into_boxed_slice());
}

/// Allocates and frees: 100 strings and the Vec holding them.
#[inline(never)]
fn churn() -> usize {
    let v: Vec<String> = (0..100).map(|i| format!("item {i}")).collect();
    v.iter().map(String::len).sum()
}

/// The panic message of `f`.
fn panic_message(f: impl FnOnce() + std::panic::UnwindSafe) -> String {
    let e = std::panic::catch_unwind(f).expect_err("expected a panic");
    match e.downcast::<String>() {
        Ok(s) => *s,
        Err(e) => e.downcast_ref::<&str>().unwrap_or(&"?").to_string(),
    }
}

#[test]
fn a_leak_fails_with_its_stack() {
    let msg = panic_message(|| assert_no_leak(leak_some));
    assert!(msg.contains("leak: 4000 B in 1 objects"), "{msg}");
    // The leaking function heads the stack.
    let first = msg.lines().nth(2).unwrap_or("");
    assert!(first.contains("testing::leak_some"), "{msg}");
}

#[test]
fn no_leak_passes() {
    assert_eq!(
        assert_no_leak(churn),
        (0..100).map(|i| format!("item {i}").len()).sum()
    );
    let m = measure(churn);
    assert_eq!((m.leaked_bytes, m.leaked_objects), (0, 0));
    // 100 strings + at least the Vec.
    assert!(m.allocations >= 101, "{m:?}");
}

#[test]
fn peak_is_exact() {
    let m = measure(|| {
        let a: Vec<u8> = Vec::with_capacity(1000); // live 1000
        let b: Vec<u64> = Vec::with_capacity(500); // live 5000
        drop(a); // live 4000
        let c = Box::new([0u16; 1500]); // live 7000: the peak
        drop(b); // live 3000
        let d: Vec<u32> = Vec::with_capacity(1000); // live 7000 again, not above
        drop((c, d));
        Box::new(0u64) // still live when the closure returns: 8 bytes
    });
    assert_eq!(m.peak_bytes, 7000);
    assert_eq!(m.allocations, 5);
    assert_eq!(m.allocated_bytes, 1000 + 4000 + 3000 + 4000 + 8);
    assert_eq!((m.leaked_bytes, m.leaked_objects), (8, 1));
}

/// A realloc is an allocation of the new size, then the free of the old
/// block: 16 + 32 bytes live at its peak.
#[test]
fn realloc_counts_both_blocks_at_the_peak() {
    let m = measure(|| {
        let mut v: Vec<u8> = Vec::with_capacity(16);
        v.reserve_exact(32);
        v
    });
    assert_eq!(m.peak_bytes, 48);
    assert_eq!(m.leaked_bytes, 32);
}

#[test]
fn frees_on_another_thread_are_credited() {
    static SLOT: Mutex<Option<Vec<u8>>> = Mutex::new(None);
    static HANDOFF: Barrier = Barrier::new(2);
    // Started before the scope: it is not in it.
    let freer = std::thread::spawn(|| {
        HANDOFF.wait();
        drop(SLOT.lock().unwrap().take());
        HANDOFF.wait();
    });
    let m = measure(|| {
        *SLOT.lock().unwrap() = Some(vec![1u8; 10_000]);
        HANDOFF.wait();
        HANDOFF.wait(); // the other thread has freed it
    });
    freer.join().unwrap();
    assert_eq!(m.allocations, 1);
    assert_eq!(m.peak_bytes, 10_000);
    assert_eq!(m.leaked_bytes, 0);
}

#[inline(never)]
fn leak_in_child() {
    Box::leak(Box::new([3u8; 5000]));
}

#[test]
fn spawned_threads_are_charged_to_the_scope() {
    let msg = panic_message(|| {
        assert_no_leak(|| testing::spawn(leak_in_child).join().unwrap());
    });
    assert!(msg.contains("testing::leak_in_child"), "{msg}");
}

/// Threads not started through the scope are not charged to it.
#[test]
fn other_threads_are_not_charged() {
    static GO: Barrier = Barrier::new(2);
    let other = std::thread::spawn(|| {
        GO.wait();
        let kept = vec![0u8; 3000];
        GO.wait();
        kept
    });
    let m = measure(|| {
        GO.wait();
        GO.wait(); // the other thread allocated meanwhile
    });
    assert_eq!(other.join().unwrap().len(), 3000);
    assert_eq!((m.allocations, m.peak_bytes, m.leaked_bytes), (0, 0, 0));
}

#[test]
fn limits_tolerate_and_ignore() {
    Limits::new().max_leak(4000).run(leak_some);
    Limits::new().ignore("leak_some$").run(leak_some);
    let msg = panic_message(|| Limits::new().max_leak(3999).run(leak_some));
    assert!(msg.contains("max_leak 3999 B"), "{msg}");
    let msg = panic_message(|| {
        Limits::new()
            .max_peak(999)
            .run(|| drop(Vec::<u8>::with_capacity(1000)));
    });
    assert!(
        msg.contains("peak of 1000 B live over the limit of 999 B"),
        "{msg}"
    );
}

#[test]
fn warm_up_pays_one_time_allocations_first() {
    let cache = std::sync::OnceLock::new();
    let fill = || {
        cache.get_or_init(|| vec![0u8; 4096]);
    };
    let msg = panic_message(|| assert_no_leak(fill));
    assert!(msg.contains("4096 B"), "{msg}");
    let cache = std::sync::OnceLock::new();
    Limits::new().run_warm(|| {
        cache.get_or_init(|| vec![0u8; 4096]);
    });
}

#[test]
fn scopes_do_not_nest() {
    let msg = panic_message(|| {
        measure(|| measure(|| ()));
    });
    assert!(msg.contains("do not nest"), "{msg}");
    // The failed scopes were closed: a new one opens.
    assert_eq!(measure(|| ()).allocations, 0);
}

#[test]
fn leaks_show_in_the_leak_profile() {
    let m = measure(leak_some);
    let p = m.leak_profile();
    let leak = p.samples.iter().find(|s| s.values == [1, 4000]);
    let names: Vec<&str> = leak
        .map(|s| s.locations)
        .unwrap_or(&[])
        .iter()
        .flat_map(|&l| &p.locations[l as usize].lines)
        .map(|line| p.function_name(line))
        .collect();
    assert!(names.contains(&"testing::leak_some"), "{names:?}");
}
