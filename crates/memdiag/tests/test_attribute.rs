//! `#[memdiag::test]`: a test with leak and peak limits.

#[global_allocator]
static ALLOC: memdiag::Profiled<std::alloc::System> = memdiag::Profiled::new(std::alloc::System);

#[memdiag::test(max_leak = "0 B", max_peak = "8 KiB")]
fn within_the_limits() {
    let v: Vec<u64> = Vec::with_capacity(1024); // exactly 8 KiB
    assert_eq!(v.capacity(), 1024);
}

#[memdiag::test(max_peak = "8 KiB")]
#[should_panic(expected = "peak of 8193 B live over the limit of 8192 B")]
fn over_the_peak() {
    drop(Vec::<u8>::with_capacity(8193));
}

#[memdiag::test]
#[should_panic(expected = "leak: 1000 B in 1 objects")]
fn leaking() {
    std::mem::forget(Vec::<u8>::with_capacity(1000));
}

#[memdiag::test(max_leak = "1 kB")]
fn leak_within_tolerance() {
    std::mem::forget(Vec::<u8>::with_capacity(1000));
}

#[memdiag::test(max_leak = 0)]
fn returns_a_result() -> Result<(), std::num::ParseIntError> {
    let n: u32 = "42".parse()?;
    assert_eq!(n, 42);
    Ok(())
}
