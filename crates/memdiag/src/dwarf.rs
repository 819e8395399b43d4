//! Fast DWARF unwinding (x86_64) with framehop, for code built without frame
//! pointers. The loaded objects' unwind tables (`.eh_frame_hdr` and
//! `.eh_frame`, found through their `PT_GNU_EH_FRAME` segments) are read in
//! place, in memory, the first time a stack needs them, and each thread
//! keeps framehop's caches of unwind rules: about 80 ns a sample more than
//! a frame-pointer walk, against libgcc's ~2 µs. Objects loaded after that
//! (`dlopen`) are unknown to it: a stack that starts through one gives
//! `None`, and the caller falls back to libgcc's unwinder.

use framehop::x86_64::{CacheX86_64, UnwindRegsX86_64, UnwinderX86_64};
use framehop::{ExplicitModuleSectionInfo, FrameAddress, Module, Unwinder};
use std::cell::RefCell;
use std::mem::MaybeUninit;
use std::sync::OnceLock;

type Tables = UnwinderX86_64<&'static [u8]>;

static TABLES: OnceLock<Tables> = OnceLock::new();

/// framehop's rule cache is direct-mapped, 509 slots by code address: two
/// frames of one stack in the same slot would evict each other at every
/// unwind (about 1 µs each time). Spreading addresses over several caches
/// by the next digits of the address makes that 8 times rarer.
const CACHE_WAYS: usize = 8;
const CACHE_SLOTS: u64 = 509;

thread_local! {
    /// framehop's rule caches, made at this thread's first DWARF unwind
    /// (about 100 KiB).
    static CACHES: RefCell<Option<Box<[CacheX86_64; CACHE_WAYS]>>> = const { RefCell::new(None) };
}

/// The cache for the frame at `at`.
fn way(at: FrameAddress) -> usize {
    (at.address_for_lookup() / CACHE_SLOTS) as usize % CACHE_WAYS
}

/// Fills `buf` with the return addresses of the stack above the frame
/// whose stack pointer is `sp` (the profiler's slow path), innermost first,
/// stopping before the first frame whose stack pointer lies above `limit`,
/// like [`crate::unwind::capture_dwarf`]. `None` when framehop
/// cannot unwind this stack. Allocates on first use: call with the
/// reentrancy guard set.
#[inline(never)]
pub(crate) fn capture(sp: usize, limit: usize, buf: &mut [MaybeUninit<usize>]) -> Option<usize> {
    let tables = match TABLES.get() {
        Some(t) => t,
        None => crate::state::once_across_fork(|| TABLES.get_or_init(load)),
    };
    let (pc, here, bp): (u64, u64, u64);
    // SAFETY: reads three registers, touches nothing.
    unsafe {
        std::arch::asm!(
            "lea {pc}, [rip]",
            "mov {sp}, rsp",
            "mov {bp}, rbp",
            pc = out(reg) pc,
            sp = out(reg) here,
            bp = out(reg) bp,
            options(nomem, nostack, preserves_flags),
        );
    }
    let low = here as usize;
    let top = crate::sampler::live_stack_top(low)?;
    // Only the live part of this thread's stack is ever read.
    let mut read = |addr: u64| {
        let a = addr as usize;
        if a & 7 == 0 && a >= low && a.saturating_add(8) <= top {
            // SAFETY: within this thread's live stack, aligned.
            Ok(unsafe { (a as *const u64).read() })
        } else {
            Err(())
        }
    };
    CACHES
        .try_with(|cell| {
            let mut slot = cell.try_borrow_mut().ok()?;
            let caches =
                slot.get_or_insert_with(|| Box::new(std::array::from_fn(|_| CacheX86_64::new())));
            let mut regs = UnwindRegsX86_64::new(pc, here, bp);
            let mut at = FrameAddress::from_instruction_pointer(pc);
            let mut n = 0;
            while n < buf.len() {
                let ret = match tables.unwind_frame(at, &mut regs, &mut caches[way(at)], &mut read)
                {
                    Ok(Some(ret)) => ret,
                    Ok(None) => break,
                    // Partway up: keep what was found (libgcc stops there too).
                    Err(_) if n > 0 => break,
                    Err(_) => return None,
                };
                // Unwound: `ret` returns into a frame whose stack pointer
                // is now `regs.sp()`. Frames up to the slow path's (at
                // `sp`) are the profiler's own.
                let caller_sp = regs.sp() as usize;
                if caller_sp > limit {
                    break;
                }
                if caller_sp > sp {
                    buf[n].write(ret as usize);
                    n += 1;
                }
                let Some(next) = FrameAddress::from_return_address(ret) else {
                    break;
                };
                at = next;
            }
            Some(n)
        })
        .ok()
        .flatten()
        .filter(|&n| n > 0)
}

/// The unwind tables of every object loaded now.
fn load() -> Tables {
    let mut tables = Tables::new();
    crate::objects::for_each(|info| {
        // SAFETY: `for_each` passes the loader's record of a mapped object.
        if let Some(m) = unsafe { module(info) } {
            tables.add_module(m);
        }
    });
    tables
}

/// An object's unwind tables, read in place.
///
/// # Safety
/// `info` comes from `dl_iterate_phdr`: its headers describe a mapped object,
/// which stays mapped (objects are not unloaded while profiled).
unsafe fn module(obj: &libc::dl_phdr_info) -> Option<Module<&'static [u8]>> {
    let bias = obj.dlpi_addr;
    // SAFETY: forwarded from the caller.
    let headers = unsafe { crate::objects::headers(obj) };
    let segment = |svma: u64| {
        headers.iter().find(|h| {
            h.p_type == libc::PT_LOAD && (h.p_vaddr..h.p_vaddr + h.p_filesz).contains(&svma)
        })
    };
    // SAFETY: loaded segments are mapped and readable for the object's life.
    let bytes = |svma: u64, len: u64| unsafe {
        std::slice::from_raw_parts(bias.wrapping_add(svma) as *const u8, len as usize)
    };
    let text = headers
        .iter()
        .find(|h| h.p_type == libc::PT_LOAD && h.p_flags & libc::PF_X != 0)?;
    let hdr = headers.iter().find(|h| h.p_type == libc::PT_GNU_EH_FRAME)?;
    let hdr_bytes = bytes(hdr.p_vaddr, hdr.p_memsz);
    // version 1, then the eh_frame pointer, pc-relative signed 4 bytes
    // (DW_EH_PE_pcrel | DW_EH_PE_sdata4), as GNU ld and lld write it.
    if hdr_bytes.len() < 8 || hdr_bytes[0] != 1 || hdr_bytes[1] != 0x1b {
        return None;
    }
    let rel = i32::from_ne_bytes(hdr_bytes[4..8].try_into().ok()?) as i64;
    let eh_frame = (hdr.p_vaddr as i64 + 4 + rel) as u64;
    let seg = segment(eh_frame)?;
    let eh_frame_len = seg.p_vaddr + seg.p_filesz - eh_frame;
    let info = ExplicitModuleSectionInfo {
        base_svma: 0,
        text_svma: Some(text.p_vaddr..text.p_vaddr + text.p_filesz),
        text: Some(bytes(text.p_vaddr, text.p_filesz)),
        eh_frame_svma: Some(eh_frame..eh_frame + eh_frame_len),
        eh_frame: Some(bytes(eh_frame, eh_frame_len)),
        eh_frame_hdr_svma: Some(hdr.p_vaddr..hdr.p_vaddr + hdr.p_memsz),
        eh_frame_hdr: Some(hdr_bytes),
        ..Default::default()
    };
    let name = if obj.dlpi_name.is_null() {
        String::new()
    } else {
        // SAFETY: a NUL-terminated name owned by the loader.
        unsafe { std::ffi::CStr::from_ptr(obj.dlpi_name) }
            .to_string_lossy()
            .into_owned()
    };
    let start = bias.wrapping_add(text.p_vaddr);
    Some(Module::new(name, start..start + text.p_memsz, bias, info))
}

#[cfg(test)]
mod tests {
    use crate::unwind::{capture_dwarf, stack_pointer};

    /// Both unwinders, from the same frame (this function's caller on).
    #[inline(never)]
    fn both() -> (Vec<usize>, Vec<usize>) {
        let sp = stack_pointer();
        let (mut a, mut b) = ([0usize; 64], [0usize; 64]);
        let na = super::capture(sp, usize::MAX, crate::uninit_view(&mut a)).expect("framehop");
        let nb = capture_dwarf(sp, usize::MAX, crate::uninit_view(&mut b));
        (a[..na].to_vec(), b[..nb].to_vec())
    }

    #[inline(never)]
    fn nested(depth: usize) -> (Vec<usize>, Vec<usize>) {
        if depth == 0 {
            return both();
        }
        std::hint::black_box(nested(depth - 1))
    }

    #[test]
    fn framehop_agrees_with_libgcc() {
        let (fast, slow) = nested(8);
        // libgcc's walk is the reference; the outermost frames (thread
        // start, with thin unwind info) may end either walk a frame early.
        let common = fast.len().min(slow.len());
        assert!(common >= 10, "framehop {fast:x?}, libgcc {slow:x?}");
        assert_eq!(fast[..common], slow[..common]);
        assert!(fast.len().abs_diff(slow.len()) <= 1, "{fast:x?} {slow:x?}");
    }
}
