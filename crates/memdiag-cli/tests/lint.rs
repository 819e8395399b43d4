//! `memdiag lint` end to end on memdiag-lint's fixture corpus: exit codes
//! follow grep/go vet, every format carries the same findings.

mod common;

use common::*;

const POSITIVE: &str = "crates/memdiag-lint/tests/fixtures/unbounded-channel/positive.rs";
const NEGATIVE: &str = "crates/memdiag-lint/tests/fixtures/unbounded-channel/negative.rs";

/// Lines of POSITIVE marked `//~ unbounded-channel`: what must be found.
fn marked_lines() -> Vec<u64> {
    let text = std::fs::read_to_string(repo_root().join(POSITIVE)).unwrap();
    text.lines()
        .enumerate()
        .filter(|(_, l)| l.contains("//~ unbounded-channel"))
        .map(|(i, _)| i as u64 + 1)
        .collect()
}

#[test]
fn findings_exit_one_with_rustc_style_text() {
    let o = memdiag(&["lint", POSITIVE]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let text = stdout(&o);
    for line in marked_lines() {
        let at = format!("{POSITIVE}:{line}:");
        assert!(text.contains(&at), "no finding at {at} in:\n{text}");
    }
    assert!(text.contains("warning[unbounded-channel]"), "{text}");
    assert!(text.contains("= help:"), "{text}");
}

#[test]
fn clean_code_exits_zero() {
    let o = memdiag(&["lint", NEGATIVE]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
}

#[test]
fn json_and_sarif_carry_the_same_findings() {
    let want = marked_lines();
    let o = memdiag(&["lint", "--format", "json", POSITIVE]);
    assert_eq!(o.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let mut lines: Vec<u64> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["line"].as_u64().unwrap())
        .collect();
    lines.sort_unstable();
    assert_eq!(lines, want);

    let o = memdiag(&["lint", "--format", "sarif", POSITIVE]);
    assert_eq!(o.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["version"], "2.1.0");
    let mut lines: Vec<u64> = v["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            assert_eq!(r["ruleId"], "unbounded-channel");
            r["locations"][0]["physicalLocation"]["region"]["startLine"]
                .as_u64()
                .unwrap()
        })
        .collect();
    lines.sort_unstable();
    assert_eq!(lines, want);
}

#[test]
fn alloc_sites_list_the_allocations() {
    let o = memdiag(&["lint", "--alloc-sites", "--format", "json", POSITIVE]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let _: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("JSON");
}

#[test]
fn a_bad_config_file_is_a_usage_error() {
    let dir = std::env::temp_dir().join(format!("memdiag-lint-cfg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cfg = dir.join("memdiag-lint.toml");
    std::fs::write(&cfg, "disable = [not toml").unwrap();
    let o = memdiag(&["lint", "--config", cfg.to_str().unwrap(), POSITIVE]);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("memdiag-lint.toml"), "{}", stderr(&o));
}
