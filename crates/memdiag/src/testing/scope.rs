//! Scopes: a small fixed table of open scopes whose counters the allocator
//! updates (atomics, no allocation), and entering one on a thread.
//!
//! A scope's blocks are the arena's (see `state.rs`): the header of each
//! carries the scope's tag, so a free on any thread finds the scope to
//! credit. Closing a scope detaches its blocks: the ones still live are its
//! leak, and stay in the process profile as ordinary exact samples.

use crate::{sampler, state, unwind};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU32, AtomicU64, Ordering};

/// Scopes open at once (cargo runs one test per thread: a handful).
pub(crate) const SLOTS: usize = 64;

/// One open scope's counters, on its own cache lines.
#[repr(align(128))]
struct Slot {
    claimed: AtomicBool,
    /// The open scope's tag; 0 once it is closed.
    tag: AtomicU32,
    live: AtomicI64,
    peak: AtomicI64,
    /// Allocations the arena could not take (alignment above 4 KiB,
    /// arena unavailable or full): served untracked.
    untracked: AtomicU64,
}

static TABLE: [Slot; SLOTS] = [const {
    Slot {
        claimed: AtomicBool::new(false),
        tag: AtomicU32::new(0),
        live: AtomicI64::new(0),
        peak: AtomicI64::new(0),
        untracked: AtomicU64::new(0),
    }
}; SLOTS];

/// Makes tags unique over time, so a thread that outlives its scope cannot
/// charge a later scope in the same slot.
static GENERATION: AtomicU32 = AtomicU32::new(0);

/// The slot of `tag` (tags are `generation << 7 | slot << 1 | 1`: never 0).
pub(crate) fn slot(tag: u32) -> usize {
    (tag as usize >> 1) % SLOTS
}

fn of(tag: u32) -> &'static Slot {
    &TABLE[slot(tag)]
}

/// Whether scope `tag` still takes blocks. The arena asks under a shard
/// lock, and closing takes every shard lock after clearing the tag, so no
/// block joins a scope that is being detached.
pub(crate) fn is_open(tag: u32) -> bool {
    of(tag).tag.load(Ordering::Relaxed) == tag
}

/// A block of `bytes` joined scope `tag`: live bytes and high-water mark.
pub(crate) fn grow(tag: u32, bytes: u64) {
    let s = of(tag);
    let live = s.live.fetch_add(bytes as i64, Ordering::Relaxed) + bytes as i64;
    if live > s.peak.load(Ordering::Relaxed) {
        s.peak.fetch_max(live, Ordering::Relaxed);
    }
}

/// A block of `bytes` of scope `tag` was freed (on any thread).
pub(crate) fn shrink(tag: u32, bytes: u64) {
    of(tag).live.fetch_sub(bytes as i64, Ordering::Relaxed);
}

/// An allocation in scope `tag` went to the inner allocator, uncounted.
pub(crate) fn untracked(tag: u32) {
    if is_open(tag) {
        of(tag).untracked.fetch_add(1, Ordering::Relaxed);
    }
}

/// What a scope measured, read when it closed.
pub(crate) struct Closed {
    /// Blocks still live: (stack id, bytes).
    pub(crate) live: Vec<(u32, u64)>,
    pub(crate) allocs: u64,
    pub(crate) bytes: u64,
    pub(crate) peak: u64,
    pub(crate) untracked: u64,
}

/// An open scope: owns a slot until closed (or dropped, on a panic).
pub(crate) struct Claim {
    tag: u32,
}

impl Claim {
    pub(crate) fn open() -> Claim {
        for (i, s) in TABLE.iter().enumerate() {
            if s.claimed
                .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
                .is_err()
            {
                continue;
            }
            s.live.store(0, Ordering::Relaxed);
            s.peak.store(0, Ordering::Relaxed);
            s.untracked.store(0, Ordering::Relaxed);
            let generation = GENERATION.fetch_add(1, Ordering::Relaxed);
            let tag = generation << 7 | (i as u32) << 1 | 1;
            s.tag.store(tag, Ordering::Release);
            return Claim { tag };
        }
        panic!("memdiag::testing: more than {SLOTS} scopes open at once");
    }

    pub(crate) fn scope(&self) -> Scope {
        Scope { tag: self.tag }
    }

    /// Closes the scope and returns its figures.
    pub(crate) fn close(mut self) -> Closed {
        self.release()
    }

    fn release(&mut self) -> Closed {
        let s = of(self.tag);
        s.tag.store(0, Ordering::SeqCst);
        let rest = sampler::guarded(|| state::detach_scope(self.tag));
        let closed = Closed {
            live: rest.live,
            allocs: rest.allocs,
            bytes: rest.bytes,
            peak: s.peak.load(Ordering::Relaxed).max(0) as u64,
            untracked: s.untracked.load(Ordering::Relaxed),
        };
        s.claimed.store(false, Ordering::Release);
        self.tag = 0;
        closed
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        if self.tag != 0 {
            self.release();
        }
    }
}

/// A handle on an open scope, to charge the work of other threads to it:
/// take it with [`Scope::current`] and call [`Scope::run`] on the other
/// thread (or use [`spawn`](super::spawn)).
///
/// ```
/// # #[global_allocator]
/// # static A: memdiag::Profiled<std::alloc::System> = memdiag::Profiled::new(std::alloc::System);
/// let data = vec![1u64; 1000];
/// let m = memdiag::testing::measure(|| {
///     let scope = memdiag::testing::Scope::current().unwrap();
///     std::thread::scope(|s| {
///         s.spawn(|| scope.run(|| data.iter().map(|x| x.to_string()).collect::<Vec<_>>()));
///     });
/// });
/// assert!(m.allocations >= 1000);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Scope {
    tag: u32,
}

impl Scope {
    /// The scope the current thread's allocations are charged to.
    pub fn current() -> Option<Scope> {
        match sampler::current_scope() {
            0 => None,
            tag => Some(Scope { tag }),
        }
    }

    /// Runs `f` on the current thread with its allocations charged to this
    /// scope (their frees are credited to it whichever thread makes them).
    /// Finish before the scope's closure returns: work after that is not
    /// counted. Panics if this thread is already in a scope.
    #[inline(never)]
    pub fn run<R>(self, f: impl FnOnce() -> R) -> R {
        let _on = OnThread::enter(self.tag, unwind::frame_pointer());
        f()
    }
}

/// This thread is in a scope until dropped (also on a panic).
struct OnThread;

impl OnThread {
    /// `fp`: the frame pointer of the function that runs the scope's work;
    /// stacks of scoped allocations are walked up to there only (cheaper,
    /// and the harness's frames above it say nothing).
    fn enter(tag: u32, fp: usize) -> OnThread {
        assert!(
            sampler::current_scope() == 0,
            "memdiag::testing: scopes do not nest (this thread is already measured)"
        );
        sampler::set_scope(tag, fp);
        OnThread
    }
}

impl Drop for OnThread {
    fn drop(&mut self) {
        sampler::set_scope(0, usize::MAX);
    }
}
