// The alloc-heavy workload shared by the overhead examples: `ops` mixed-size
// allocations, each replacing (freeing) one of 1024 live slots, on `threads`
// threads; a third argument picks the allocation sequence. Prints the wall
// time.

use std::time::Instant;

#[inline(never)]
fn work(ops: usize, seed: u64) -> usize {
    let mut x = seed | 1;
    let mut slots: Vec<Vec<u8>> = (0..1024).map(|_| Vec::new()).collect();
    let mut sum = 0usize;
    for i in 0..ops {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let r = x as usize;
        // mostly small, some medium, rare large
        let size = match r % 100 {
            0..=79 => 8 + (r >> 8) % 256,
            80..=97 => 256 + (r >> 8) % 4096,
            _ => 4096 + (r >> 8) % 65536,
        };
        let mut v = Vec::with_capacity(size);
        v.push(i as u8);
        sum = sum.wrapping_add(v.capacity());
        slots[i & 1023] = v;
    }
    sum
}

pub fn run(label: &str) {
    let mut args = std::env::args().skip(1);
    let ops: usize = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or(20_000_000);
    let threads: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(1);
    // A third argument varies the allocation sequence (see bench-collector).
    let seed: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(0);
    let start = Instant::now();
    let hs: Vec<_> = (0..threads)
        .map(|t| {
            std::thread::spawn(move || work(ops / threads, 0x9e37_79b9 + (seed << 8) + t as u64))
        })
        .collect();
    let sum: usize = hs.into_iter().map(|h| h.join().unwrap()).sum();
    let el = start.elapsed();
    println!(
        "{label} threads={threads} ops={ops} time={:.3}s ns/op={:.2} (sum {sum})",
        el.as_secs_f64(),
        el.as_nanos() as f64 / ops as f64 * threads as f64
    );
}
