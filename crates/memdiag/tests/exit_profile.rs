//! `MEMDIAG_PROFILE=path` writes a profile when the process exits: this test
//! runs its own binary again as the child that allocates and exits.

use std::process::Command;

#[global_allocator]
static ALLOC: memdiag::Profiled<std::alloc::System> = memdiag::Profiled::new(std::alloc::System);

#[inline(never)]
fn child_keeps_memory() -> Vec<Vec<u8>> {
    (0..100).map(|i| vec![i as u8; 10_000]).collect()
}

#[test]
fn child_role() {
    if std::env::var_os("MEMDIAG_EXIT_CHILD").is_none() {
        return;
    }
    std::mem::forget(child_keeps_memory());
}

#[test]
fn profile_written_at_exit() {
    if std::env::var_os("MEMDIAG_EXIT_CHILD").is_some() {
        return;
    }
    let path = std::env::temp_dir().join(format!("memdiag-exit-{}.pb.gz", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_role", "--test-threads=1"])
        .env("MEMDIAG_EXIT_CHILD", "1")
        .env("MEMDIAG_PROFILE", &path)
        .env("MEMDIAG_RATE", "1")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let data = std::fs::read(&path).expect("no profile written at exit");
    let _ = std::fs::remove_file(&path);
    let p = memdiag_profile::decode(&data).unwrap();
    assert_eq!(p.period, 1);
    let mut inuse = 0;
    for s in p.samples.iter() {
        let hit = s.locations.iter().any(|&l| {
            p.locations[l as usize]
                .lines
                .iter()
                .any(|line| p.function_name(line).contains("child_keeps_memory"))
        });
        if hit {
            inuse += s.values[3];
        }
    }
    assert_eq!(inuse, 100 * 10_000 + 100 * 24);
}
