//! `memdiag demo` end to end: the demo service (this binary, with the
//! collector and endpoint) is recorded over HTTP and the leak report names
//! the leaking function (and the growth of the Vec it keeps its records in),
//! and not the cache that fills up.

mod common;

use common::*;

#[test]
fn demo_names_the_leak_and_not_the_cache() {
    let dir = std::env::temp_dir().join(format!("memdiag-demo-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let out = memdiag(&[
        "demo",
        "--for",
        "12s",
        "--every",
        "500ms",
        "--out",
        dir.to_str().unwrap(),
    ]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}\n{}", stderr(&out));
    // Ranked rows: "#  class  growth/min ... site".
    let rows: Vec<&str> = text
        .lines()
        .take_while(|l| !l.starts_with("Leaking stacks"))
        .filter(|l| {
            l.split_whitespace()
                .next()
                .is_some_and(|n| n.parse::<u32>().is_ok())
        })
        .collect();
    let class_of = |name: &str| -> Vec<&str> {
        rows.iter()
            .filter(|r| r.contains(name))
            .filter_map(|r| r.split_whitespace().nth(1))
            .collect()
    };
    assert!(class_of("leak_steadily").contains(&"leak"), "{text}");
    // The Vec that holds the leaked records grows with the leak, by
    // doubling: listed with it, not as a plateau of its own.
    assert!(!class_of("leak_steadily").contains(&"plateau"), "{text}");
    assert!(!class_of("cache_insert").contains(&"leak"), "{text}");
    assert!(!class_of("churn_buffers").contains(&"leak"), "{text}");
    // The recording is kept where it was asked to go, with its page, whose
    // timeline carries the same verdicts.
    assert!(dir.join("index.tsv").is_file());
    let page = std::fs::read_to_string(dir.join("report.html")).expect("report.html");
    let view = embedded(&page);
    let verdict = |name: &str| -> Vec<String> {
        view["timeline"]["sites"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["name"].as_str().unwrap().contains(name))
            .map(|s| s["class"].as_str().unwrap().to_string())
            .collect()
    };
    assert!(
        verdict("leak_steadily").contains(&"leak".to_string()),
        "{view}"
    );
    assert!(
        !verdict("cache_insert").contains(&"leak".to_string()),
        "{view}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
