//! Scopes: a small fixed table of open scopes whose counters the allocator
//! updates (atomics, no allocation), and entering one on a thread.
//!
//! The thread that opened a scope (its owner, which runs the measured
//! closure) does most of its allocations and frees: it keeps its own share
//! of the live bytes and of the peak in words only it writes (a load and a
//! store, no locked instruction), other threads use read-modify-writes on
//! theirs; the scope's live bytes are the sum of both shares.
//!
//! A scope's blocks are the arena's (see `state.rs`): the header of each
//! carries the scope's tag, so a free on any thread finds the scope to
//! credit. Closing a scope detaches its blocks: the ones still live are its
//! leak, and stay in the process profile as ordinary exact samples. The
//! owner's blocks come from the shard it holds and are listed there, so
//! neither its allocations nor its frees take a lock; another thread that
//! frees one only marks it freed ([`free_remote`]) and the owner takes it
//! back when it closes the scope.

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
    /// Live bytes and highest total seen, as changed by the owner thread
    /// (written by it only) and by the others.
    owner_live: AtomicI64,
    owner_peak: AtomicI64,
    live: AtomicI64,
    peak: AtomicI64,
    /// Allocations the arena could not take (alignment above 4 KiB,
    /// arena unavailable or full): served untracked.
    untracked: AtomicU64,
    /// Threads inside [`free_remote`]: closing waits for them.
    inflight: AtomicU32,
}

static TABLE: [Slot; SLOTS] = [const {
    Slot {
        claimed: AtomicBool::new(false),
        tag: AtomicU32::new(0),
        owner_live: AtomicI64::new(0),
        owner_peak: AtomicI64::new(0),
        live: AtomicI64::new(0),
        peak: AtomicI64::new(0),
        untracked: AtomicU64::new(0),
        inflight: AtomicU32::new(0),
    }
}; SLOTS];

/// Makes tags unique over time, so a thread that outlives its scope cannot
/// charge a later scope in the same slot.
static GENERATION: AtomicU32 = AtomicU32::new(0);

/// The slot of `tag` (tags are `generation << 8 | slot << 2 | 1`: never 0,
/// and bit 1 free for [`FREED`]).
pub(crate) fn slot(tag: u32) -> usize {
    (tag as usize >> 2) % SLOTS
}

/// Set in a block header's tag by a thread that freed the block while its
/// scope's owner still lists it.
pub(crate) const FREED: u32 = 2;

fn of(tag: u32) -> &'static Slot {
    &TABLE[slot(tag)]
}

/// Whether scope `tag` still takes blocks. The arena asks under a scope-list
/// lock, and closing takes every such lock after clearing the tag, so no
/// block joins a scope that is being detached.
pub(crate) fn is_open(tag: u32) -> bool {
    of(tag).tag.load(Ordering::Relaxed) == tag
}

/// A block of `bytes` joined scope `tag`: live bytes and high-water mark.
pub(crate) fn grow(tag: u32, bytes: u64) {
    let s = of(tag);
    let b = bytes as i64;
    if sampler::owns_scope(tag) {
        let own = s.owner_live.load(Ordering::Relaxed) + b;
        s.owner_live.store(own, Ordering::Relaxed);
        let total = own + s.live.load(Ordering::Relaxed);
        if total > s.owner_peak.load(Ordering::Relaxed) {
            s.owner_peak.store(total, Ordering::Relaxed);
        }
    } else {
        let others = s.live.fetch_add(b, Ordering::Relaxed) + b;
        let total = others + s.owner_live.load(Ordering::Relaxed);
        if total > s.peak.load(Ordering::Relaxed) {
            s.peak.fetch_max(total, Ordering::Relaxed);
        }
    }
}

/// A block of `bytes` of scope `tag` was freed (on any thread).
pub(crate) fn shrink(tag: u32, bytes: u64) {
    let s = of(tag);
    if sampler::owns_scope(tag) {
        let own = s.owner_live.load(Ordering::Relaxed) - bytes as i64;
        s.owner_live.store(own, Ordering::Relaxed);
    } else {
        s.live.fetch_sub(bytes as i64, Ordering::Relaxed);
    }
}

/// A block of `bytes` of scope `tag` that the scope's owner lists is freed
/// on another thread: `mark` marks it [`FREED`] for the owner to take back
/// when it closes the scope, or returns false when the scope detached the
/// block first (then it is an ordinary block). Credits the scope if it is
/// still open; closing waits until no thread is in here, so a late credit
/// never reaches the slot's next scope.
pub(crate) fn free_remote(tag: u32, bytes: u64, mark: impl FnOnce() -> bool) -> bool {
    let s = of(tag);
    s.inflight.fetch_add(1, Ordering::SeqCst);
    let open = s.tag.load(Ordering::SeqCst) == tag;
    let marked = mark();
    if marked && open {
        shrink(tag, bytes);
    }
    s.inflight.fetch_sub(1, Ordering::Release);
    marked
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
            s.owner_live.store(0, Ordering::Relaxed);
            s.owner_peak.store(0, Ordering::Relaxed);
            s.live.store(0, Ordering::Relaxed);
            s.peak.store(0, Ordering::Relaxed);
            s.untracked.store(0, Ordering::Relaxed);
            let generation = GENERATION.fetch_add(1, Ordering::Relaxed);
            let tag = generation << 8 | (i as u32) << 2 | 1;
            s.tag.store(tag, Ordering::Release);
            return Claim { tag };
        }
        panic!("memdiag::testing: more than {SLOTS} scopes open at once");
    }

    /// Runs `f` on this thread, the scope's owner, in the scope.
    #[inline(never)]
    pub(crate) fn run<R>(&self, f: impl FnOnce() -> R) -> R {
        let _on = OnThread::enter(self.tag, unwind::frame_pointer(), true);
        f()
    }

    /// Closes the scope and returns its figures.
    pub(crate) fn close(mut self) -> Closed {
        self.release()
    }

    fn release(&mut self) -> Closed {
        let s = of(self.tag);
        s.tag.store(0, Ordering::SeqCst);
        let rest = sampler::guarded(|| state::detach_scope(self.tag));
        while s.inflight.load(Ordering::SeqCst) != 0 {
            std::thread::yield_now();
        }
        let closed = Closed {
            live: rest.live,
            allocs: rest.allocs,
            bytes: rest.bytes,
            peak: s
                .peak
                .load(Ordering::Relaxed)
                .max(s.owner_peak.load(Ordering::Relaxed))
                .max(0) as u64,
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
        let _on = OnThread::enter(self.tag, unwind::frame_pointer(), false);
        f()
    }
}

/// This thread is in a scope until dropped (also on a panic).
struct OnThread;

impl OnThread {
    /// `fp`: the frame pointer of the function that runs the scope's work;
    /// stacks of scoped allocations are walked up to there only (cheaper,
    /// and the harness's frames above it say nothing).
    fn enter(tag: u32, fp: usize, owner: bool) -> OnThread {
        assert!(
            sampler::current_scope() == 0,
            "memdiag::testing: scopes do not nest (this thread is already measured)"
        );
        sampler::set_scope(tag, fp, owner);
        OnThread
    }
}

impl Drop for OnThread {
    fn drop(&mut self) {
        sampler::set_scope(0, usize::MAX, false);
    }
}
