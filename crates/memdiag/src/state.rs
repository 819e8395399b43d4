//! The sampled-block arena (sharded, one spin lock per shard) and the stack
//! table (lock-free).
//!
//! Only sampled allocations (rare at the default rate) and frees of sampled
//! blocks get here. At rate 1 every allocation does, so nothing here is
//! shared between threads on the common path: a thread allocates from and
//! frees into its home shard (held for its lifetime, see `home`: no lock),
//! the stack table is read without a lock, and the per-stack counters are
//! kept per shard. A block freed by another thread than its shard's holder
//! goes back through the shard's lock-free remote list.

use crate::lock::SpinLock;
use crate::testing::scope;
use crate::{home, sampler, stack_cache};
use std::sync::atomic::{AtomicI64, AtomicU32, AtomicU64, AtomicU8, AtomicUsize, Ordering};

/// Size (and alignment) of the reserved range sampled blocks come from.
const ARENA_BITS: u32 = 36; // 64 GiB
const ARENA_SIZE: usize = 1 << ARENA_BITS;
/// The arena is cut into this many shards (4 GiB each), one lock each.
pub(crate) const SHARDS: usize = 16;
const SHARD_BITS: u32 = ARENA_BITS - SHARDS.trailing_zeros();
const SHARD_SIZE: usize = 1 << SHARD_BITS;
/// Shards `0..SHARED` are never held by a thread: threads without a shard
/// of their own take them under their lock.
pub(crate) const SHARED: usize = 4;
const COMMIT_STEP: usize = 1 << 20;
const MIN_CLASS: u32 = 5; // 32-byte blocks
const HEADER: usize = 32;
const PAGE: usize = 4096;
/// Blocks of this class and above give their pages (past the first) back
/// to the kernel when freed.
const RELEASE_CLASS: u32 = 20;

/// Stack table: entries (dense, in insertion order), a hash index twice as
/// large (so probing always ends), and an append-only frame store.
const ENTRY_CAP: usize = 1 << 16;
const INDEX_CAP: usize = ENTRY_CAP * 2;
const FRAMES_CAP: usize = 1 << 22;

/// A shard publishes its live-byte changes to the global total (and the
/// peak check) once they add up to this much.
const FLUSH_BYTES: i64 = 64 << 10;

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
    /// The `testing` scope the block is charged to (0: none), with
    /// `scope::FREED` once freed by a thread that could not unlist it.
    /// Cleared (release) only after the links are replaced by the exact
    /// weight.
    scope: AtomicU32,
    wbytes: u64,
    /// Estimated objects (fixed point); for a scoped block, whose weight is
    /// exactly one object, its links in the scope's list instead.
    wobjects: u64,
}

/// One object in fixed point: the weight of every scoped block.
const ONE: u64 = 1 << FP_SHIFT;

impl Header {
    /// A scoped block's (previous, next) neighbours in its scope's list:
    /// user-pointer offsets in the shard, 0 = none.
    fn links(&self) -> (u32, u32) {
        (self.wobjects as u32, (self.wobjects >> 32) as u32)
    }

    fn set_links(&mut self, prev: u32, next: u32) {
        self.wobjects = prev as u64 | (next as u64) << 32;
    }
}

/// A scope's live blocks in one shard (a doubly linked list threaded
/// through their headers, so it allocates nothing) and what the scope
/// allocated there. A held shard lists only its holder's own scopes
/// (another thread's scoped allocations go to a shared shard), so only the
/// holder touches its lists.
#[derive(Clone, Copy)]
struct ScopeList {
    /// User-pointer offset of the first block in the shard, 0 = none.
    head: u32,
    allocs: u64,
    bytes: u64,
}

const NO_BLOCKS: ScopeList = ScopeList {
    head: 0,
    allocs: 0,
    bytes: 0,
};

impl ScopeList {
    /// The header of the block at user-pointer offset `off` of the shard
    /// range starting at `base`.
    unsafe fn header(base: usize, off: u32) -> &'static mut Header {
        &mut *((base + off as usize - HEADER) as *mut Header)
    }

    /// Puts the block at `user` (header `h`) at the head of the list.
    unsafe fn link(&mut self, base: usize, user: usize, h: &mut Header) {
        let off = (user - base) as u32;
        if self.head != 0 {
            let next = Self::header(base, self.head);
            let (_, nn) = next.links();
            next.set_links(off, nn);
        }
        h.set_links(0, self.head);
        self.head = off;
    }

    /// Takes the block with header `h` out of the list.
    unsafe fn unlink(&mut self, base: usize, h: &Header) {
        let (prev, next) = h.links();
        if prev == 0 {
            self.head = next;
        } else {
            let p = Self::header(base, prev);
            let (pp, _) = p.links();
            p.set_links(pp, next);
        }
        if next != 0 {
            let n = Self::header(base, next);
            let (_, nn) = n.links();
            n.set_links(prev, nn);
        }
    }
}

#[repr(C)]
struct Entry {
    /// Set (release) once `hash`, `off`, `len` and the frames are written.
    ready: AtomicU32,
    len: u32,
    off: u32,
    hash: u64,
    /// In-use objects / bytes (summed over shards) at the recorded peak.
    peak_objects: AtomicU64,
    peak_space: AtomicU64,
}

/// alloc_objects, alloc_space, inuse_objects, inuse_space of one stack in
/// one shard. Written only under the shard's lock (load + store, no
/// read-modify-write), read by anyone.
type Counters = [AtomicU64; 4];

const INIT_NO: u8 = 0;
const INIT_OK: u8 = 1;
const INIT_FAILED: u8 = 2;
static INIT: AtomicU8 = AtomicU8::new(INIT_NO);
static INIT_LOCK: SpinLock<()> = SpinLock::new(());

/// The stack table's mappings (set once, before INIT is OK).
static INDEX: AtomicUsize = AtomicUsize::new(0);
static ENTRIES: AtomicUsize = AtomicUsize::new(0);
static FRAMES: AtomicUsize = AtomicUsize::new(0);
/// Entries reserved (entry 0, the stack of samples whose stack could not be
/// stored, is made at init) and frames used; both may overshoot their caps.
static ENTRY_COUNT: AtomicUsize = AtomicUsize::new(0);
static FRAMES_USED: AtomicUsize = AtomicUsize::new(0);

/// All shards' counter arrays, one after the other (mapped at init, so a
/// free on any thread can count without a mapping that may fail).
static COUNTER_MAP: AtomicUsize = AtomicUsize::new(0);
/// Bit k: shard k has been used (its counters may be non-zero).
static USED_SHARDS: AtomicU32 = AtomicU32::new(0);
const _: () = assert!(SHARDS <= 32, "USED_SHARDS has a bit per shard");
/// Each shard's estimated live bytes (exact sum of its blocks' weights):
/// written at every sampled alloc and free.
static SHARD_LIVE: [Line<AtomicI64>; SHARDS] = [const { Line(AtomicI64::new(0)) }; SHARDS];

/// Estimated live bytes as flushed by the shards (within
/// `SHARDS * FLUSH_BYTES` of the exact sum), and the recorded peak.
static LIVE: Line<AtomicI64> = Line(AtomicI64::new(0));
static PEAK: Line<AtomicI64> = Line(AtomicI64::new(0));

/// A value alone on its cache-line pair: written by one or all threads at
/// rate 1, it must not share a line with another thread's hot data or with
/// what every sample reads (a shared line cost a third of the time).
#[repr(align(128))]
struct Line<T>(T);

impl<T> std::ops::Deref for Line<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

/// Held while a peak snapshot is being written.
static PEAK_LOCK: SpinLock<()> = SpinLock::new(());

struct Shard {
    /// First address of this shard's range (0 until first used).
    base: usize,
    top: usize,
    committed: usize,
    free: [usize; 64],
    counters: *mut Counters,
    /// Live-byte change not yet added to `LIVE`.
    unflushed: i64,
    /// Per scope slot: its blocks from this shard.
    scopes: [ScopeList; scope::SLOTS],
}

/// One shard per cache-line pair, so two shards' locks never share a line.
#[repr(align(128))]
struct Padded {
    shard: SpinLock<Shard>,
    /// Blocks of this shard's range freed by threads that do not hold it:
    /// a lock-free stack (push by anyone, taken whole by the holder).
    remote: Remote,
}

/// On its own lines: other threads write it, the holder rarely reads it.
#[repr(align(128))]
struct Remote(AtomicUsize);

// SAFETY: raw pointers to process-global mappings, guarded by the lock.
unsafe impl Send for Shard {}

static SHARD: [Padded; SHARDS] = [const {
    Padded {
        shard: SpinLock::new(Shard {
            base: 0,
            top: 0,
            committed: 0,
            free: [0; 64],
            counters: std::ptr::null_mut(),
            unflushed: 0,
            scopes: [NO_BLOCKS; scope::SLOTS],
        }),
        remote: Remote(AtomicUsize::new(0)),
    }
}; SHARDS];

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

// Every lock taken for an operation is held across `fork`, so the child
// finds none of them taken by a thread that no longer exists. Order: init,
// shared shards, peak (the order they nest in everywhere else). A held
// shard is not: its holder's lock is never released, and in the child a
// shard held by another thread stays unused.
extern "C" fn atfork_prepare() {
    INIT_LOCK.raw_lock();
    for s in &SHARD[..SHARED] {
        s.shard.raw_lock();
    }
    PEAK_LOCK.raw_lock();
}
extern "C" fn atfork_release() {
    PEAK_LOCK.raw_unlock();
    for s in SHARD[..SHARED].iter().rev() {
        s.shard.raw_unlock();
    }
    INIT_LOCK.raw_unlock();
}

const ATFORK_NO: u8 = 0;
const ATFORK_BUSY: u8 = 1;
const ATFORK_DONE: u8 = 2;
static ATFORK: AtomicU8 = AtomicU8::new(ATFORK_NO);

/// Registers the fork handlers before any of our locks is first taken: a
/// fork between taking a lock and registering them would leave the child
/// with a lock nobody will release. (glibc blocks `pthread_atfork` while a
/// fork runs its handlers, so a registration either counts for that fork
/// or waits until it is over.)
fn ensure_atfork() {
    if ATFORK.load(Ordering::Acquire) == ATFORK_DONE {
        return;
    }
    if ATFORK
        .compare_exchange(ATFORK_NO, ATFORK_BUSY, Ordering::Acquire, Ordering::Acquire)
        .is_ok()
    {
        // SAFETY: the handlers are plain functions taking/releasing locks.
        unsafe {
            libc::pthread_atfork(
                Some(atfork_prepare),
                Some(atfork_release),
                Some(atfork_release),
            );
        }
        ATFORK.store(ATFORK_DONE, Ordering::Release);
    } else {
        while ATFORK.load(Ordering::Acquire) != ATFORK_DONE {
            // sched_yield: no allocation, no lock.
            std::thread::yield_now();
        }
    }
}

/// Runs `f` under the lock held across `fork` for one-time setup, so no
/// `fork` can leave the child with a setup half done by a thread it lost.
pub(crate) fn once_across_fork<R>(f: impl FnOnce() -> R) -> R {
    ensure_atfork();
    let _g = INIT_LOCK.lock();
    f()
}

/// Reserves the arena and maps the stack table, once.
fn ensure_init() -> bool {
    match INIT.load(Ordering::Acquire) {
        INIT_OK => return true,
        INIT_FAILED => return false,
        _ => {}
    }
    ensure_atfork();
    let _g = INIT_LOCK.lock();
    if INIT.load(Ordering::Acquire) == INIT_NO {
        // SAFETY: fresh mappings only; published through INIT (release).
        let ok = unsafe { init_maps() };
        INIT.store(if ok { INIT_OK } else { INIT_FAILED }, Ordering::Release);
        if !ok {
            // Once, and without allocating: the program runs on, unprofiled.
            let msg = b"memdiag: cannot reserve 128 GiB of address space for sampled blocks \
                        (is `ulimit -v` set?); heap profiling is off\n";
            // SAFETY: a valid buffer; write(2) neither allocates nor locks.
            unsafe { libc::write(2, msg.as_ptr().cast(), msg.len()) };
        }
    }
    INIT.load(Ordering::Acquire) == INIT_OK
}

unsafe fn init_maps() -> bool {
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
    let sizes = [
        INDEX_CAP * std::mem::size_of::<AtomicU64>(),
        ENTRY_CAP * std::mem::size_of::<Entry>(),
        FRAMES_CAP * std::mem::size_of::<usize>(),
        SHARDS * ENTRY_CAP * std::mem::size_of::<Counters>(),
    ];
    let mut maps = [0usize; 4];
    for (m, &len) in maps.iter_mut().zip(&sizes) {
        match map(len, rw) {
            Some(p) => *m = p,
            None => {
                libc::munmap(base as *mut _, ARENA_SIZE);
                return false;
            }
        }
    }
    INDEX.store(maps[0], Ordering::Relaxed);
    ENTRIES.store(maps[1], Ordering::Relaxed);
    FRAMES.store(maps[2], Ordering::Relaxed);
    COUNTER_MAP.store(maps[3], Ordering::Relaxed);
    // Entry 0: the stack of samples whose stack could not be stored.
    (*(maps[1] as *const Entry))
        .ready
        .store(1, Ordering::Relaxed);
    ENTRY_COUNT.store(1, Ordering::Relaxed);
    ARENA_BASE.store(base, Ordering::Release);
    true
}

#[inline]
fn entry(id: usize) -> &'static Entry {
    // SAFETY: callers pass id < ENTRY_CAP after init; the mapping lives
    // for the rest of the process.
    unsafe { &*(ENTRIES.load(Ordering::Relaxed) as *const Entry).add(id) }
}

#[inline]
fn frames_of(e: &Entry) -> &'static [usize] {
    // SAFETY: a ready entry's frames were written before `ready` was set.
    unsafe {
        std::slice::from_raw_parts(
            (FRAMES.load(Ordering::Relaxed) as *const usize).add(e.off as usize),
            e.len as usize,
        )
    }
}

fn hash(frames: &[usize]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &f in frames {
        h = (h ^ f as u64).wrapping_mul(0x0100_0000_01b3);
        h ^= h >> 29;
    }
    h
}

/// `a == b`, inlined: a call to `memcmp` cost more than comparing the few
/// words of a typical stack (a tenth of the time at rate 1).
#[inline]
pub(crate) fn same(a: &[usize], b: &[usize]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x == y)
}

/// The id of the stack `frames`, adding it if new (lock-free: a new entry
/// is written in full, then published by one compare-and-swap of its index
/// slot). 0 when the table or the frame store is full.
pub(crate) fn intern(frames: &[usize]) -> u32 {
    let h = hash(frames);
    // Index slot: high half = hash tag (never 0), low half = entry id + 1.
    let tag = (h >> 32) | 1;
    let index = INDEX.load(Ordering::Relaxed) as *const AtomicU64;
    let mask = INDEX_CAP - 1;
    let mut i = h as usize & mask;
    let mut reserved: Option<usize> = None;
    for _ in 0..INDEX_CAP {
        // SAFETY: i < INDEX_CAP, within the index mapping.
        let slot = unsafe { &*index.add(i) };
        let mut v = slot.load(Ordering::Acquire);
        if v == 0 {
            let id = match reserved {
                Some(id) => id,
                None => match new_entry(frames, h) {
                    Some(id) => id,
                    None => return 0,
                },
            };
            match slot.compare_exchange(
                0,
                (tag << 32) | (id as u64 + 1),
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return id as u32,
                // Another thread took the slot, perhaps for this very
                // stack: compare with it, keep our entry for a later slot.
                Err(cur) => {
                    reserved = Some(id);
                    v = cur;
                }
            }
        }
        if v >> 32 == tag {
            let id = (v & 0xffff_ffff) as usize - 1;
            let e = entry(id);
            if e.hash == h && same(frames_of(e), frames) {
                // A reserved entry left unpublished stays empty (no
                // counts), and is skipped by snapshots.
                return id as u32;
            }
        }
        i = (i + 1) & mask;
    }
    0
}

/// Writes a new (not yet indexed) entry for `frames`.
fn new_entry(frames: &[usize], h: u64) -> Option<usize> {
    let id = ENTRY_COUNT.fetch_add(1, Ordering::Relaxed);
    if id >= ENTRY_CAP {
        return None;
    }
    let off = FRAMES_USED.fetch_add(frames.len(), Ordering::Relaxed);
    if off + frames.len() > FRAMES_CAP {
        return None;
    }
    let p = (ENTRIES.load(Ordering::Relaxed) as *mut Entry).wrapping_add(id);
    // SAFETY: `id` and `off..off+len` were reserved for this thread alone;
    // nobody reads the entry before `ready` is set.
    unsafe {
        std::ptr::copy_nonoverlapping(
            frames.as_ptr(),
            (FRAMES.load(Ordering::Relaxed) as *mut usize).add(off),
            frames.len(),
        );
        (*p).len = frames.len() as u32;
        (*p).off = off as u32;
        (*p).hash = h;
        (*p).ready.store(1, Ordering::Release);
    }
    Some(id)
}

/// Hints the cache to load the line at `addr` (0 included: a prefetch
/// never faults).
#[inline(always)]
fn prefetch(addr: usize) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch reads nothing and cannot fault.
    unsafe {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        _mm_prefetch::<_MM_HINT_T0>(addr as *const i8);
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = addr;
}

impl Shard {
    /// Sets up this shard (`k`) on first use.
    fn ensure_ready(&mut self, k: usize) {
        if self.base != 0 {
            return;
        }
        self.counters = counters_of(k);
        USED_SHARDS.fetch_or(1 << k, Ordering::Release);
        self.base = ARENA_BASE.load(Ordering::Relaxed) + k * SHARD_SIZE;
    }

    /// Carves or reuses a block for `size` bytes at `align`; returns
    /// (user pointer, class, pad). `remote`: this shard's remote list.
    unsafe fn alloc_block(
        &mut self,
        remote: &AtomicUsize,
        size: usize,
        align: usize,
    ) -> Option<(usize, u32, usize)> {
        if align > PAGE {
            return None;
        }
        let pad = HEADER.max(align);
        let need = size.checked_add(pad)?.checked_next_power_of_two()?;
        let class = need.trailing_zeros().max(MIN_CLASS);
        if class >= SHARD_BITS - 1 {
            return None;
        }
        let bsize = 1usize << class;
        if self.free[class as usize] == 0 && remote.load(Ordering::Relaxed) != 0 {
            self.take_remote(remote);
        }
        let block = if self.free[class as usize] != 0 {
            let b = self.free[class as usize];
            let next = *(b as *const usize);
            self.free[class as usize] = next;
            // The next block of this class is read (its link) and written
            // (its header) by the next allocation: at rate 1 that read was
            // the costliest miss of the whole path.
            prefetch(next);
            b
        } else {
            let balign = bsize.min(PAGE);
            let start = (self.base + self.top + balign - 1) & !(balign - 1);
            let end = start + bsize;
            if end > self.base + SHARD_SIZE {
                return None;
            }
            let want = end - self.base;
            if want > self.committed {
                let new = (want + COMMIT_STEP - 1) & !(COMMIT_STEP - 1);
                let new = new.min(SHARD_SIZE);
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

    /// Moves the blocks other threads freed into this shard's free lists.
    unsafe fn take_remote(&mut self, remote: &AtomicUsize) {
        let mut b = remote.swap(0, Ordering::Acquire);
        while b != 0 {
            let p = b as *mut usize;
            let (next, class) = (*p, *p.add(1));
            *p = self.free[class];
            self.free[class] = b;
            b = next;
        }
    }

    /// Frees `block` of `class` into this shard (`k`), or, if it lies in
    /// another shard's range (`r`), into that shard's remote list.
    unsafe fn free_block(&mut self, k: usize, r: usize, block: usize, class: u32) {
        let p = block as *mut usize;
        if r == k {
            *p = self.free[class as usize];
            self.free[class as usize] = block;
            return;
        }
        // Blocks are at least 32 bytes: room for the link and the class.
        *p.add(1) = class as usize;
        let remote = &SHARD[r].remote.0;
        let mut head = remote.load(Ordering::Relaxed);
        loop {
            *p = head;
            match remote.compare_exchange_weak(head, block, Ordering::Release, Ordering::Relaxed) {
                Ok(_) => return,
                Err(h) => head = h,
            }
        }
    }

    /// Adds `d` to stack `stack`'s counter `i` (only this shard's lock
    /// holder writes it: a load and a store suffice).
    #[inline]
    unsafe fn add(&self, stack: u32, i: usize, d: u64) {
        let c = &(*self.counters.add(stack as usize))[i];
        c.store(c.load(Ordering::Relaxed).wrapping_add(d), Ordering::Relaxed);
    }

    /// Records a change of `d` estimated live bytes in shard `k`.
    fn change_live(&mut self, k: usize, d: i64) {
        let live = &SHARD_LIVE[k];
        live.store(live.load(Ordering::Relaxed) + d, Ordering::Relaxed);
        self.unflushed += d;
        if self.unflushed.abs() >= FLUSH_BYTES {
            let now = LIVE.fetch_add(self.unflushed, Ordering::Relaxed) + self.unflushed;
            self.unflushed = 0;
            if d > 0 {
                maybe_record_peak(now);
            }
        }
    }
}

/// At each new high of the live heap (by at least 1 % or 64 KiB over the
/// last one), records every stack's in-use figures as the peak.
fn maybe_record_peak(live: i64) {
    let peak = PEAK.load(Ordering::Relaxed);
    if live <= peak + (peak / 100).max(64 << 10) {
        return;
    }
    // Someone else is recording: this high is close to theirs.
    let Some(_g) = PEAK_LOCK.try_lock() else {
        return;
    };
    if live <= PEAK.load(Ordering::Relaxed) {
        return;
    }
    PEAK.store(live, Ordering::Relaxed);
    for id in 0..entry_count() {
        let (objects, space) = sum_counters(id, 2);
        let e = entry(id);
        e.peak_objects.store(objects, Ordering::Relaxed);
        e.peak_space.store(space, Ordering::Relaxed);
    }
}

fn entry_count() -> usize {
    ENTRY_COUNT.load(Ordering::Acquire).min(ENTRY_CAP)
}

/// Shard `k`'s counter array, in the counter mapping (made at init).
fn counters_of(k: usize) -> *mut Counters {
    (COUNTER_MAP.load(Ordering::Relaxed) + k * ENTRY_CAP * std::mem::size_of::<Counters>())
        as *mut Counters
}

/// Counters `i` and `i + 1` of stack `id`, summed over the shards used.
fn sum_counters(id: usize, i: usize) -> (u64, u64) {
    let (mut a, mut b) = (0u64, 0u64);
    let used = USED_SHARDS.load(Ordering::Acquire);
    for k in (0..SHARDS).filter(|k| used & (1 << k) != 0) {
        // SAFETY: id < ENTRY_CAP, within the shard's counter mapping.
        let c = unsafe { &*counters_of(k).add(id) };
        a = a.wrapping_add(c[i].load(Ordering::Relaxed));
        b = b.wrapping_add(c[i + 1].load(Ordering::Relaxed));
    }
    (a, b)
}

/// Copies out every stack with its counters: alloc objects/bytes, in-use
/// objects/bytes, and in-use objects/bytes at the peak. Call with the
/// reentrancy guard set: this allocates.
pub(crate) fn snapshot() -> Vec<(Vec<usize>, [u64; 6])> {
    let mut out = Vec::new();
    if INIT.load(Ordering::Acquire) != INIT_OK {
        return out;
    }
    for id in 0..entry_count() {
        let e = entry(id);
        if e.ready.load(Ordering::Acquire) == 0 {
            continue;
        }
        let (ao, asp) = sum_counters(id, 0);
        if ao == 0 {
            continue;
        }
        let (io, isp) = sum_counters(id, 2);
        let v = [
            ao,
            asp,
            io,
            isp,
            e.peak_objects.load(Ordering::Relaxed),
            e.peak_space.load(Ordering::Relaxed),
        ];
        out.push((frames_of(e).to_vec(), v));
    }
    out
}

/// Estimated live heap bytes (sum of the sampled blocks' weights).
pub(crate) fn live_bytes() -> u64 {
    SHARD_LIVE
        .iter()
        .map(|l| l.load(Ordering::Relaxed))
        .sum::<i64>()
        .max(0) as u64
}

/// Estimated live bytes at the recorded peak.
pub(crate) fn peak_bytes() -> u64 {
    PEAK.load(Ordering::Relaxed).max(0) as u64
}

/// Bytes the profiler's own tables hold (stack table, frames, per-shard
/// counters; the sampled blocks themselves are the program's).
pub(crate) fn table_bytes() -> u64 {
    if INIT.load(Ordering::Acquire) != INIT_OK {
        return 0;
    }
    let stacks = entry_count() as u64;
    let shards = USED_SHARDS.load(Ordering::Relaxed).count_ones() as u64;
    let frames = FRAMES_USED.load(Ordering::Relaxed).min(FRAMES_CAP) as u64;
    // The index is touched at random: count all of it.
    (INDEX_CAP * std::mem::size_of::<AtomicU64>()) as u64
        + stacks * std::mem::size_of::<Entry>() as u64
        + frames * 8
        + shards * stacks * std::mem::size_of::<Counters>() as u64
}

/// Claims a holdable shard for the calling thread until
/// [`release_shard`]: its lock stays taken, so nobody else uses it.
pub(crate) fn claim_shard() -> Option<usize> {
    (SHARED..SHARDS).find(|&k| SHARD[k].shard.try_raw_lock())
}

pub(crate) fn release_shard(k: usize) {
    SHARD[k].shard.raw_unlock();
}

/// Runs `f` on shard `k` (from `home::shard`): held by this thread, or
/// shared and taken under its lock.
fn with_shard<R>(k: usize, f: impl FnOnce(&mut Shard) -> R) -> R {
    let s = &SHARD[k].shard;
    if k >= SHARED {
        // SAFETY: this thread holds shard k (see `home`), and does not
        // re-enter here while `f` runs (nothing in it allocates or frees).
        f(unsafe { s.held() })
    } else {
        f(&mut s.lock())
    }
}

/// Allocates a sampled block of `size` bytes for the stack `frames`, with
/// estimated (unsampled) weights, charged to the `testing` scope `tag` if
/// that is still open (then the weights must be exact: `size` bytes, one
/// object). From this thread's shard, or, for a scope this thread does not
/// own, from a shared one (a held shard lists only its holder's scopes).
/// `None`: arena unavailable or exhausted, or an alignment above a page;
/// the caller falls back to the inner allocator. Call with the reentrancy
/// guard set.
pub(crate) unsafe fn alloc_sampled(
    size: usize,
    align: usize,
    frames: &[usize],
    wbytes: u64,
    wobjects: u64,
    tag: u32,
) -> Option<*mut u8> {
    if !ensure_init() {
        return None;
    }
    let stack = stack_cache::intern(frames);
    let mut k = home::shard(true);
    if tag != 0 && !sampler::owns_scope(tag) {
        k %= SHARED;
    }
    let (user, linked) = with_shard(k, |st| {
        st.ensure_ready(k);
        let (user, class, pad) = st.alloc_block(&SHARD[k].remote.0, size, align)?;
        st.add(stack, 0, wobjects);
        st.add(stack, 1, wbytes);
        st.add(stack, 2, wobjects);
        st.add(stack, 3, wbytes);
        st.change_live(k, wbytes as i64);
        let h = &mut *((user - HEADER) as *mut Header);
        *h = Header {
            pad: pad as u32,
            stack,
            class,
            scope: AtomicU32::new(0),
            wbytes,
            wobjects,
        };
        // Closing clears the tag, then detaches under this shard's lock
        // (or on this very thread, for a held shard).
        let linked = tag != 0 && scope::is_open(tag);
        if linked {
            let list = &mut st.scopes[scope::slot(tag)];
            list.link(st.base, user, h);
            list.allocs += 1;
            list.bytes += size as u64;
            h.scope.store(tag, Ordering::Relaxed);
        }
        Some((user, linked))
    })?;
    if linked {
        scope::grow(tag, size as u64);
    }
    Some(user as *mut u8)
}

/// Frees a sampled block (one for which [`is_sampled`] holds) into this
/// thread's shard (or the remote list of the shard it came from).
pub(crate) unsafe fn free_sampled(p: *mut u8) {
    let user = p as usize;
    let h = &*((user - HEADER) as *const Header);
    let block = user - h.pad as usize;
    let (class, stack, wbytes) = (h.class, h.stack, h.wbytes);
    let r = (block - ARENA_BASE.load(Ordering::Relaxed)) >> SHARD_BITS;
    let k = home::shard(false);
    // Acquire: a scope's detach sets the exact weight before clearing it.
    let tag = h.scope.load(Ordering::Acquire);
    let wobjects = if tag == 0 {
        h.wobjects
    } else if r < SHARED || r == k {
        // Listed in a shared shard (under its lock) or in ours.
        with_shard(r, |st| {
            let tag = h.scope.load(Ordering::Relaxed);
            if tag != 0 {
                st.scopes[scope::slot(tag)].unlink(st.base, h);
                scope::shrink(tag, wbytes);
            }
        });
        ONE
    } else {
        // Listed in a shard another thread holds: its owner takes it back.
        let marked = scope::free_remote(tag, wbytes, || {
            h.scope
                .compare_exchange(tag, tag | scope::FREED, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
        });
        if marked {
            with_shard(k, |st| {
                st.ensure_ready(k);
                st.add(stack, 2, ONE.wrapping_neg());
                st.add(stack, 3, wbytes.wrapping_neg());
                st.change_live(k, -(wbytes as i64));
            });
            return;
        }
        ONE
    };
    if class >= RELEASE_CLASS {
        // Still ours: give the pages past the first back before listing it.
        libc::madvise(
            (block + PAGE) as *mut _,
            (1usize << class) - PAGE,
            libc::MADV_DONTNEED,
        );
    }
    with_shard(k, |st| {
        st.ensure_ready(k);
        st.add(stack, 2, wobjects.wrapping_neg());
        st.add(stack, 3, wbytes.wrapping_neg());
        st.change_live(k, -(wbytes as i64));
        st.free_block(k, r, block, class);
    });
}

/// What a closed `testing` scope left: its live blocks as (stack, bytes),
/// how many blocks and bytes it allocated.
pub(crate) struct ScopeRest {
    pub(crate) live: Vec<(u32, u64)>,
    pub(crate) allocs: u64,
    pub(crate) bytes: u64,
}

/// Detaches the scope `tag`, already closed (no block joins it any more),
/// from its live blocks, which stay ordinary exact-weight samples, and
/// returns them; frees the blocks other threads marked freed. Call on the
/// scope's owner thread (its blocks are listed in the shard it holds, or
/// in shared ones), with the reentrancy guard set: this allocates (from
/// the inner allocator, so with a shard lock held).
pub(crate) fn detach_scope(tag: u32) -> ScopeRest {
    let mut rest = ScopeRest {
        live: Vec::new(),
        allocs: 0,
        bytes: 0,
    };
    if INIT.load(Ordering::Acquire) != INIT_OK {
        return rest;
    }
    let mine = sampler::shard();
    for k in (0..SHARED).chain((SHARED..SHARDS).filter(|&k| k == mine)) {
        with_shard(k, |st| {
            let list = std::mem::replace(&mut st.scopes[scope::slot(tag)], NO_BLOCKS);
            rest.allocs += list.allocs;
            rest.bytes += list.bytes;
            let mut off = list.head;
            while off != 0 {
                // SAFETY: every offset in the list is a block of this
                // shard that nobody else frees into it while listed (a free
                // takes the lock, or only marks it freed).
                unsafe {
                    let user = st.base + off as usize;
                    let h = ScopeList::header(st.base, off);
                    off = h.links().1;
                    h.wobjects = ONE;
                    if h.scope
                        .compare_exchange(tag, 0, Ordering::Release, Ordering::Relaxed)
                        .is_ok()
                    {
                        rest.live.push((h.stack, h.wbytes));
                    } else {
                        st.free_block(k, k, user - h.pad as usize, h.class);
                    }
                }
            }
        });
    }
    rest
}

/// The return addresses of stack `id` (innermost first).
pub(crate) fn stack_frames(id: u32) -> &'static [usize] {
    frames_of(entry(id as usize))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interning_is_stable_and_distinct() {
        assert!(ensure_init());
        let a = [0x1000usize, 0x2000, 0x3000];
        let b = [0x1000usize, 0x2000, 0x3001];
        let ia = intern(&a);
        let ib = intern(&b);
        assert_ne!(ia, 0);
        assert_ne!(ib, 0);
        assert_ne!(ia, ib);
        assert_eq!(intern(&a), ia);
        assert_eq!(frames_of(entry(ia as usize)), &a);
    }

    #[test]
    fn concurrent_interning_agrees() {
        assert!(ensure_init());
        let ids: Vec<Vec<u32>> = std::thread::scope(|s| {
            let hs: Vec<_> = (0..4)
                .map(|_| {
                    s.spawn(|| {
                        (0..200usize)
                            .map(|i| intern(&[0xdead_0000 + i, 0xbeef, i * 7]))
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            hs.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for v in &ids[1..] {
            assert_eq!(v, &ids[0]);
        }
        let mut uniq = ids[0].clone();
        uniq.sort_unstable();
        uniq.dedup();
        assert_eq!(uniq.len(), 200);
    }
}
