//! Function names are simplified the way `go tool pprof` simplifies them
//! (its symbolizer's demangling step), checked against the real Go tool.

mod common;

use common::*;
use memdiag_profile::{Function, Line, Location, Profile, ValueType};

/// Names a Rust, C++, Go or Java profile may carry, each as its own system
/// name (as a Rust collector or a C++ profiler writes them).
const NAMES: &[&str] = &[
    "alloc::vec::from_elem<u8>",
    "<alloc::vec::Vec<T> as core::clone::Clone>::clone",
    "std::vector<int>::push_back(int const&)",
    "ns::f<a<b>>(x)",
    "a<b>c>d<e>::x",
    "main.(*Map[...]).Get",
    "main.Map[...].Put",
    "java.util.ArrayList.<init>(int)",
    "_ZN5alloc3vec9from_elem17h0123456789abcdefE",
    "hashbrown::raw::RawTable<T,A>::reserve_rehash",
];

fn profile() -> Profile {
    let mut p = Profile::default();
    let ty = p.strings.intern("inuse_space");
    let unit = p.strings.intern("bytes");
    p.sample_types.push(ValueType { ty, unit });
    p.samples = memdiag_profile::Samples::new(1);
    for (i, n) in NAMES.iter().enumerate() {
        let name = p.strings.intern(n);
        p.functions.push(Function {
            name,
            system_name: name,
            ..Default::default()
        });
        p.locations.push(Location {
            address: 0x1000 + i as u64 * 16,
            lines: vec![Line {
                function: Some(i as u32),
                line: 1,
                column: 0,
            }],
            ..Default::default()
        });
        p.samples.push(&[i as u32], &[(i as i64 + 1) * 1000], &[]);
    }
    p
}

#[test]
fn names_are_simplified_as_go_tool_pprof_does() {
    let dir = std::env::temp_dir().join(format!("memdiag-demangle-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("names.pb.gz");
    std::fs::write(&path, memdiag_profile::encode_gzip(&profile())).unwrap();
    let path = path.to_str().unwrap();

    let ours = memdiag(&["top", path]);
    assert!(ours.status.success(), "{}", stderr(&ours));
    let ours = stdout(&ours);
    // Independent of Go: the generic arguments are gone.
    assert!(ours.contains(" alloc::vec::from_elem\n"), "{ours}");
    assert!(!ours.contains("from_elem<u8>"), "{ours}");

    let Some(go) = go() else { return };
    let theirs = go_pprof(&go, &["-top", path]);
    assert!(theirs.status.success(), "{}", stderr(&theirs));
    let from_showing = |s: &str| s[s.find("Showing nodes").expect("Showing line")..].to_string();
    assert_eq!(from_showing(&ours), from_showing(&stdout(&theirs)));
    let _ = std::fs::remove_dir_all(&dir);
}
