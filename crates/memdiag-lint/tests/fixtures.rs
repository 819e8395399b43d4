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

/// `negative.rs`, and `negative_*.rs` for cases that need a file of their
/// own (a release elsewhere in `negative.rs` would cover them).
#[test]
fn no_rule_fires_on_a_negative() {
    for rule in rules::all() {
        let dir = fixture(rule.id, "");
        let mut negatives = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if name.starts_with("negative") && name.ends_with(".rs") {
                negatives += 1;
                assert_eq!(found(&path), BTreeSet::new(), "{}", path.display());
            }
        }
        assert!(negatives > 0, "{}: no negative.rs", dir.display());
    }
}

/// Files of `#[cfg(test)] mod name;` modules (and below them, or named by
/// `#[path]`), and files that start `#![cfg(test)]`, are test code: skipped like an inline
/// `#[cfg(test)]` module, linted with tests included.
#[test]
fn files_of_cfg_test_modules_are_skipped() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/test-modules");
    let lines = |config: &Config| -> BTreeSet<(String, usize)> {
        let report = lint(std::slice::from_ref(&root), config);
        assert!(report.warnings.is_empty(), "{:?}", report.warnings);
        report
            .findings
            .iter()
            .map(|f| {
                let rel = f.at.path.strip_prefix(&root).unwrap();
                (rel.display().to_string(), f.at.line)
            })
            .collect()
    };
    let net = fixture("test-modules", "src/net.rs");
    let want: BTreeSet<(String, usize)> = expected(&net)
        .into_iter()
        .map(|(line, _)| ("src/net.rs".to_string(), line))
        .collect();
    assert_eq!(lines(&Config::default()), want);
    let all = Config {
        include_tests: true,
        ..Config::default()
    };
    let found: BTreeSet<String> = lines(&all).into_iter().map(|(p, _)| p).collect();
    let want: BTreeSet<String> = [
        "src/checks/support/mod.rs",
        "src/extra_tests.rs",
        "src/harness.rs",
        "src/mock.rs",
        "src/net.rs",
        "src/net/helpers.rs",
    ]
    .map(String::from)
    .into();
    assert_eq!(found, want);
}

/// A qualified path names a type of the crate only through `crate`, `self`,
/// `super` or a module the crate declares: `proto::Incoming` of a renamed
/// dependency does not close a cycle through the crate's own `Incoming`.
#[test]
fn qualified_paths_resolve_within_the_crate_only() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/rc-cycle-paths");
    let report = lint(std::slice::from_ref(&root), &Config::default());
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
    let found: BTreeSet<(String, usize)> = report
        .findings
        .iter()
        .map(|f| {
            let rel = f.at.path.strip_prefix(&root).unwrap();
            (rel.display().to_string(), f.at.line)
        })
        .collect();
    let conn = fixture("rc-cycle-paths", "src/conn.rs");
    let want: BTreeSet<(String, usize)> = expected(&conn)
        .into_iter()
        .map(|(line, _)| ("src/conn.rs".to_string(), line))
        .collect();
    assert_eq!(found, want);
}
