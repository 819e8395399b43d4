//! Codegen baseline for `overhead`: the same workload over a wrapper that
//! only forwards to `System` (what any `GlobalAlloc` wrapper costs).

use std::alloc::{GlobalAlloc, Layout, System};

struct Forward(System);

// SAFETY: forwards every call to System.
unsafe impl GlobalAlloc for Forward {
    #[inline]
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        self.0.alloc(l)
    }
    #[inline]
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        self.0.dealloc(p, l)
    }
    #[inline]
    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        self.0.alloc_zeroed(l)
    }
    #[inline]
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        self.0.realloc(p, l, n)
    }
}

#[global_allocator]
static ALLOC: Forward = Forward(System);

#[path = "shared/workload.rs"]
mod workload;

fn main() {
    workload::run("passthrough");
}
