//! Eight tests on cargo's parallel test threads, all measuring at once, one
//! leaking: only that one fails. The `case_*` tests do nothing unless
//! `MEMDIAG_PARALLEL_CASES` is set; the driver runs this very binary again
//! with it set and `--test-threads=8`, and reads libtest's verdicts.

use memdiag::testing::assert_no_leak;
use std::io::Read;
use std::process::{Command, Stdio};
use std::sync::Barrier;
use std::time::Duration;

#[global_allocator]
static ALLOC: memdiag::Profiled<std::alloc::System> = memdiag::Profiled::new(std::alloc::System);

const CASES: &str = "MEMDIAG_PARALLEL_CASES";
const LEAKER: usize = 5;

/// All eight scopes are open at once when they pass it (so the cases must
/// run in parallel, or never finish).
static TOGETHER: Barrier = Barrier::new(8);

#[inline(never)]
fn churn(n: usize) -> Vec<String> {
    (0..2000).map(|i| format!("case {n} item {i}")).collect()
}

#[inline(never)]
fn leak_in_case_five() {
    std::mem::forget(vec![5u8; 5555]);
}

fn case(n: usize) {
    if std::env::var_os(CASES).is_none() {
        return;
    }
    assert_no_leak(|| {
        let mut v = churn(n);
        TOGETHER.wait();
        v.extend(churn(n));
        if n == LEAKER {
            leak_in_case_five();
        }
        v.len()
    });
}

#[test]
fn case_0() {
    case(0)
}
#[test]
fn case_1() {
    case(1)
}
#[test]
fn case_2() {
    case(2)
}
#[test]
fn case_3() {
    case(3)
}
#[test]
fn case_4() {
    case(4)
}
#[test]
fn case_5() {
    case(5)
}
#[test]
fn case_6() {
    case(6)
}
#[test]
fn case_7() {
    case(7)
}

#[test]
fn eight_parallel_tests_only_the_leaker_fails() {
    if std::env::var_os(CASES).is_some() {
        return;
    }
    let exe = std::env::current_exe().unwrap();
    let mut child = Command::new(exe)
        .args(["case_", "--test-threads=8"])
        .env(CASES, "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        stdout.read_to_string(&mut s).map(|_| s)
    });
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        if std::time::Instant::now() > deadline {
            child.kill().unwrap();
            panic!("the cases did not finish: not run in parallel?");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let out = reader.join().unwrap().unwrap();
    assert!(!status.success(), "{out}");
    for n in 0..8 {
        let verdict = if n == LEAKER { "FAILED" } else { "ok" };
        assert!(
            out.contains(&format!("test case_{n} ... {verdict}\n")),
            "{out}"
        );
    }
    assert!(out.contains("leak: 5555 B in 1 objects"), "{out}");
    assert!(out.contains("parallel::leak_in_case_five"), "{out}");
    assert!(
        out.contains("test result: FAILED. 7 passed; 1 failed"),
        "{out}"
    );
}
