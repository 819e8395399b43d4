//! Without `memdiag::Profiled` as the global allocator, the assertions
//! refuse to run rather than pass on nothing measured.

#[test]
fn assertions_fail_without_the_profiled_allocator() {
    let e = std::panic::catch_unwind(|| memdiag::testing::assert_no_leak(|| vec![0u8; 10]))
        .expect_err("must not pass");
    let msg = e.downcast::<String>().map(|s| *s).unwrap_or_default();
    assert!(msg.contains("is not memdiag::Profiled"), "{msg}");
    assert!(msg.contains("#[global_allocator]"), "{msg}");
}
