//! Frame-pointer unwinding, validated against the thread's stack bounds.

/// Most frames kept per stack.
pub(crate) const MAX_FRAMES: usize = 64;

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
/// own frame if `start` is 0; returns how many.
///
/// Every frame record is checked before it is read: 8-byte aligned, above
/// the current stack pointer, below the stack top (the walk only runs when
/// the stack pointer is within the thread's stack from `pthread_getattr_np`), and each next record
/// strictly above the previous one. Anything odd ends the walk, so a frame
/// without a frame pointer truncates the stack rather than crashing.
#[inline(never)]
pub(crate) fn capture(start: usize, buf: &mut [usize; MAX_FRAMES]) -> usize {
    #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
    {
        let Some((bottom, hi)) = crate::sampler::stack_bounds() else {
            return 0;
        };
        let marker = 0u8;
        let lo = std::hint::black_box(&marker) as *const u8 as usize;
        if lo < bottom || lo >= hi {
            // Running on another stack (signal stack, coroutine): the span
            // up to the thread's stack top may hold unmapped memory.
            return 0;
        }
        let mut fp = if start != 0 { start } else { frame_pointer() };
        let mut n = 0;
        while n < MAX_FRAMES {
            if fp & 7 != 0 || fp < lo || fp.saturating_add(16) > hi {
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
            buf[n] = ret;
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
        let _ = (start, buf);
        0
    }
}

#[cfg(all(test, any(target_arch = "x86_64", target_arch = "aarch64")))]
mod tests {
    use super::*;

    #[inline(never)]
    fn recurse(depth: usize, out: &mut [usize; MAX_FRAMES]) -> usize {
        if depth == 0 {
            return capture(0, out);
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
