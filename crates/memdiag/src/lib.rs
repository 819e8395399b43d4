//! memdiag collector: a sampling heap profiler for Rust programs that writes
//! pprof heap profiles (Go's four sample types), readable by `memdiag top`
//! and `go tool pprof`.
//!
//! ```no_run
//! #[global_allocator]
//! static ALLOC: memdiag::Profiled<std::alloc::System> = memdiag::Profiled::new(std::alloc::System);
//!
//! fn main() {
//!     // ... work ...
//!     memdiag::write_heap_profile("heap.pb.gz").unwrap();
//! }
//! ```
//!
//! Build with frame pointers, or stacks stop at the first function without
//! one: `RUSTFLAGS="-C force-frame-pointers=yes"` (this workspace sets it in
//! `.cargo/config.toml`; the Rust standard library ships with frame pointers).
//!
//! # Design
//!
//! **Sampling.** Like Go's runtime: each thread counts down the bytes it
//! allocates; when the countdown crosses zero the allocation is sampled and a
//! new interval is drawn from an exponential distribution of mean `rate`
//! (default 512 KiB; [`set_sample_rate`], or `MEMDIAG_RATE` read on first
//! use). A sampled block of size `s` stands for `w = 1/(1-e^(-s/rate))`
//! allocations and `s*w` bytes (exactly 1 and `s` at rate 1, which records
//! every allocation; rate 0 turns sampling off). The countdown, the per-thread
//! xorshift RNG, the reentrancy flag and the cached stack top live in one
//! `const`-initialized thread local of `Cell`s with no destructor, so the
//! unsampled allocation is a decrement and a compare: no lock, no
//! allocation, and it works during thread exit and in TLS destructors.
//!
//! **Knowing on free whether a block was sampled.** Sampled blocks are not
//! served by the inner allocator: they come from a separate 64 GiB range
//! reserved once (`mmap(PROT_NONE, MAP_NORESERVE)`, aligned to its size,
//! pages committed with `mprotect` as used). A free is sampled iff
//! `ptr & !(64 GiB - 1) == base`: one load, one mask, one compare, no lock,
//! no hash; everything else goes straight to the inner allocator. Inside the
//! range a small allocator serves sampled blocks: power-of-two size classes
//! with free lists (blocks of 64 KiB and more return their pages to the
//! kernel when freed), each block preceded by a 32-byte header holding its
//! stack id and the weights it added. Alignments above 4 KiB are not
//! sampled. If the reservation fails, or the range is exhausted, the
//! allocations that would have been sampled are served unsampled by the
//! inner allocator (a fallback side table is future work).
//!
//! **Stacks.** Captured at sample time by walking frame pointers (x86_64
//! `rbp`, aarch64 `x29`), each record validated (aligned, above the current
//! stack pointer, below the thread's stack top from `pthread_getattr_np`,
//! cached per thread, strictly increasing), at most 64 frames. The walk
//! starts at the caller of the (never inlined) slow-path function, so the
//! profiler's own frames are never recorded whatever the optimizer inlined;
//! the global-allocator shims (`__rust_alloc`…) are dropped at export. Stacks are
//! interned in a fixed-size open-addressed table (65 536 entries, frames in an
//! append-only store) under the same spin lock as the sampled-block arena —
//! acceptable since only sampled allocations and frees of sampled blocks
//! take it; a lock-free table is planned. Each stack has four atomic
//! counters (alloc/inuse objects and bytes, estimated values). A full table
//! charges samples to an empty stack. The lock is taken/released around
//! `fork` (`pthread_atfork`).
//!
//! **Export.** [`heap_profile`] symbolizes lazily (the `backtrace` crate:
//! DWARF line tables, inlined frames as several lines of one location,
//! demangled names without hash; with `debug = "line-tables-only"`, whose
//! DWARF names lack their paths, the real function of each location takes
//! its name from the ELF symbol table), drops the global-allocator shims and
//! any inlined memdiag frames from the leaf end, and adds a mapping for the
//! main executable with its build id. Everything the profiler allocates goes
//! to the inner allocator (per-thread reentrancy guard) and never shows in
//! the profile.
//!
//! **Cost.** `examples/overhead` vs `examples/overhead_bare` (20M mixed-size
//! allocations and frees over `System`, default rate): ×1.03–1.05 on one
//! thread, within noise on two; in instructions (callgrind) the unsampled
//! path costs about 5 instructions per call over a plain forwarding wrapper.
//!
//! **At exit.** With `MEMDIAG_PROFILE=path` in the environment, the profile
//! is written to `path` when the process exits normally (an `atexit` handler,
//! registered at the first allocation).
//!
//! **Peak and RSS.** [`peak_profile`] gives the sampled live set at the
//! highest estimated live heap (re-recorded whenever the live heap passes the
//! last peak by 1 % or 64 KiB: O(stacks) each time). [`memory_stats`] gives
//! RSS, the estimated live heap and their gap; profiles carry them as
//! comments.
//!
//! Not yet: DWARF-unwinding fallback, a lock-free stack table, a side-table
//! fallback when the reservation fails.

use std::alloc::{GlobalAlloc, Layout};

mod export;
mod lock;
mod sampler;
mod state;
mod unwind;

pub use export::{heap_profile, memory_stats, peak_profile, write_heap_profile, MemoryStats};
pub use sampler::{sample_rate, set_sample_rate, DEFAULT_RATE};

/// A global allocator that samples the allocations of `inner`.
pub struct Profiled<A> {
    inner: A,
}

impl<A> Profiled<A> {
    pub const fn new(inner: A) -> Self {
        Profiled { inner }
    }
}

impl<A: GlobalAlloc> Profiled<A> {
    /// Serves `layout` from the sampled arena, recording the caller's stack.
    #[cold]
    #[inline(never)]
    /// `fp` is the frame pointer of the slow-path function that called this
    /// one: the recorded stack starts at its caller (the allocation site),
    /// so the profiler's own frames never show, however it was inlined.
    unsafe fn alloc_sampled(&self, layout: Layout, zeroed: bool, fp: usize) -> Option<*mut u8> {
        let size = layout.size();
        let p = sampler::enter(|| {
            let mut frames = [0usize; unwind::MAX_FRAMES];
            let n = unwind::capture(fp, &mut frames);
            let (wbytes, wobjects) = weights(size, sampler::sample_rate());
            // SAFETY: forwarded from the caller's GlobalAlloc contract.
            unsafe { state::alloc_sampled(size, layout.align(), &frames[..n], wbytes, wobjects) }
        })
        .flatten()?;
        if zeroed {
            // Recycled blocks hold old data.
            std::ptr::write_bytes(p, 0, size);
        }
        Some(p)
    }
}

/// Estimated (unsampled) bytes and objects (fixed point) one sample of
/// `size` bytes stands for at `rate`.
fn weights(size: usize, rate: usize) -> (u64, u64) {
    let one = 1u64 << state::FP_SHIFT;
    if rate <= 1 || size == 0 {
        return (size as u64, one);
    }
    let w = 1.0 / (1.0 - (-(size as f64) / rate as f64).exp());
    (
        (size as f64 * w).round() as u64,
        (w * one as f64).round() as u64,
    )
}

// SAFETY: every block comes from `inner` or from the sampled arena, and is
// returned to where it came from (decided by `state::is_sampled`).
unsafe impl<A: GlobalAlloc> GlobalAlloc for Profiled<A> {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if sampler::countdown_expired(layout.size()) {
            return self.alloc_slow(layout, false);
        }
        self.inner.alloc(layout)
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if sampler::countdown_expired(layout.size()) {
            return self.alloc_slow(layout, true);
        }
        self.inner.alloc_zeroed(layout)
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if state::is_sampled(ptr) {
            state::free_sampled(ptr);
        } else {
            self.inner.dealloc(ptr, layout);
        }
    }

    /// A free of the old block plus an allocation of `new_size`, sampled
    /// like any other allocation.
    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let expired = sampler::countdown_expired(new_size);
        if !expired && !state::is_sampled(ptr) {
            return self.inner.realloc(ptr, layout, new_size);
        }
        self.realloc_slow(ptr, layout, new_size, expired)
    }
}

impl<A: GlobalAlloc> Profiled<A> {
    /// An allocation whose countdown ran out: sampled, or (reentrant call,
    /// sampling off, arena unavailable) served by `inner`.
    /// Must stay `inline(never)`: its frame is where recorded stacks start.
    #[cold]
    #[inline(never)]
    unsafe fn alloc_slow(&self, layout: Layout, zeroed: bool) -> *mut u8 {
        if sampler::decide(layout.size()) {
            let fp = unwind::frame_pointer();
            if let Some(p) = self.alloc_sampled(layout, zeroed, fp) {
                return p;
            }
        }
        if zeroed {
            self.inner.alloc_zeroed(layout)
        } else {
            self.inner.alloc(layout)
        }
    }

    /// Must stay `inline(never)`: its frame is where recorded stacks start.
    #[cold]
    #[inline(never)]
    unsafe fn realloc_slow(
        &self,
        ptr: *mut u8,
        layout: Layout,
        new_size: usize,
        expired: bool,
    ) -> *mut u8 {
        let old_sampled = state::is_sampled(ptr);
        let new_layout = Layout::from_size_align_unchecked(new_size, layout.align());
        let sampled = if expired && sampler::decide(new_size) {
            self.alloc_sampled(new_layout, false, unwind::frame_pointer())
        } else {
            None
        };
        if !old_sampled {
            // The new block is sampled, or sampling it was declined/failed.
            let Some(np) = sampled else {
                return self.inner.realloc(ptr, layout, new_size);
            };
            std::ptr::copy_nonoverlapping(ptr, np, layout.size().min(new_size));
            self.inner.dealloc(ptr, layout);
            return np;
        }
        let np = match sampled {
            Some(np) => np,
            None => self.inner.alloc(new_layout),
        };
        if np.is_null() {
            return np;
        }
        std::ptr::copy_nonoverlapping(ptr, np, layout.size().min(new_size));
        state::free_sampled(ptr);
        np
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_at_rate_one_are_exact() {
        assert_eq!(weights(100, 1), (100, 1 << state::FP_SHIFT));
    }

    #[test]
    fn weights_scale_small_blocks_up() {
        let (b, o) = weights(1024, 512 * 1024);
        // 1/(1-e^-(1/512)) ~ 512.5
        let objs = o as f64 / (1u64 << state::FP_SHIFT) as f64;
        assert!((objs - 512.5).abs() < 0.1, "{objs}");
        assert!((b as f64 - 1024.0 * 512.5).abs() < 200.0, "{b}");
        // Large blocks count about once.
        let (b, _) = weights(64 << 20, 512 * 1024);
        assert_eq!(b, 64 << 20);
    }
}
