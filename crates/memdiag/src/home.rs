//! A thread's home shard: the arena shard it allocates sampled blocks from
//! and keeps its counters in.
//!
//! At its first sample a thread claims a free shard and holds its lock until
//! it exits (released by a thread-local destructor), so at rate 1 its
//! allocations and frees of its own blocks take no lock. When
//! every holdable shard is taken, or the thread is already tearing down, it
//! shares one of the first `state::SHARED` shards, which are never held and
//! are taken under their lock for each operation.

use crate::{sampler, state};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Hands out the shared shards round-robin.
static NEXT_SHARED: AtomicUsize = AtomicUsize::new(0);

/// Releases the held shard when the thread exits. Separate from the
/// sampler's thread state, which has no destructor: after this one has run,
/// the thread's last allocations go to a shared shard.
struct Release(Cell<usize>);

impl Drop for Release {
    fn drop(&mut self) {
        let k = self.0.get();
        if k != NONE {
            sampler::set_shard(shared());
            state::release_shard(k);
        }
    }
}

const NONE: usize = usize::MAX;

thread_local! {
    static RELEASE: Release = const { Release(Cell::new(NONE)) };
}

fn shared() -> usize {
    NEXT_SHARED.fetch_add(1, Ordering::Relaxed) % state::SHARED
}

/// This thread's shard (held if `>= state::SHARED`). `claim`: claim one if
/// the thread has none yet; only on the allocation path, which runs with
/// the reentrancy guard set (registering the destructor may allocate). A
/// free on a thread that never sampled uses a shared shard, unrecorded.
pub(crate) fn shard(claim: bool) -> usize {
    let k = sampler::shard();
    if k != NONE {
        return k;
    }
    if !claim {
        return shared();
    }
    let k = match state::claim_shard() {
        Some(k) if RELEASE.try_with(|r| r.0.set(k)).is_ok() => k,
        Some(k) => {
            // Tearing down: nothing would release it.
            state::release_shard(k);
            shared()
        }
        None => shared(),
    };
    sampler::set_shard(k);
    k
}
