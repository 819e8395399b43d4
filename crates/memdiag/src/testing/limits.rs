//! The verdict: a scope's figures against a leak and a peak limit, with an
//! ignore list for known one-time allocations.

use super::{measure, report, Measurement};
use regex::Regex;

/// Limits for a scope, checked by [`Limits::run`] (what `#[memdiag::test]`
/// expands to):
///
/// ```
/// # #[global_allocator]
/// # static A: memdiag::Profiled<std::alloc::System> = memdiag::Profiled::new(std::alloc::System);
/// use memdiag::testing::Limits;
/// let cache = std::sync::OnceLock::new();
/// Limits::new()
///     .max_peak(1 << 20)
///     .run_warm(|| {
///         cache.get_or_init(|| vec![0u8; 4096]);
///     });
/// ```
#[derive(Clone, Debug, Default)]
pub struct Limits {
    max_leak: u64,
    max_peak: Option<u64>,
    ignore: Vec<Regex>,
}

impl Limits {
    /// No leak allowed, no peak limit, nothing ignored.
    pub fn new() -> Self {
        Self::default()
    }

    /// Bytes that may stay live after the closure (default 0).
    pub fn max_leak(mut self, bytes: u64) -> Self {
        self.max_leak = bytes;
        self
    }

    /// Highest live bytes allowed during the closure (default: no limit).
    pub fn max_peak(mut self, bytes: u64) -> Self {
        self.max_peak = Some(bytes);
        self
    }

    /// Does not count live blocks whose stack has a function whose
    /// (demangled) name matches `pattern`, a regex. Panics on a bad one.
    pub fn ignore(mut self, pattern: &str) -> Self {
        match Regex::new(pattern) {
            Ok(re) => self.ignore.push(re),
            Err(e) => panic!("memdiag::testing::Limits::ignore: {e}"),
        }
        self
    }

    /// Runs `f` in a scope; panics if a limit is exceeded, with the live
    /// stacks in the message. Returns `f`'s result.
    #[track_caller]
    pub fn run<R>(&self, f: impl FnOnce() -> R) -> R {
        let m = measure(f);
        if let Err(msg) = self.check(&m) {
            panic!("{msg}");
        }
        m.value
    }

    /// Runs `f` once unmeasured — lazy statics, caches and buffers that
    /// are filled once fill then — and then [`Limits::run`]s it again.
    #[track_caller]
    pub fn run_warm(&self, mut f: impl FnMut()) {
        f();
        self.run(f)
    }

    /// The verdict on `m`: `Err` holds the failure message.
    pub fn check<R>(&self, m: &Measurement<R>) -> Result<(), String> {
        if m.untracked > 0 {
            return Err(format!(
                "memdiag: {} allocations in the scope could not be tracked (alignment above \
                 4 KiB, or the profiler's arena is unavailable or full): no verdict",
                m.untracked
            ));
        }
        if let Some(max) = self.max_peak {
            if m.peak_bytes > max {
                return Err(format!(
                    "memdiag: peak of {} B live over the limit of {max} B ({} allocations, {} B \
                     allocated in the scope)",
                    m.peak_bytes, m.allocations, m.allocated_bytes
                ));
            }
        }
        if m.leaked_bytes <= self.max_leak {
            return Ok(());
        }
        let mut p = m.leak_profile();
        let (ignored_bytes, ignored_objects) = report::drop_ignored(&mut p, &self.ignore);
        let bytes = m.leaked_bytes - ignored_bytes;
        if bytes <= self.max_leak {
            return Ok(());
        }
        let ignored = match ignored_bytes {
            0 => String::new(),
            b => format!("; {b} B in {ignored_objects} objects ignored"),
        };
        Err(format!(
            "memdiag: leak: {bytes} B in {} objects still live after the closure (max_leak {} \
             B{ignored})\n{}",
            m.leaked_objects - ignored_objects,
            self.max_leak,
            report::top_stacks(&p)
        ))
    }
}
