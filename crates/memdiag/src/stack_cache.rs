//! A per-thread cache of recently interned stacks: a repeated allocation
//! site skips hashing its stack and probing the shared index (at rate 1
//! most allocations repeat a recent stack). The last stack is kept whole,
//! so repeating it reads nothing shared; 16 more ways are keyed by the two
//! innermost return addresses and checked against the table's copy of the
//! frames. A hit is never wrong, only sometimes missed. `const` thread
//! locals of `Cell`s with no destructor, like the sampler's: usable during
//! thread exit.

use crate::state;
use crate::unwind::MAX_FRAMES;
use std::cell::Cell;

const WAYS: usize = 16;

/// The last stack: its id (0: none), length and frames.
struct Last {
    id: Cell<u32>,
    len: Cell<usize>,
    frames: [Cell<usize>; MAX_FRAMES],
}

thread_local! {
    /// (key, stack id) per way; id 0 = empty.
    static CACHE: [Cell<(usize, u32)>; WAYS] = const { [const { Cell::new((0, 0)) }; WAYS] };
    static LAST: Last = const {
        Last {
            id: Cell::new(0),
            len: Cell::new(0),
            frames: [const { Cell::new(0) }; MAX_FRAMES],
        }
    };
}

/// The id of the stack `frames`, as [`state::intern`] gives it.
pub(crate) fn intern(frames: &[usize]) -> u32 {
    let Ok(last) = LAST.try_with(|l| {
        let id = l.id.get();
        if id != 0
            && l.len.get() == frames.len()
            && l.frames.iter().zip(frames).all(|(a, &b)| a.get() == b)
        {
            return id;
        }
        let id = by_way(frames);
        if id != 0 {
            l.id.set(id);
            l.len.set(frames.len());
            for (a, &b) in l.frames.iter().zip(frames) {
                a.set(b);
            }
        }
        id
    }) else {
        return by_way(frames);
    };
    last
}

fn by_way(frames: &[usize]) -> u32 {
    let key = match frames {
        [a, b, ..] => a ^ b.rotate_left(32),
        [a] => *a,
        [] => return state::intern(frames),
    };
    let way = (key ^ key >> 4 ^ key >> 12) % WAYS;
    CACHE
        .try_with(|c| {
            let (k, id) = c[way].get();
            if id != 0 && k == key && state::same(state::stack_frames(id), frames) {
                return id;
            }
            let id = state::intern(frames);
            if id != 0 {
                c[way].set((key, id));
            }
            id
        })
        .unwrap_or_else(|_| state::intern(frames))
}
