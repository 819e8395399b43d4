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
//! no hash; everything else goes straight to the inner allocator. The range
//! is cut into 16 shards of 4 GiB, each a small allocator with its own spin
//! lock: power-of-two size classes with free lists (blocks of 1 MiB and
//! more return their pages past the first to the kernel when freed), each
//! block preceded by a 32-byte header holding its stack id and the weights
//! it added. At its first sample a thread claims a shard and holds its lock
//! until it exits (a thread-local destructor releases it), so its sampled
//! allocations and frees take no lock and touch no line another thread
//! writes. A block freed by another thread goes to its shard's lock-free
//! remote list, which the holder takes over when a free list runs dry.
//! Four shards are never held: threads beyond the twelve holders, and
//! threads past their destructor, share them under their locks.
//! Alignments above 4 KiB are not sampled. If the reservation fails (it
//! takes 128 GiB of address space, to align the range: `ulimit -v` below
//! that refuses it), the collector says so once on stderr and every
//! allocation is served unsampled by the inner allocator; so are those of
//! an exhausted shard (a fallback side table is future work).
//!
//! **Stacks.** Captured at sample time by walking frame pointers (x86_64
//! `rbp`, aarch64 `x29`), each record validated (aligned, above the current
//! stack pointer, below the thread's stack top from `pthread_getattr_np`,
//! cached per thread, strictly increasing), at most 64 frames; 16 frames
//! take about 15 ns (`cargo bench -p memdiag`, `unwind/16_frames`). The walk
//! starts at the caller of the (never inlined) slow-path function, so the
//! profiler's own frames are never recorded whatever the optimizer inlined;
//! the global-allocator shims (`__rust_alloc`…) are dropped at export.
//!
//! **DWARF fallback.** When the frame-pointer walk finds fewer than two
//! frames — the code that called the allocator was built without frame
//! pointers — the stack is taken again from the unwind tables
//! (`.eh_frame`), skipping the frames up to the slow path's stack pointer
//! so it starts at the same caller. On x86_64 with framehop (`dwarf.rs`):
//! the loaded objects' tables are read in place, in memory, and each
//! thread keeps framehop's rule caches (eight of them: one direct-mapped
//! cache let two frames of a stack evict each other at every unwind),
//! about 80 ns more per sample than the frame-pointer walk. Elsewhere, or
//! for an object loaded after the tables were read, libgcc's
//! `_Unwind_Backtrace` through the `backtrace` crate (about 2 µs a
//! sample). `scripts/bench-collector --no-fp` (the workload built without
//! frame pointers): ×1.09–1.10 of bare mimalloc at the default rate (×1.28
//! with libgcc, measured A/B), ×9.3 at rate 1 (115 ns per operation;
//! 1,070 with libgcc). `MEMDIAG_UNWIND=dwarf` (or [`set_unwind`]) uses DWARF for
//! every sample, `MEMDIAG_UNWIND=fp` never. Chosen over a cheaper heuristic
//! ("the walk ended on a bad record") because with a libc built without
//! frame pointers every walk ends that way at its outermost frames. A mid-stack
//! function without frame pointers still truncates the frame-pointer walk
//! (above two frames, undetected).
//!
//! **Stack table.** Lock-free: entries are appended to a dense array (a
//! reserved slot, frames copied to an append-only store, then a `ready`
//! flag), then published by one compare-and-swap into an open-addressed
//! index of 131 072 slots (hash tag and entry id in one 64-bit word); lookups
//! are plain loads. A per-thread cache of 16 recent stacks, keyed by the two
//! innermost return addresses and checked by comparing the frames, lets a
//! repeated allocation site skip the hash and the index. At most 65 536
//! distinct stacks (2^22 frames); beyond that samples are charged to an
//! empty stack. Counters (alloc/inuse objects and bytes, estimated) are
//! kept per stack *per shard*, written only by the shard's holder (the
//! freeing thread's shard on a free: only the sums are meaningful), summed
//! at export, so no counter cache line bounces between threads; so are the
//! live-byte totals, each on its own cache line. Every lock taken for an
//! operation is held across `fork` (`pthread_atfork`); a shard held by
//! another thread stays unused in the child.
//!
//! **Export.** Symbolized lazily, when a profile is taken: the `backtrace`
//! crate's gimli reader over the program and its shared libraries, names
//! demangled, inlined frames as one location with several lines. The
//! mappings are the loaded objects from the loader (`dl_iterate_phdr`),
//! the program first, each with its GNU build id, and every location
//! points at the one holding its address.
//!
//! **Profiler memory** ([`MemoryStats::profiler_bytes`]): the index
//! (1 MiB, touched at random, counted whole), then 48 bytes per distinct
//! stack, 8 bytes per stored frame and 32 bytes per stack per shard in use:
//! within 2 MiB + O(distinct stacks). Tables are mapped `MAP_NORESERVE` and
//! only the touched pages count. Sampled blocks themselves are the
//! program's memory, but cost a 32-byte header and power-of-two rounding
//! each (at rate 1 up to about twice the live heap).
//!
//! **Cost.** `scripts/bench-collector` runs the alloc-heavy workload of
//! `examples/shared/workload.rs` (20M mixed-size allocations and frees) as
//! one binary per variant (`benches/collector-peers`) and prints medians
//! and ratios to the bare inner allocator measured in the same run, each
//! round on a new allocation sequence (glibc's heap trimming makes any one
//! sequence a lucky or unlucky baseline). On a quiet 2-core machine, 9
//! rounds (`-n 9 --no-dhat`), default rate: over System ×0.97 (1 thread)
//! and ×0.92 (2 threads), over mimalloc ×0.95 and ×0.92; below 1 because
//! the sampled blocks, mostly large, are served by the arena instead. With
//! sampling off the fast-path checks cost 1.5–2.5 % over mimalloc.
//! pprof-alloc 0.6 ×1.74–1.76, rpprof 0.18 ×1.42–1.62, jemalloc's profiler
//! ×1.22–1.23 in the same run. Full tracking (rate 1, 2 threads): ×0.67 of
//! bare System, ×2.29 of bare mimalloc; what is left is the unwind,
//! comparing the stack with the cached one, the header read on free, and
//! power-of-two blocks. heaptrack ×13.0, dhat-rs ×48.5 (2M operations;
//! its cost grows faster than linearly). `cargo bench -p
//! memdiag`: a 16-frame unwind 14.5 ns; a 256-byte alloc+free 6.03 ns
//! against 5.63 ns on bare System (16 bytes: 6.30 against 5.55).
//!
//! **Test scopes** ([`testing`]). A thread in a scope keeps its countdown
//! at 0, so each of its allocations takes the slow path, which sends it to
//! the arena with exact weights (size, one object) and the scope's tag in
//! the header's spare word; no test is added to the fast path. The header
//! then threads the block into the scope's list of live blocks in the
//! block's shard range (under that list's lock), and a small fixed table
//! of scopes holds each one's live bytes and high-water mark (atomics).
//! A free on any thread finds the tag in the header and credits the scope.
//! Stacks are walked only up to the scope's entry frame. Closing a scope
//! takes each list lock once and walks its list: the blocks still live
//! are the leak, by stack; they stay in the process profile as exact
//! samples.
//!
//! **At exit.** With `MEMDIAG_PROFILE=path` in the environment, the profile
//! is written to `path` when the process exits normally (an `atexit` handler,
//! registered at the first allocation).
//!
//! **Peak and RSS.** [`peak_profile`] gives the sampled live set at the
//! highest estimated live heap (re-recorded whenever the live heap passes the
//! last peak by 1 % or 64 KiB: O(stacks) each time; shards publish their
//! live bytes to the global total in steps of 64 KiB, so the peak is seen
//! within 1 MiB). [`memory_stats`] gives
//! RSS, the estimated live heap and their gap; profiles carry them as
//! comments.
//!
//! Not yet: a side-table fallback when the reservation fails. Finer size
//! classes than powers of two (four per doubling) were tried: 7 % slower at
//! rate 1 on the bench workload, with no smaller RSS. A shard's
//! holder takes back the blocks others freed into its remote list only
//! when it allocates again: an idle holder keeps them until it exits.

use sampler::Decision;
use std::alloc::{GlobalAlloc, Layout};
use std::sync::atomic::{AtomicBool, Ordering};

#[cfg(target_arch = "x86_64")]
mod dwarf;
mod export;
mod home;
#[cfg(feature = "http")]
pub mod http;
mod lock;
mod objects;
mod sampler;
mod stack_cache;
mod state;
pub mod testing;
mod unwind;

pub use memdiag_macros::test;

pub use export::{heap_profile, memory_stats, peak_profile, write_heap_profile, MemoryStats};
pub use sampler::{sample_rate, set_sample_rate, DEFAULT_RATE};
pub use unwind::{set_unwind, unwind_mode, Unwind};

/// Internals for `benches/`; not a stable API.
#[doc(hidden)]
pub mod __bench {
    /// Walks the frame pointers from this function's frame into `buf`
    /// (at most `buf.len()` frames); returns how many.
    #[inline(never)]
    pub fn capture(buf: &mut [usize]) -> usize {
        crate::unwind::capture(0, usize::MAX, crate::uninit_view(buf))
    }
}

/// `buf` as a buffer of possibly uninitialized slots, for the stack walks
/// (which only write initialized values into it).
fn uninit_view(buf: &mut [usize]) -> &mut [std::mem::MaybeUninit<usize>] {
    // SAFETY: same layout; the callee writes initialized values only.
    unsafe { &mut *(buf as *mut [usize] as *mut [std::mem::MaybeUninit<usize>]) }
}

/// Set by the first slow path of a [`Profiled`] allocator, which only runs
/// when it is the global allocator: `testing` refuses to measure without.
static INSTALLED: AtomicBool = AtomicBool::new(false);

/// Whether a [`Profiled`] allocator serves this program's allocations.
/// Call on a thread in a scope: its countdown stays at 0, so the probe
/// below reaches `Profiled::alloc_slow` if Profiled is the global
/// allocator (the guard leaves it unrecorded).
pub(crate) fn installed() -> bool {
    if !INSTALLED.load(Ordering::Relaxed) {
        sampler::enter(|| drop(std::hint::black_box(Box::new(0u8))));
    }
    INSTALLED.load(Ordering::Relaxed)
}

/// Notes that a Profiled allocator is the global one (a load first: at
/// rate 1 every allocation gets here, and the line stays shared).
#[inline(always)]
fn mark_installed() {
    if !INSTALLED.load(Ordering::Relaxed) {
        INSTALLED.store(true, Ordering::Relaxed);
    }
}

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
    /// Serves `layout` from the sampled arena, recording the caller's stack:
    /// sampled (estimated weights) or, in a `testing` scope, exactly.
    /// `fp`, `sp`: the frame and stack pointer of the slow-path function
    /// that called this one: the recorded stack starts at its caller (the allocation site),
    /// so the profiler's own frames never show, however it was inlined.
    /// Inlined into those cold functions: at rate 1 every call counts.
    #[inline(always)]
    unsafe fn alloc_sampled(
        &self,
        layout: Layout,
        zeroed: bool,
        (fp, sp): (usize, usize),
        d: Decision,
    ) -> Option<*mut u8> {
        let size = layout.size();
        let (scope, limit) = match d {
            Decision::Scoped(s) => (s.tag, s.fp),
            _ => (0, usize::MAX),
        };
        let p = sampler::enter(|| {
            let mut frames = [std::mem::MaybeUninit::<usize>::uninit(); unwind::MAX_FRAMES];
            let n = unwind::capture_site(fp, sp, limit, &mut frames);
            // SAFETY: the walk wrote the first `n` frames.
            let frames = unsafe { &*(&frames[..n] as *const [_] as *const [usize]) };
            let (wbytes, wobjects) = match scope {
                0 => weights(size, sampler::sample_rate()),
                _ => weights(size, 1),
            };
            // SAFETY: forwarded from the caller's GlobalAlloc contract.
            unsafe { state::alloc_sampled(size, layout.align(), frames, wbytes, wobjects, scope) }
        })
        .flatten();
        let Some(p) = p else {
            if scope != 0 {
                testing::scope::untracked(scope);
            }
            return None;
        };
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
        mark_installed();
        let d = sampler::decide(layout.size());
        if d != Decision::Skip {
            let anchor = (unwind::frame_pointer(), unwind::stack_pointer());
            if let Some(p) = self.alloc_sampled(layout, zeroed, anchor, d) {
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
        let d = if expired {
            mark_installed();
            sampler::decide(new_size)
        } else {
            Decision::Skip
        };
        let sampled = if d != Decision::Skip {
            let anchor = (unwind::frame_pointer(), unwind::stack_pointer());
            self.alloc_sampled(new_layout, false, anchor, d)
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
    // Not a glob: it would bring `memdiag::test` in as `test`.
    use super::{state, weights};

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
