//! Without the address space for its arena (`ulimit -v`), the collector
//! says so once on stderr and the program runs on, unprofiled: this test
//! runs its own binary again, under RLIMIT_AS, as the child that allocates.

use std::os::unix::process::CommandExt;
use std::process::Command;

#[global_allocator]
static ALLOC: memdiag::Profiled<std::alloc::System> = memdiag::Profiled::new(std::alloc::System);

#[test]
fn child_role() {
    if std::env::var_os("MEMDIAG_NO_ARENA_CHILD").is_none() {
        return;
    }
    let kept: Vec<Vec<u8>> = (0..1000).map(|_| vec![7u8; 1000]).collect();
    let bytes: usize = kept.iter().map(|v| v.len()).sum();
    let p = memdiag::heap_profile();
    println!("bytes={bytes} samples={}", p.samples.len());
}

#[test]
fn no_arena_is_said_once_and_the_program_runs_on() {
    if std::env::var_os("MEMDIAG_NO_ARENA_CHILD").is_some() {
        return;
    }
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["--exact", "child_role", "--test-threads=1", "--nocapture"])
        .env("MEMDIAG_NO_ARENA_CHILD", "1")
        .env("MEMDIAG_RATE", "1");
    // 8 GiB of address space: enough for the test binary, not for the
    // arena's reservation.
    // SAFETY: setrlimit is async-signal-safe and touches no parent state.
    unsafe {
        cmd.pre_exec(|| {
            let lim = libc::rlimit {
                rlim_cur: 8 << 30,
                rlim_max: 8 << 30,
            };
            if libc::setrlimit(libc::RLIMIT_AS, &lim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(stdout.contains("bytes=1000000 samples=0"), "{stdout}");
    assert_eq!(
        stderr.matches("cannot reserve 128 GiB").count(),
        1,
        "{stderr}"
    );
}
