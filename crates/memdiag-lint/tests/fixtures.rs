//! The fixture corpus: every rule fires on exactly the lines of its
//! `positive.rs` marked `//~ rule-id`, and nothing fires on `negative.rs`.

use memdiag_lint::{lint, rules, Config};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn fixture(rule: &str, name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rule)
        .join(name)
}

/// (line, rule id) of every finding in one file.
fn found(path: &Path) -> BTreeSet<(usize, String)> {
    let report = lint(&[path.to_path_buf()], &Config::default());
    assert!(
        report.warnings.is_empty(),
        "{}: {:?}",
        path.display(),
        report.warnings
    );
    report
        .findings
        .iter()
        .map(|f| (f.at.line, f.rule.to_string()))
        .collect()
}

/// (line, rule id) of every `//~ rule-id` mark.
fn expected(path: &Path) -> BTreeSet<(usize, String)> {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .enumerate()
        .filter_map(|(i, l)| {
            l.split_once("//~ ")
                .map(|(_, id)| (i + 1, id.trim().to_string()))
        })
        .collect()
}

#[test]
fn every_rule_fires_on_its_positive_at_the_marked_lines() {
    for rule in rules::all() {
        let path = fixture(rule.id, "positive.rs");
        let want = expected(&path);
        assert!(
            want.iter().any(|(_, id)| id == rule.id),
            "{}: no mark for its rule",
            path.display()
        );
        assert_eq!(found(&path), want, "{}", path.display());
    }
}

#[test]
fn no_rule_fires_on_a_negative() {
    for rule in rules::all() {
        let path = fixture(rule.id, "negative.rs");
        assert_eq!(found(&path), BTreeSet::new(), "{}", path.display());
    }
}
