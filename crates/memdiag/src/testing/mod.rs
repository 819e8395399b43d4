//! Leak and peak assertions for `cargo test`, safe with its parallel test
//! threads.
//!
//! ```
//! #[global_allocator]
//! static ALLOC: memdiag::Profiled<std::alloc::System> = memdiag::Profiled::new(std::alloc::System);
//!
//! fn parse(input: &str) -> usize {
//!     input.split(',').map(str::to_owned).count()
//! }
//!
//! memdiag::testing::assert_no_leak(|| {
//!     parse("a,b,c");
//! });
//! let m = memdiag::testing::measure(|| {
//!     let v: Vec<u64> = Vec::with_capacity(1000);
//!     drop(v);
//! });
//! assert_eq!(m.peak_bytes, 8000);
//! assert_eq!(m.leaked_bytes, 0);
//! ```
//!
//! or, as an attribute that adds `#[test]`:
//!
//! ```ignore
//! #[memdiag::test(max_leak = "0 B", max_peak = "64 MiB")]
//! fn builds_the_index() {
//!     build_index(&docs());
//! }
//! ```
//!
//! # Setup
//!
//! The test binary's global allocator must be [`Profiled`](crate::Profiled):
//! in each `tests/*.rs` file, or in a `#[cfg(test)]` module of the library
//! for unit tests. Without it every assertion fails with a message saying
//! so; none passes by measuring nothing.
//!
//! # What is counted
//!
//! A *scope* runs a closure on the current thread; every allocation the
//! thread makes until the closure returns is counted exactly (not
//! sampled), at its `Layout::size()`. Allocations of other threads are
//! not, so tests running in parallel do not disturb each other's figures.
//! Work on another thread is charged to the scope when it runs under
//! [`Scope::run`] (or was started by [`spawn`]) and ends before the
//! closure returns. A block allocated in the scope and freed on any thread
//! — inside the scope or not — is credited to it.
//!
//! - **Leak**: bytes still live when the closure returns (including what
//!   its return value owns).
//! - **Peak**: the highest live bytes at any moment of the scope. A
//!   `realloc` counts as a new block then the free of the old one, so both
//!   are live for a moment, as when the allocator cannot grow in place.
//!
//! Scoped blocks come from the profiler's arena with their stack recorded
//! (walked only up to the scope's entry), so they also show in
//! [`heap_profile`](crate::heap_profile), with exact weights. On failure
//! the message lists the stacks of the blocks still live, largest first,
//! symbolized like `memdiag top`.
//!
//! # Tolerances
//!
//! Not every live byte after a closure is a leak:
//! - One-time lazy initialization: a `OnceLock`/`LazyLock`, a
//!   `thread_local!` touched for the first time, a cache filled on first
//!   use — and, under the test harness, the buffer capturing a test's
//!   output grows when the closure prints. [`Limits::run_warm`] runs the
//!   code once before measuring a second run, so those are paid before;
//!   [`Limits::ignore`] drops live stacks with a frame whose function name
//!   matches a regex (e.g. `"std::io::stdio"`, `"once_cell"`); and
//!   [`Limits::max_leak`] allows a number of bytes.
//! - Allocator internals (malloc's metadata, size-class rounding, arenas)
//!   are never counted: only the sizes the program asked for.
//! - Alignments above 4 KiB, or an unavailable or full arena, leave an
//!   allocation untracked: [`Measurement::untracked`] counts them, and the
//!   assertions fail rather than vouch for what they did not see.
//!
//! Scopes do not nest (the inner one panics), and at most 64 are open at
//! once.
//!
//! # Cost
//!
//! Outside scopes nothing changes: the allocation fast path is the same
//! countdown decrement. Inside one, every allocation and free takes the
//! recorded path (a stack walk up to the scope's entry, the per-thread
//! stack cache, the arena shard the thread holds; no lock and no locked
//! instruction on the thread that opened the scope): about 35 ns per
//! allocation and free. `cargo bench -p memdiag --bench testing` compares
//! a scope of 1M allocations with the same code unscoped; on the 2-core
//! development machine (medians of 3 interleaved runs): building and
//! dropping 1M small strings ×1.2 (59 → 69 ms), 1M bare 64-byte alloc+free
//! pairs, where allocation is all the work, ×5.1 (8.2 → 42 ms; glibc's
//! thread cache serves such a pair in 8 ns, the recorded path cannot).
//!
//! # And `go test -race`?
//!
//! Go's race detector finds data races at run time. Safe Rust excludes them
//! at compile time (`Send`/`Sync` and the borrow rules), so tests of safe
//! code need no such mode. For `unsafe` code, run the tests under
//! [Miri](https://github.com/rust-lang/miri) (`cargo +nightly miri test`:
//! data races, use-after-free and undefined behaviour in the interpreted
//! program) or ThreadSanitizer (`RUSTFLAGS=-Zsanitizer=thread cargo
//! +nightly test -Zbuild-std --target <triple>`). Both need a nightly
//! toolchain and are not part of memdiag; memdiag's allocator is not
//! needed under them (Miri does not run it; use the system allocator).

mod limits;
mod report;
pub(crate) mod scope;

pub use limits::Limits;
pub use scope::Scope;

use memdiag_profile::Profile;
use report::Leak;

/// Why the assertions refuse to run.
const NOT_INSTALLED: &str = "memdiag::testing: the global allocator of this test binary is not \
memdiag::Profiled, so nothing can be measured. Add to the test file (or to a #[cfg(test)] module \
of the library, for unit tests):\n\n    #[global_allocator]\n    static ALLOC: \
memdiag::Profiled<std::alloc::System> = memdiag::Profiled::new(std::alloc::System);\n";

/// What a scope measured; see the [module docs](self).
#[derive(Debug)]
pub struct Measurement<R = ()> {
    /// The closure's result.
    pub value: R,
    /// Highest live bytes in the scope at any moment.
    pub peak_bytes: u64,
    /// Bytes still live when the closure returned.
    pub leaked_bytes: u64,
    /// Blocks still live when the closure returned.
    pub leaked_objects: u64,
    /// Blocks allocated in the scope.
    pub allocations: u64,
    /// Bytes allocated in the scope.
    pub allocated_bytes: u64,
    /// Allocations the scope could not track (alignment above 4 KiB,
    /// arena unavailable or full); non-zero makes every assertion fail.
    pub untracked: u64,
    leaks: Vec<Leak>,
}

impl<R> Measurement<R> {
    /// The blocks still live when the closure returned, by stack, as a
    /// heap profile (inuse_objects, inuse_space): write it with
    /// `memdiag_profile::encode_gzip` and read it with `memdiag top`.
    pub fn leak_profile(&self) -> Profile {
        report::profile(&self.leaks)
    }

    /// The largest stacks of [`Measurement::leak_profile`], as the failure
    /// messages show them.
    pub fn leak_report(&self) -> String {
        report::top_stacks(&self.leak_profile())
    }
}

/// Runs `f` in a scope on the current thread and returns what it
/// allocated; see the [module docs](self).
///
/// Panics if the global allocator is not [`Profiled`](crate::Profiled), or
/// if this thread is already in a scope.
pub fn measure<R>(f: impl FnOnce() -> R) -> Measurement<R> {
    let claim = scope::Claim::open();
    let value = claim.run(|| {
        assert!(crate::installed(), "{NOT_INSTALLED}");
        f()
    });
    let closed = claim.close();
    let leaks = report::by_stack(&closed.live);
    Measurement {
        value,
        peak_bytes: closed.peak,
        leaked_bytes: leaks.iter().map(|l| l.bytes).sum(),
        leaked_objects: leaks.iter().map(|l| l.objects).sum(),
        allocations: closed.allocs,
        allocated_bytes: closed.bytes,
        untracked: closed.untracked,
        leaks,
    }
}

/// Runs `f` in a scope and panics if any byte it allocated is still live
/// when it returns, with the stacks of those blocks in the message. For
/// tolerances, see [`Limits`].
#[track_caller]
pub fn assert_no_leak<R>(f: impl FnOnce() -> R) -> R {
    Limits::new().run(f)
}

/// [`std::thread::spawn`], with the new thread's allocations charged to
/// the current thread's scope, if any. Join it before the scope's closure
/// returns.
pub fn spawn<F, T>(f: F) -> std::thread::JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let scope = Scope::current();
    std::thread::spawn(move || match scope {
        Some(s) => s.run(f),
        None => f(),
    })
}
