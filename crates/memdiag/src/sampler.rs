//! Per-thread sampling state: byte countdown, RNG, reentrancy guard, cached
//! stack bounds. All in one `const`-initialized thread local of `Cell`s, which
//! has no destructor: accessing it never allocates, never takes a lock and
//! works during thread teardown and in TLS destructors.

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// Default mean sampling interval, in bytes (Go's `MemProfileRate`).
pub const DEFAULT_RATE: usize = 512 * 1024;
const RATE_UNSET: usize = usize::MAX;
/// With sampling off, a thread re-checks the rate after this many bytes.
const OFF_RECHECK: i64 = 16 << 20;

static RATE: AtomicUsize = AtomicUsize::new(RATE_UNSET);
static SEED: AtomicU64 = AtomicU64::new(0x853c_49e6_748f_ea9b);

pub(crate) struct ThreadState {
    /// Bytes left before the next sample; `<= 0` sends the next allocation
    /// to the slow path.
    countdown: Cell<i64>,
    /// xorshift64* state; 0 = not yet seeded (thread's first slow path).
    rng: Cell<u64>,
    /// Reentrancy guard: set while the profiler itself runs on this thread.
    busy: Cell<bool>,
    /// This thread's stack: top (0 = not yet known, 1 = unknown) and bottom.
    stack_hi: Cell<usize>,
    stack_lo: Cell<usize>,
    /// This thread's arena shard (usize::MAX = not yet assigned; see `home`).
    shard: Cell<usize>,
    /// The `testing` scope this thread's allocations are charged to (0 =
    /// none). While set, the countdown stays at 0 so every allocation
    /// takes the slow path: the fast path needs no extra test.
    scope: Cell<u32>,
    /// Frame pointer of the scope's entry function: stacks of scoped
    /// allocations are walked up to it, not to the thread's first frame.
    scope_fp: Cell<usize>,
    /// Whether this thread opened the scope (see `testing::scope`).
    scope_owner: Cell<bool>,
}

thread_local! {
    static TS: ThreadState = const {
        ThreadState {
            countdown: Cell::new(0),
            rng: Cell::new(0),
            busy: Cell::new(false),
            stack_hi: Cell::new(0),
            stack_lo: Cell::new(0),
            shard: Cell::new(usize::MAX),
            scope: Cell::new(0),
            scope_fp: Cell::new(usize::MAX),
            scope_owner: Cell::new(false),
        }
    };
}

/// The fast path: decrements the countdown by `size`; true when it ran out,
/// and [`decide`] must then be asked whether this allocation is sampled.
#[inline(always)]
pub(crate) fn countdown_expired(size: usize) -> bool {
    TS.try_with(|t| {
        let c = t.countdown.get().wrapping_sub(size as i64);
        t.countdown.set(c);
        c <= 0
    })
    .unwrap_or(false)
}

/// What the slow path does with an allocation.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decision {
    /// Served by the inner allocator, unrecorded.
    Skip,
    /// Sampled, with estimated weights.
    Sample,
    /// Recorded exactly and charged to a `testing` scope.
    Scoped(Scope),
}

/// A `testing` scope as the allocating thread knows it.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Scope {
    pub(crate) tag: u32,
    /// Stack walks stop at this frame pointer.
    pub(crate) fp: usize,
}

/// The slow path, after [`countdown_expired`]: whether to sample this
/// allocation of `size` bytes (and, if so, the next interval is drawn).
/// Inlined into the profiler's cold slow-path functions, its only callers.
#[inline(always)]
pub(crate) fn decide(size: usize) -> Decision {
    TS.try_with(|t| slow(t, size as i64))
        .unwrap_or(Decision::Skip)
}

fn slow(t: &ThreadState, size: i64) -> Decision {
    if t.busy.get() {
        return Decision::Skip;
    }
    let tag = t.scope.get();
    if tag != 0 {
        t.countdown.set(0);
        return Decision::Scoped(Scope {
            tag,
            fp: t.scope_fp.get(),
        });
    }
    if sampled(t, size) {
        Decision::Sample
    } else {
        Decision::Skip
    }
}

fn sampled(t: &ThreadState, size: i64) -> bool {
    let rate = sample_rate();
    let first = t.rng.get() == 0;
    if first {
        seed(t);
    }
    if rate == 0 {
        t.countdown.set(OFF_RECHECK);
        return false;
    }
    if first {
        // The initial countdown of 0 was no draw: draw now, then decide.
        let c = draw(t, rate) - size;
        if c > 0 {
            t.countdown.set(c);
            return false;
        }
    }
    t.countdown.set(draw(t, rate));
    true
}

fn seed(t: &ThreadState) {
    crate::export::register_exit_profile();
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: valid pointer; clock_gettime neither allocates nor locks.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    let mut x = SEED.fetch_add(0x9e37_79b9_7f4a_7c15, Ordering::Relaxed)
        ^ (t as *const ThreadState as u64)
        ^ (ts.tv_nsec as u64).wrapping_mul(0xff51_afd7_ed55_8ccd)
        ^ (ts.tv_sec as u64);
    // splitmix64 finalizer
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^= x >> 31;
    t.rng.set(if x == 0 { 1 } else { x });
}

fn next_u64(t: &ThreadState) -> u64 {
    let mut x = t.rng.get();
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    t.rng.set(x);
    x.wrapping_mul(0x2545_f491_4f6c_dd1d)
}

/// An exponentially distributed interval with mean `rate` (0 at rate 1:
/// every allocation is sampled).
fn draw(t: &ThreadState, rate: usize) -> i64 {
    if rate <= 1 {
        return 0;
    }
    let u = (next_u64(t) >> 11) as f64 * (1.0 / (1u64 << 53) as f64); // [0, 1)
    let x = -(1.0 - u).ln() * rate as f64;
    x.min((1u64 << 52) as f64) as i64
}

/// The current mean sampling interval in bytes (0 = off, 1 = every
/// allocation). Reads `MEMDIAG_RATE` the first time (no allocation: `getenv`).
#[inline]
pub fn sample_rate() -> usize {
    let r = RATE.load(Ordering::Relaxed);
    if r != RATE_UNSET {
        return r;
    }
    let v = rate_from_env().unwrap_or(DEFAULT_RATE);
    match RATE.compare_exchange(RATE_UNSET, v, Ordering::Relaxed, Ordering::Relaxed) {
        Ok(_) => v,
        Err(cur) => cur,
    }
}

fn rate_from_env() -> Option<usize> {
    // SAFETY: a NUL-terminated name; the result is read before returning.
    let p = unsafe { libc::getenv(c"MEMDIAG_RATE".as_ptr()) };
    if p.is_null() {
        return None;
    }
    // SAFETY: getenv returns a NUL-terminated string.
    let s = unsafe { std::ffi::CStr::from_ptr(p) }.to_bytes();
    let mut v: usize = 0;
    if s.is_empty() {
        return None;
    }
    for &b in s {
        if !b.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add((b - b'0') as usize)?;
    }
    Some(v)
}

/// Sets the mean sampling interval in bytes: 1 records every allocation, 0
/// turns sampling off. Takes effect at once on the calling thread and on
/// other threads at their next sample (or, when sampling was off, within
/// 16 MiB of allocation).
pub fn set_sample_rate(bytes: usize) {
    RATE.store(bytes, Ordering::Relaxed);
    let _ = TS.try_with(|t| {
        if t.scope.get() == 0 {
            redraw(t);
        }
    });
}

/// Starts a fresh countdown at the current rate (the exponential is
/// memoryless, so a new draw is as good as the interrupted one).
fn redraw(t: &ThreadState) {
    if t.rng.get() == 0 {
        seed(t);
    }
    let rate = sample_rate();
    t.countdown.set(if rate == 0 {
        OFF_RECHECK
    } else {
        draw(t, rate)
    });
}

/// Charges this thread's allocations to scope `tag` (0: to none, and
/// sampling resumes), walking their stacks up to frame pointer `fp`;
/// `owner`: this thread opened the scope. Returns the previous tag.
pub(crate) fn set_scope(tag: u32, fp: usize, owner: bool) -> u32 {
    TS.try_with(|t| {
        let prev = t.scope.replace(tag);
        t.scope_fp.set(fp);
        t.scope_owner.set(owner);
        if tag != 0 {
            t.countdown.set(0);
        } else {
            redraw(t);
        }
        prev
    })
    .unwrap_or(0)
}

/// The scope this thread's allocations are charged to (0: none).
pub(crate) fn current_scope() -> u32 {
    TS.try_with(|t| t.scope.get()).unwrap_or(0)
}

/// Whether this thread opened scope `tag` and is in it.
pub(crate) fn owns_scope(tag: u32) -> bool {
    TS.try_with(|t| t.scope.get() == tag && t.scope_owner.get())
        .unwrap_or(false)
}

/// Runs `f` with the reentrancy guard set: allocations inside go straight to
/// the inner allocator, unsampled. Returns `None` if already inside.
#[inline(always)]
pub(crate) fn enter<R>(f: impl FnOnce() -> R) -> Option<R> {
    let was = TS.try_with(|t| t.busy.replace(true)).unwrap_or(true);
    if was {
        return None;
    }
    let r = f();
    let _ = TS.try_with(|t| t.busy.set(false));
    Some(r)
}

/// Like [`enter`], but runs `f` even when already inside the guard.
pub(crate) fn guarded<R>(f: impl FnOnce() -> R) -> R {
    let was = TS.try_with(|t| t.busy.replace(true)).unwrap_or(true);
    let r = f();
    if !was {
        let _ = TS.try_with(|t| t.busy.set(false));
    }
    r
}

/// This thread's arena shard (`usize::MAX`: none yet); see `home`.
pub(crate) fn shard() -> usize {
    TS.try_with(|t| t.shard.get()).unwrap_or(usize::MAX)
}

pub(crate) fn set_shard(k: usize) {
    let _ = TS.try_with(|t| t.shard.set(k));
}

/// The top of the current thread's stack (its bounds cached per thread),
/// if `addr`, an address in the caller's frame, lies in that stack: then
/// `addr..top` is live, mapped stack. `None` when the bounds are unknown or
/// the caller runs on another stack (a signal stack, a coroutine), where
/// the span up to the thread's stack top may hold unmapped memory.
pub(crate) fn live_stack_top(addr: usize) -> Option<usize> {
    let b = TS.try_with(|t| {
        if t.stack_hi.get() == 0 {
            let (lo, hi) = query_stack().unwrap_or((0, 1));
            t.stack_lo.set(lo);
            t.stack_hi.set(hi);
        }
        (t.stack_lo.get(), t.stack_hi.get())
    });
    match b {
        Ok((lo, hi)) if hi > 1 && (lo..hi).contains(&addr) => Some(hi),
        _ => None,
    }
}

fn query_stack() -> Option<(usize, usize)> {
    // SAFETY: standard pthread attribute calls on the current thread; glibc
    // may use libc malloc here (never the Rust global allocator).
    unsafe {
        let mut attr: libc::pthread_attr_t = std::mem::zeroed();
        if libc::pthread_getattr_np(libc::pthread_self(), &mut attr) != 0 {
            return None;
        }
        let mut addr: *mut libc::c_void = std::ptr::null_mut();
        let mut size: libc::size_t = 0;
        let rc = libc::pthread_attr_getstack(&attr, &mut addr, &mut size);
        libc::pthread_attr_destroy(&mut attr);
        if rc != 0 || addr.is_null() {
            return None;
        }
        Some((addr as usize, (addr as usize).checked_add(size)?))
    }
}

/// Leaves every later allocation of the current thread unsampled, for good:
/// sets the reentrancy flag and never clears it, so the thread's allocations
/// go to the inner allocator as the profiler's own do (frees of blocks it
/// got sampled earlier are still recognized by address). For threads that
/// belong to the profiler, such as the `/debug/pprof` server's (feature
/// `http`), whose allocations would otherwise show in the app's profile.
/// Exports still work on such a thread (`guarded` runs them regardless).
/// The countdown is set out of reach too, so those allocations stay on the
/// fast path instead of asking [`decide`] each time.
#[cfg_attr(not(feature = "http"), allow(dead_code))]
pub(crate) fn suppress_current_thread() {
    let _ = TS.try_with(|t| {
        t.busy.set(true);
        t.countdown.set(i64::MAX);
    });
}
