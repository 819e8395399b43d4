//! Memory-behaviour scenarios with known ground truth, the Rust twins of
//! `testdata/go/scenarios`: exactly the functions named `leak_*` keep memory
//! forever; everything else frees what it allocates, plateaus or shrinks.
//! `demo` is the one `memdiag demo` runs.

use std::collections::HashMap;
use std::hint::black_box;
use std::sync::Mutex;
use std::time::{Duration, Instant};

const KIB: usize = 1024;
const MIB: usize = 1024 * KIB;

/// How often every workload does its next step.
const TICK: Duration = Duration::from_millis(20);

/// One thread of a scenario.
pub struct Workload {
    run: fn(usize),
    arg: usize,
    /// The leaking function's name, if it leaks.
    pub leak: Option<&'static str>,
}

const fn w(run: fn(usize), arg: usize) -> Workload {
    Workload {
        run,
        arg,
        leak: None,
    }
}

const fn leak(run: fn(usize), arg: usize, name: &'static str) -> Workload {
    Workload {
        run,
        arg,
        leak: Some(name),
    }
}

const STEADY: &str = "leak_steadily";
const MAP: &str = "leak_into_map";
const STEPS: &str = "leak_in_steps";

/// Every scenario by name, in the order `--list` prints them.
pub fn all() -> Vec<(&'static str, Vec<Workload>)> {
    vec![
        (
            "demo",
            vec![
                leak(steady, 64 * KIB, STEADY),
                w(cache_of_blobs, 4 * MIB),
                w(churn, 4 * MIB),
            ],
        ),
        (
            "leak-fast",
            vec![leak(steady, MIB, STEADY), w(churn, 4 * MIB)],
        ),
        (
            "leak-slow",
            vec![leak(steady, KIB, STEADY), w(churn, 4 * MIB)],
        ),
        ("leak-map", vec![leak(map, 8 * KIB, MAP), w(churn, 2 * MIB)]),
        (
            "leak-steps",
            vec![leak(steps, 256 * KIB, STEPS), w(churn, 2 * MIB)],
        ),
        (
            "two-leaks",
            vec![
                leak(steady, 32 * KIB, STEADY),
                leak(map, 4 * KIB, MAP),
                w(churn, 2 * MIB),
            ],
        ),
        (
            "leak-and-cache",
            vec![
                leak(steady, 16 * KIB, STEADY),
                w(cache_plateau, 8 * MIB),
                w(cache_sawtooth, 4 * MIB),
                w(churn, 2 * MIB),
            ],
        ),
        (
            "leak-in-bursts",
            vec![
                leak(steady, 4 * KIB, STEADY),
                w(bursty, 16 * MIB),
                w(churn, 2 * MIB),
            ],
        ),
        (
            "cache-plateau",
            vec![w(cache_plateau, 8 * MIB), w(churn, 2 * MIB)],
        ),
        (
            "cache-sawtooth",
            vec![w(cache_sawtooth, 4 * MIB), w(churn, 2 * MIB)],
        ),
        ("bursty", vec![w(bursty, 16 * MIB), w(churn, 2 * MIB)]),
        ("warmup", vec![w(warmup, 8 * MIB), w(churn, 2 * MIB)]),
        ("shrinking", vec![w(shrinking, 32 * MIB), w(churn, 2 * MIB)]),
        ("churn-only", vec![w(churn, 8 * MIB)]),
    ]
}

/// Starts the scenario's threads.
pub fn start(workloads: Vec<Workload>) {
    for wl in workloads {
        // The service's workloads run until the process is killed.
        // memdiag:allow(spawn-in-loop)
        std::thread::spawn(move || (wl.run)(wl.arg));
    }
}

/// Calls `step` once per tick with the tick's number, forever (late ticks
/// are caught up).
fn every(mut step: impl FnMut(usize)) -> ! {
    let start = Instant::now();
    let mut n = 0;
    loop {
        step(n);
        n += 1;
        // Paced by the clock, not by the steps taken: on a loaded machine
        // the steps catch up, so rates and fill times hold in wall time
        // (a cache still fills in ~5 s, as the scenarios promise).
        let due = start + TICK * n as u32;
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
    }
}

/// Bytes a workload of `per_sec` bytes per second handles each tick.
fn per_tick(per_sec: usize) -> usize {
    (per_sec as u128 * TICK.as_nanos() / Duration::from_secs(1).as_nanos()) as usize
}

/// A small xorshift generator: no dependency, no allocation.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

static RETAINED: Mutex<Vec<Vec<u8>>> = Mutex::new(Vec::new());
static LEAKED_BY_KEY: Mutex<Option<HashMap<String, Vec<u8>>>> = Mutex::new(None);

fn steady(per_sec: usize) {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    every(|_| leak_steadily(per_tick(per_sec), &mut rng))
}

/// Keeps `n` more bytes forever, in small records.
#[inline(never)]
fn leak_steadily(mut n: usize, rng: &mut Rng) {
    let Ok(mut kept) = RETAINED.lock() else {
        return;
    };
    while n > 0 {
        let size = 64 + rng.below(192);
        kept.push(vec![0u8; size]);
        n = n.saturating_sub(size);
    }
}

fn map(per_sec: usize) {
    every(|n| leak_into_map(n, per_tick(per_sec)))
}

/// Stores values under keys that are never deleted.
#[inline(never)]
fn leak_into_map(tick: usize, mut bytes: usize) {
    let Ok(mut m) = LEAKED_BY_KEY.lock() else {
        return;
    };
    let m = m.get_or_insert_with(HashMap::new);
    let mut i = 0;
    while bytes > 0 {
        m.insert(format!("req-{tick}-{i}"), vec![0u8; 128]);
        bytes = bytes.saturating_sub(128);
        i += 1;
    }
}

fn steps(step: usize) {
    loop {
        leak_in_steps(step);
        std::thread::sleep(Duration::from_secs(4));
    }
}

/// Keeps a batch of buffers forever.
#[inline(never)]
fn leak_in_steps(mut n: usize) {
    let Ok(mut kept) = RETAINED.lock() else {
        return;
    };
    while n > 0 {
        kept.push(vec![0u8; 4 * KIB]);
        n = n.saturating_sub(4 * KIB);
    }
}

fn churn(per_sec: usize) {
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    every(|_| churn_buffers(per_tick(per_sec), &mut rng))
}

/// Allocates `n` bytes of short-lived buffers.
#[inline(never)]
fn churn_buffers(mut n: usize, rng: &mut Rng) {
    while n > 0 {
        let size = KIB + rng.below(63 * KIB);
        black_box(vec![1u8; size]);
        n = n.saturating_sub(size);
    }
}

fn cache_plateau(capacity: usize) {
    fill_cache(capacity, 4 * KIB)
}

/// The demo's cache: fewer, larger entries. At the demo service's sampling
/// rate nearly every entry is sampled, so the estimate of a full cache
/// stays flat; with 4 KiB entries about a third go unsampled and the
/// estimate wanders by ±2 %, which a short recording can mistake for slow
/// growth (the suite's other caches keep that noise on purpose).
fn cache_of_blobs(capacity: usize) {
    fill_cache(capacity, 64 * KIB)
}

/// A bounded cache of `capacity` bytes in `entry`-byte entries, full within
/// about 5 seconds, then only replacing entries at the same pace.
fn fill_cache(capacity: usize, entry: usize) {
    let entries = capacity / entry;
    let mut cache = HashMap::new();
    let mut inserted = 0;
    every(|n| {
        let due = (n + 1) * entries * TICK.as_millis() as usize / 5000;
        for key in inserted..due.max(inserted) {
            cache_insert(&mut cache, key, entries, entry);
        }
        inserted = inserted.max(due);
    })
}

/// Adds an entry to a bounded cache, evicting the oldest.
#[inline(never)]
fn cache_insert(cache: &mut HashMap<usize, Vec<u8>>, key: usize, entries: usize, entry: usize) {
    cache.insert(key, vec![2u8; entry]);
    if key >= entries {
        cache.remove(&(key - entries));
    }
}

fn cache_sawtooth(capacity: usize) {
    // Full within about 5 seconds, then dropped whole.
    let max = capacity / (4 * KIB);
    let per_step = max * TICK.as_millis() as usize / 5000 + 1;
    let mut cache = Vec::new();
    every(|_| sawtooth_fill(&mut cache, per_step, max))
}

/// Grows a cache that is dropped whole when it is full.
#[inline(never)]
fn sawtooth_fill(cache: &mut Vec<Vec<u8>>, add: usize, max: usize) {
    if cache.len() >= max {
        *cache = Vec::new();
    }
    for _ in 0..add {
        cache.push(vec![3u8; 4 * KIB]);
    }
}

fn bursty(size: usize) {
    loop {
        let burst = burst_allocate(size);
        std::thread::sleep(Duration::from_millis(1700));
        drop(black_box(burst));
        std::thread::sleep(Duration::from_millis(3300));
    }
}

/// Allocates a large working set that is freed soon after.
#[inline(never)]
fn burst_allocate(mut size: usize) -> Vec<Vec<u8>> {
    let mut parts = Vec::new();
    while size > 0 {
        parts.push(vec![4u8; 64 * KIB]);
        size = size.saturating_sub(64 * KIB);
    }
    parts
}

fn warmup(target: usize) {
    // Grows by a fixed fraction of what is still missing (a 3 s half-life
    // or so): fast at first, then flat.
    let mut pool = Vec::new();
    let mut have = 0;
    every(|_| {
        let want = (target - have) / 200;
        if want >= 4 * KIB {
            warm_pool(&mut pool, want);
            have += want;
        }
    })
}

/// Grows a pool towards its working size.
#[inline(never)]
fn warm_pool(pool: &mut Vec<Vec<u8>>, mut n: usize) {
    while n > 0 {
        pool.push(vec![5u8; 4 * KIB]);
        n = n.saturating_sub(4 * KIB);
    }
}

fn shrinking(initial: usize) {
    // Released over about 20 seconds.
    let mut parts = load_initial(initial);
    let per_step = parts.len() / (20_000 / TICK.as_millis() as usize) + 1;
    every(|_| {
        let k = per_step.min(parts.len());
        parts.drain(..k);
    })
}

/// Allocates a large set that the program then releases.
#[inline(never)]
fn load_initial(mut n: usize) -> Vec<Vec<u8>> {
    let mut parts = Vec::new();
    while n > 0 {
        parts.push(vec![6u8; 16 * KIB]);
        n = n.saturating_sub(16 * KIB);
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scenario_names_are_unique_and_truth_names_exist() {
        let all = all();
        let mut names: Vec<_> = all.iter().map(|(n, _)| *n).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), all.len());
        let src = include_str!("scenarios.rs");
        for (_, ws) in &all {
            for name in ws.iter().filter_map(|w| w.leak) {
                assert!(src.contains(&format!("fn {name}(")), "{name}");
            }
        }
    }

    #[test]
    fn per_tick_scales_by_the_tick() {
        assert_eq!(per_tick(1000 * 50), 1000);
    }
}
