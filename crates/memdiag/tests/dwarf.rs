//! The DWARF unwinder (MEMDIAG_UNWIND=dwarf / `set_unwind`) attributes
//! allocations to the same functions as the frame-pointer walk.

mod common;

#[global_allocator]
static ALLOC: memdiag::Profiled<std::alloc::System> = memdiag::Profiled::new(std::alloc::System);

#[inline(never)]
fn dwarf_site() -> Vec<Box<[u8]>> {
    (0..20)
        .map(|i| vec![7u8; 3000 + i].into_boxed_slice())
        .collect()
}

#[test]
fn dwarf_unwinding_finds_the_allocation_site() {
    memdiag::set_unwind(memdiag::Unwind::Dwarf);
    assert_eq!(memdiag::unwind_mode(), memdiag::Unwind::Dwarf);
    memdiag::set_sample_rate(1);
    let live = std::hint::black_box(dwarf_site());
    memdiag::set_unwind(memdiag::Unwind::FramePointers);
    let p = memdiag::heap_profile();
    // 20 fat pointers of 16 bytes, then the 20 slices.
    let bytes = 20 * 16 + (0..20).map(|i| 3000 + i).sum::<i64>();
    assert_eq!(
        common::totals_for(&p, "dwarf::dwarf_site"),
        [21, bytes, 21, bytes]
    );
    // The profiler's own frames never lead a stack.
    for s in p.samples.iter() {
        if let Some(&leaf) = s.locations.first() {
            for line in &p.locations[leaf as usize].lines {
                let name = p.function_name(line);
                assert!(!name.contains("memdiag::"), "profiler frame {name}");
            }
        }
    }
    drop(live);
}
