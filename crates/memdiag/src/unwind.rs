//! Frame-pointer unwinding, validated against the thread's stack bounds,
//! with a DWARF fallback over `.eh_frame` (framehop on x86_64, see
//! `dwarf.rs`; libgcc's unwinder through the `backtrace` crate otherwise).

use std::mem::MaybeUninit;
use std::sync::atomic::{AtomicU8, Ordering};

/// Most frames kept per stack.
pub(crate) const MAX_FRAMES: usize = 64;

/// How allocation stacks are captured (`MEMDIAG_UNWIND=fp|auto|dwarf`, or
/// [`set_unwind`](crate::set_unwind)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unwind {
    /// Frame pointers only: fastest; stacks stop at the first function
    /// built without them.
    FramePointers,
    /// Frame pointers, and DWARF when the frame-pointer walk finds fewer
    /// than two frames (the code calling the allocator has none). The
    /// default.
    Auto,
    /// DWARF (`.eh_frame`) for every sampled allocation: works without
    /// frame pointers, about 80 ns more per sample on x86_64 (framehop; 2 µs
    /// with libgcc's unwinder elsewhere).
    Dwarf,
}

const MODE_UNSET: u8 = 0;
static MODE: AtomicU8 = AtomicU8::new(MODE_UNSET);

fn encode(u: Unwind) -> u8 {
    match u {
        Unwind::FramePointers => 1,
        Unwind::Auto => 2,
        Unwind::Dwarf => 3,
    }
}

/// Chooses how stacks are captured from now on, overriding `MEMDIAG_UNWIND`.
pub fn set_unwind(u: Unwind) {
    MODE.store(encode(u), Ordering::Relaxed);
}

/// The current unwind mode; reads `MEMDIAG_UNWIND` the first time (no
/// allocation: `getenv`). Unknown values mean `auto`.
pub fn unwind_mode() -> Unwind {
    let mut m = MODE.load(Ordering::Relaxed);
    if m == MODE_UNSET {
        // SAFETY: a NUL-terminated name; the result is read before returning.
        let p = unsafe { libc::getenv(c"MEMDIAG_UNWIND".as_ptr()) };
        let v = if p.is_null() {
            Unwind::Auto
        } else {
            // SAFETY: getenv returns a NUL-terminated string.
            match unsafe { std::ffi::CStr::from_ptr(p) }.to_bytes() {
                b"fp" => Unwind::FramePointers,
                b"dwarf" => Unwind::Dwarf,
                _ => Unwind::Auto,
            }
        };
        m = match MODE.compare_exchange(MODE_UNSET, encode(v), Ordering::Relaxed, Ordering::Relaxed)
        {
            Ok(_) => encode(v),
            Err(cur) => cur,
        };
    }
    match m {
        1 => Unwind::FramePointers,
        3 => Unwind::Dwarf,
        _ => Unwind::Auto,
    }
}

/// The stack of the allocation site, by the current [`unwind_mode`]: `fp`
/// and `sp` are the frame and stack pointer of the profiler's outermost
/// (never inlined) slow-path function; the stack starts at its caller and
/// ends below the frame whose frame pointer is `limit` (`usize::MAX`: the
/// whole stack).
/// `buf` is left uninitialized by the caller (zeroing it costs more than a
/// short walk); the first frames returned are written.
pub(crate) fn capture_site(
    fp: usize,
    sp: usize,
    limit: usize,
    buf: &mut [MaybeUninit<usize>],
) -> usize {
    let mode = unwind_mode();
    if mode != Unwind::Dwarf {
        let n = capture(fp, limit, buf);
        if n >= 2 || mode == Unwind::FramePointers {
            return n;
        }
    }
    #[cfg(target_arch = "x86_64")]
    if let Some(n) = crate::dwarf::capture(sp, limit, buf) {
        return n;
    }
    capture_dwarf(sp, limit, buf)
}

/// DWARF unwinding (libgcc's `_Unwind_Backtrace` through the `backtrace`
/// crate; it allocates nothing through the Rust allocator). A frame's
/// `sp()` is its own stack pointer (at its call into the next frame), so
/// the frames up to and including the slow-path function, whose stack
/// pointer `sp` is, are skipped, and the first frame kept is its caller, as
/// with the frame-pointer walk. Stops at the first frame whose stack
/// pointer lies above `limit` (the frame pointer of the frame that is the
/// last kept, like the frame-pointer walk).
pub(crate) fn capture_dwarf(sp: usize, limit: usize, buf: &mut [MaybeUninit<usize>]) -> usize {
    let mut n = 0;
    // SAFETY: called with the reentrancy guard set; the unwinder only reads
    // this thread's stack and the loaded objects' unwind tables.
    unsafe {
        backtrace::trace_unsynchronized(|frame| {
            if (frame.sp() as usize) <= sp {
                return true;
            }
            let ip = frame.ip() as usize;
            if ip == 0 || n >= buf.len() || frame.sp() as usize > limit {
                return false;
            }
            buf[n].write(ip);
            n += 1;
            true
        });
    }
    n
}

/// The current stack pointer (0 where unsupported).
#[inline(always)]
pub(crate) fn stack_pointer() -> usize {
    #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
    {
        let sp: usize;
        // SAFETY: reads a register, touches nothing.
        unsafe {
            #[cfg(target_arch = "x86_64")]
            std::arch::asm!("mov {}, rsp", out(reg) sp, options(nomem, nostack, preserves_flags));
            #[cfg(target_arch = "aarch64")]
            std::arch::asm!("mov {}, sp", out(reg) sp, options(nomem, nostack, preserves_flags));
        }
        sp
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    {
        0
    }
}

/// The current function's frame pointer (0 where unsupported).
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
#[inline(always)]
pub(crate) fn frame_pointer() -> usize {
    let fp: usize;
    // SAFETY: reads a register, touches nothing.
    unsafe {
        #[cfg(target_arch = "x86_64")]
        std::arch::asm!("mov {}, rbp", out(reg) fp, options(nomem, nostack, preserves_flags));
        #[cfg(target_arch = "aarch64")]
        std::arch::asm!("mov {}, x29", out(reg) fp, options(nomem, nostack, preserves_flags));
    }
    fp
}

/// The current function's frame pointer (0 where unsupported).
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
#[inline(always)]
pub(crate) fn frame_pointer() -> usize {
    0
}

/// Fills `buf` with return addresses, innermost first, starting with the
/// return address of the frame whose frame pointer is `start` (from
/// [`frame_pointer`] in a caller of this function), or of this function's
/// own frame if `start` is 0, up to (not including) the frame record at
/// `limit` and above; returns how many.
///
/// Every frame record is checked before it is read: 8-byte aligned, above
/// the current stack pointer, below the stack top (the walk only runs when
/// the stack pointer is within the thread's stack from `pthread_getattr_np`), and each next record
/// strictly above the previous one. Anything odd ends the walk, so a frame
/// without a frame pointer truncates the stack rather than crashing.
#[inline(never)]
pub(crate) fn capture(start: usize, limit: usize, buf: &mut [MaybeUninit<usize>]) -> usize {
    #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
    {
        let marker = 0u8;
        let lo = std::hint::black_box(&marker) as *const u8 as usize;
        let Some(hi) = crate::sampler::live_stack_top(lo) else {
            return 0;
        };
        let mut fp = if start != 0 { start } else { frame_pointer() };
        let mut n = 0;
        while n < buf.len() {
            if fp & 7 != 0 || fp < lo || fp.saturating_add(16) > hi || fp >= limit {
                break;
            }
            // SAFETY: [fp, fp+16) lies within the live part of this thread's
            // stack (between our own stack pointer and the stack top).
            let (next, ret) = unsafe {
                let p = fp as *const usize;
                (p.read(), p.add(1).read())
            };
            if ret == 0 {
                break;
            }
            buf[n].write(ret);
            n += 1;
            if next <= fp {
                break;
            }
            fp = next;
        }
        n
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    {
        let _ = (start, limit, buf);
        0
    }
}

#[cfg(all(test, any(target_arch = "x86_64", target_arch = "aarch64")))]
mod tests {
    use super::*;

    #[inline(never)]
    fn recurse(depth: usize, out: &mut [usize; MAX_FRAMES]) -> usize {
        if depth == 0 {
            return capture(0, usize::MAX, crate::uninit_view(out));
        }
        let n = recurse(depth - 1, out);
        std::hint::black_box(n)
    }

    #[test]
    fn walks_a_deep_stack() {
        let mut buf = [0usize; MAX_FRAMES];
        let n = recurse(16, &mut buf);
        assert!(n >= 17, "only {n} frames");
        // The recursive frames return into the same place (16 of them, 15
        // when the innermost call became a tail call).
        let same = buf[..n].iter().filter(|&&a| a == buf[2]).count();
        assert!(same >= 15, "{:x?}", &buf[..n]);
        let t = std::time::Instant::now();
        let reps = 100_000;
        for _ in 0..reps {
            std::hint::black_box(recurse(16, &mut buf));
        }
        // Includes the 16 recursive calls themselves; informative only
        // (run with --release for a meaningful figure).
        eprintln!(
            "capture of a {n}-frame stack: {:.1} ns",
            t.elapsed().as_nanos() as f64 / reps as f64
        );
    }

    #[test]
    fn stops_at_max_frames() {
        let mut buf = [0usize; MAX_FRAMES];
        assert_eq!(recurse(200, &mut buf), MAX_FRAMES);
    }
}
