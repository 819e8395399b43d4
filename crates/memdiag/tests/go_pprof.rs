//! The written profile is read by the real `go tool pprof -top` with the
//! same figures as `memdiag top` (skipped, with a note, without `go`).

use std::process::Command;

#[global_allocator]
static ALLOC: memdiag::Profiled<std::alloc::System> = memdiag::Profiled::new(std::alloc::System);

#[inline(never)]
fn keep_some(v: &mut Vec<Vec<u8>>, i: usize) {
    v.push(vec![i as u8; 1000 + (i % 7) * 300]);
}

#[test]
fn go_pprof_top_matches_memdiag_top() {
    let mut kept = Vec::new();
    for i in 0..20_000 {
        keep_some(&mut kept, i);
        let tmp = std::hint::black_box(vec![0u8; 100 + i % 5000]);
        drop(tmp);
    }
    let path = std::env::temp_dir().join(format!("memdiag-go-{}.pb.gz", std::process::id()));
    memdiag::write_heap_profile(&path).unwrap();

    let data = std::fs::read(&path).unwrap();
    let p = memdiag_profile::decode(&data).unwrap();
    let o = memdiag_profile::report::Options {
        sample_index: p.default_sample_index(),
        ..Default::default()
    };
    let ours = memdiag_profile::report::top(&p, &o).to_text();

    let go = match Command::new("go")
        .args(["tool", "pprof", "-top"])
        .arg(&path)
        .output()
    {
        Ok(out) => out,
        Err(e) => {
            eprintln!("note: skipping the go tool pprof comparison: cannot run `go`: {e}");
            let _ = std::fs::remove_file(&path);
            return;
        }
    };
    let _ = std::fs::remove_file(&path);
    assert!(
        go.status.success(),
        "go tool pprof failed: {}",
        String::from_utf8_lossy(&go.stderr)
    );
    let theirs = String::from_utf8(go.stdout).unwrap();
    // Compare from the "Showing nodes" line on (the File/Type/Time lines
    // before it are the environment's).
    let from_showing = |s: &str| -> String {
        let i = s.find("Showing nodes").expect("no Showing line");
        s[i..].to_string()
    };
    assert_eq!(from_showing(&ours), from_showing(&theirs));
    assert!(ours.contains("go_pprof::keep_some"), "{ours}");
}
