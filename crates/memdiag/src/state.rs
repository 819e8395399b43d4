//! The sampled-block arena and the stack table, behind one spin lock.
//!
//! Only sampled allocations (rare at the default rate) and frees of sampled
//! blocks get here.

use crate::lock::SpinLock;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// Size (and alignment) of the reserved range sampled blocks come from.
const ARENA_BITS: u32 = 36; // 64 GiB
const ARENA_SIZE: usize = 1 << ARENA_BITS;
const COMMIT_STEP: usize = 1 << 20;
const MIN_CLASS: u32 = 5; // 32-byte blocks
const HEADER: usize = 32;
const PAGE: usize = 4096;
/// Blocks of this class and above give their pages (past the first) back
/// to the kernel when freed.
const RELEASE_CLASS: u32 = 20;

/// Stack table capacity (entries; a power of two) and frame store size.
const STACK_CAP: usize = 1 << 16;
const FRAMES_CAP: usize = 1 << 22;

/// Fixed point for (fractional) estimated object counts.
pub(crate) const FP_SHIFT: u32 = 20;

/// Base of the arena, aligned to its size; 1 (never a masked address)
/// until reserved.
static ARENA_BASE: AtomicUsize = AtomicUsize::new(1);

/// Whether `p` is a sampled block: one load, one mask, one compare.
#[inline(always)]
pub(crate) fn is_sampled(p: *mut u8) -> bool {
    (p as usize) & !(ARENA_SIZE - 1) == ARENA_BASE.load(Ordering::Relaxed)
}

#[repr(C)]
struct Header {
    /// user pointer minus block start
    pad: u32,
    stack: u32,
    class: u32,
    _spare: u32,
    wbytes: u64,
    wobjects: u64,
}

#[repr(C)]
pub(crate) struct StackEntry {
    hash: u64,
    off: u32,
    len: u32,
    pub(crate) alloc_objects: AtomicU64,
    pub(crate) alloc_space: AtomicU64,
    pub(crate) inuse_objects: AtomicU64,
    pub(crate) inuse_space: AtomicU64,
    /// inuse_objects / inuse_space when the peak was last recorded.
    peak_objects: u64,
    peak_space: u64,
}

pub(crate) struct State {
    init: u8, // 0 = not yet, 1 = ready, 2 = failed
    base: usize,
    top: usize,
    committed: usize,
    free: [usize; 64],
    stacks: *mut StackEntry,
    stack_count: usize,
    /// Indices of the used entries, in insertion order (entry 0 first).
    used: *mut u32,
    frames: *mut usize,
    frames_used: usize,
    /// Estimated live bytes (sum of the in-use weights).
    live: u64,
    /// `live` when the peak snapshot was last taken.
    peak: u64,
}

/// Estimated live heap bytes, readable without the lock.
pub(crate) static LIVE_BYTES: AtomicU64 = AtomicU64::new(0);

// SAFETY: raw pointers to process-global mappings, guarded by the lock.
unsafe impl Send for State {}

pub(crate) static STATE: SpinLock<State> = SpinLock::new(State {
    init: 0,
    base: 0,
    top: 0,
    committed: 0,
    free: [0; 64],
    stacks: std::ptr::null_mut(),
    stack_count: 0,
    used: std::ptr::null_mut(),
    frames: std::ptr::null_mut(),
    frames_used: 0,
    live: 0,
    peak: 0,
});

unsafe fn map(len: usize, prot: libc::c_int) -> Option<usize> {
    let p = libc::mmap(
        std::ptr::null_mut(),
        len,
        prot,
        libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
        -1,
        0,
    );
    if p == libc::MAP_FAILED {
        None
    } else {
        Some(p as usize)
    }
}

extern "C" fn atfork_prepare() {
    STATE.raw_lock();
}
extern "C" fn atfork_release() {
    STATE.raw_unlock();
}

impl State {
    fn ensure_init(&mut self) -> bool {
        if self.init == 0 {
            self.init = if unsafe { self.init_maps() } { 1 } else { 2 };
            if self.init == 1 {
                // SAFETY: handlers are plain functions taking/releasing the lock.
                unsafe {
                    libc::pthread_atfork(
                        Some(atfork_prepare),
                        Some(atfork_release),
                        Some(atfork_release),
                    );
                }
            }
        }
        self.init == 1
    }

    unsafe fn init_maps(&mut self) -> bool {
        // Reserve twice the size, keep the aligned half.
        let Some(raw) = map(2 * ARENA_SIZE, libc::PROT_NONE) else {
            return false;
        };
        let base = (raw + ARENA_SIZE - 1) & !(ARENA_SIZE - 1);
        if base > raw {
            libc::munmap(raw as *mut _, base - raw);
        }
        let end = raw + 2 * ARENA_SIZE;
        if end > base + ARENA_SIZE {
            libc::munmap((base + ARENA_SIZE) as *mut _, end - base - ARENA_SIZE);
        }
        let rw = libc::PROT_READ | libc::PROT_WRITE;
        let Some(stacks) = map(STACK_CAP * std::mem::size_of::<StackEntry>(), rw) else {
            libc::munmap(base as *mut _, ARENA_SIZE);
            return false;
        };
        let Some(frames) = map(FRAMES_CAP * std::mem::size_of::<usize>(), rw) else {
            libc::munmap(base as *mut _, ARENA_SIZE);
            return false;
        };
        let Some(used) = map(STACK_CAP * std::mem::size_of::<u32>(), rw) else {
            libc::munmap(base as *mut _, ARENA_SIZE);
            return false;
        };
        self.used = used as *mut u32;
        *self.used = 0;
        self.base = base;
        self.stacks = stacks as *mut StackEntry;
        self.frames = frames as *mut usize;
        // Entry 0: the stack of samples whose stack could not be stored.
        (*self.stacks).hash = 1;
        self.stack_count = 1;
        ARENA_BASE.store(base, Ordering::Release);
        true
    }

    /// Carves or reuses a block for `size` bytes at `align`; returns
    /// (user pointer, class, pad).
    unsafe fn alloc_block(&mut self, size: usize, align: usize) -> Option<(usize, u32, usize)> {
        if align > PAGE {
            return None;
        }
        let pad = HEADER.max(align);
        let need = size.checked_add(pad)?.checked_next_power_of_two()?;
        let class = need.trailing_zeros().max(MIN_CLASS);
        if class >= ARENA_BITS - 1 {
            return None;
        }
        let bsize = 1usize << class;
        let block = if self.free[class as usize] != 0 {
            let b = self.free[class as usize];
            self.free[class as usize] = *(b as *const usize);
            b
        } else {
            let balign = bsize.min(PAGE);
            let start = (self.base + self.top + balign - 1) & !(balign - 1);
            let end = start + bsize;
            if end > self.base + ARENA_SIZE {
                return None;
            }
            let want = end - self.base;
            if want > self.committed {
                let new = (want + COMMIT_STEP - 1) & !(COMMIT_STEP - 1);
                let new = new.min(ARENA_SIZE);
                let rc = libc::mprotect(
                    (self.base + self.committed) as *mut _,
                    new - self.committed,
                    libc::PROT_READ | libc::PROT_WRITE,
                );
                if rc != 0 {
                    return None;
                }
                self.committed = new;
            }
            self.top = want;
            start
        };
        Some((block + pad, class, pad))
    }

    unsafe fn intern(&mut self, frames: &[usize]) -> u32 {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for &f in frames {
            h = (h ^ f as u64).wrapping_mul(0x0100_0000_01b3);
            h ^= h >> 29;
        }
        h |= 2; // never 0 (empty) nor 1 (entry 0's marker)
        let mask = STACK_CAP - 1;
        let mut i = (h as usize) & mask;
        loop {
            let e = &mut *self.stacks.add(i);
            if e.hash == 0 {
                if self.stack_count * 4 >= STACK_CAP * 3
                    || self.frames_used + frames.len() > FRAMES_CAP
                {
                    return 0;
                }
                std::ptr::copy_nonoverlapping(
                    frames.as_ptr(),
                    self.frames.add(self.frames_used),
                    frames.len(),
                );
                e.off = self.frames_used as u32;
                e.len = frames.len() as u32;
                e.hash = h;
                self.frames_used += frames.len();
                *self.used.add(self.stack_count) = i as u32;
                self.stack_count += 1;
                return i as u32;
            }
            if i != 0 && e.hash == h && e.len as usize == frames.len() {
                let stored =
                    std::slice::from_raw_parts(self.frames.add(e.off as usize), frames.len());
                if stored == frames {
                    return i as u32;
                }
            }
            i = (i + 1) & mask;
        }
    }

    fn entries(&self) -> impl Iterator<Item = &StackEntry> + '_ {
        // SAFETY: `used` lists stack_count valid entry indices.
        (0..self.stack_count).map(move |k| unsafe { &*self.stacks.add(*self.used.add(k) as usize) })
    }

    /// Adds `wbytes` to the live total; at each new high (by at least 1 %
    /// or 64 KiB over the last one) records every stack's in-use figures
    /// as the peak.
    fn grow_live(&mut self, wbytes: u64) {
        self.live += wbytes;
        LIVE_BYTES.store(self.live, Ordering::Relaxed);
        if self.live > self.peak + (self.peak / 100).max(64 << 10) {
            self.peak = self.live;
            for k in 0..self.stack_count {
                // SAFETY: `used` lists valid entry indices; entries are only
                // written under the lock, which is held here.
                unsafe {
                    let e = self.stacks.add(*self.used.add(k) as usize);
                    (*e).peak_objects = (*e).inuse_objects.load(Ordering::Relaxed);
                    (*e).peak_space = (*e).inuse_space.load(Ordering::Relaxed);
                }
            }
        }
    }

    /// Copies out every stack with its counters: alloc objects/bytes, in-use
    /// objects/bytes, and in-use objects/bytes at the peak. Call with the
    /// reentrancy guard set: this allocates.
    pub(crate) fn snapshot(&self) -> Vec<(Vec<usize>, [u64; 6])> {
        let mut out = Vec::new();
        if self.init != 1 {
            return out;
        }
        for e in self.entries() {
            // SAFETY: the frames of an entry were stored when it was made.
            let frames = unsafe {
                std::slice::from_raw_parts(self.frames.add(e.off as usize), e.len as usize)
            };
            let v = [
                e.alloc_objects.load(Ordering::Relaxed),
                e.alloc_space.load(Ordering::Relaxed),
                e.inuse_objects.load(Ordering::Relaxed),
                e.inuse_space.load(Ordering::Relaxed),
                e.peak_objects,
                e.peak_space,
            ];
            if v[0] != 0 {
                out.push((frames.to_vec(), v));
            }
        }
        out
    }

    /// Estimated live bytes at the recorded peak.
    pub(crate) fn peak_bytes(&self) -> u64 {
        self.peak
    }
}

/// Allocates a sampled block of `size` bytes for the stack `frames`, with
/// estimated (unsampled) weights. `None`: arena unavailable or exhausted,
/// or an alignment above a page; the caller falls back to the inner
/// allocator.
pub(crate) unsafe fn alloc_sampled(
    size: usize,
    align: usize,
    frames: &[usize],
    wbytes: u64,
    wobjects: u64,
) -> Option<*mut u8> {
    let mut st = STATE.lock();
    if !st.ensure_init() {
        return None;
    }
    let (user, class, pad) = st.alloc_block(size, align)?;
    let stack = st.intern(frames);
    let e = &*st.stacks.add(stack as usize);
    e.alloc_objects.fetch_add(wobjects, Ordering::Relaxed);
    e.alloc_space.fetch_add(wbytes, Ordering::Relaxed);
    e.inuse_objects.fetch_add(wobjects, Ordering::Relaxed);
    e.inuse_space.fetch_add(wbytes, Ordering::Relaxed);
    st.grow_live(wbytes);
    drop(st);
    let h = (user - HEADER) as *mut Header;
    h.write(Header {
        pad: pad as u32,
        stack,
        class,
        _spare: 0,
        wbytes,
        wobjects,
    });
    Some(user as *mut u8)
}

/// Frees a sampled block (one for which [`is_sampled`] holds).
pub(crate) unsafe fn free_sampled(p: *mut u8) {
    let user = p as usize;
    let h = &*((user - HEADER) as *const Header);
    let block = user - h.pad as usize;
    let (stack, class, wbytes, wobjects) = (h.stack, h.class, h.wbytes, h.wobjects);
    if class >= RELEASE_CLASS {
        // Still ours: give the pages past the first back before listing it.
        libc::madvise(
            (block + PAGE) as *mut _,
            (1usize << class) - PAGE,
            libc::MADV_DONTNEED,
        );
    }
    let mut st = STATE.lock();
    let e = &*st.stacks.add(stack as usize);
    e.inuse_objects.fetch_sub(wobjects, Ordering::Relaxed);
    e.inuse_space.fetch_sub(wbytes, Ordering::Relaxed);
    st.live -= wbytes;
    LIVE_BYTES.store(st.live, Ordering::Relaxed);
    *(block as *mut usize) = st.free[class as usize];
    st.free[class as usize] = block;
}
