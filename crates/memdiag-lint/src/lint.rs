//! One lint run: read and parse files in parallel, run every enabled rule on
//! each (with suppressions applied), merge the crate-wide facts, then keep
//! the crate-wide hits the facts confirm. Hits in the files of
//! `#[cfg(test)] mod name;` modules are dropped unless tests are included.

use crate::config::Config;
use crate::facts::Facts;
use crate::finding::{FileWarning, Finding, Related};
use crate::report::Report;
use crate::rules::{Hit, RULES};
use crate::source::with_source;
use crate::suppress::{test_module_paths, Suppressions};
use crate::walk;
use rayon::prelude::*;
use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// Lints the `.rs` files under `paths` (dirs are walked, files read as given).
/// Never fails: unreadable or unparsable files become [`Report::warnings`].
pub fn lint(paths: &[PathBuf], config: &Config) -> Report {
    let files = walk::rust_files(paths, config.include_tests);
    let results: Vec<FileResult> = files.par_iter().map(|p| lint_file(p, config)).collect();
    let mut report = Report {
        files_scanned: files.len(),
        ..Report::default()
    };
    let mut facts = Facts::default();
    let mut hits = Vec::new();
    let mut test_modules = Vec::new();
    for r in results {
        report.lines_scanned += r.lines;
        report.warnings.extend(r.warning);
        facts.merge(r.facts);
        hits.extend(r.hits);
        test_modules.extend(r.test_modules);
    }
    // Files of `#[cfg(test)] mod name;` modules are test code.
    hits.retain(|(_, h)| {
        !test_modules
            .iter()
            .any(|m| h.finding.at.path.starts_with(m))
    });
    let mut groups: Vec<Group> = Vec::new();
    for (rule, hit) in hits {
        let names = match (RULES[rule].confirm, &hit.key) {
            (Some(confirm), Some(key)) => confirm(key, &facts),
            _ => Some(Vec::new()),
        };
        let Some(names) = names else { continue };
        if config.allowed(hit.finding.rule, &hit.finding.at.path) {
            continue;
        }
        let mut group = Group {
            rule,
            names: names.into_iter().collect(),
            findings: vec![hit.finding],
        };
        // Absorb every group this hit overlaps, so that cycles linked through
        // shared types end up in one group whatever the order of the hits.
        groups.retain_mut(|g| {
            let overlaps = g.rule == rule && !g.names.is_disjoint(&group.names);
            if overlaps {
                group.names.extend(g.names.drain());
                group.findings.append(&mut g.findings);
            }
            !overlaps
        });
        groups.push(group);
    }
    report.findings = groups.into_iter().filter_map(Group::into_finding).collect();
    report.sort();
    report
}

/// Confirmed hits of one rule that are one problem.
struct Group {
    rule: usize,
    names: HashSet<String>,
    findings: Vec<Finding>,
}

impl Group {
    /// The first hit, with the others as its related locations.
    fn into_finding(mut self) -> Option<Finding> {
        self.findings.sort_by(|a, b| {
            (&a.at.path, a.at.line, a.at.column).cmp(&(&b.at.path, b.at.line, b.at.column))
        });
        let mut rest = self.findings.into_iter();
        let mut first = rest.next()?;
        first.related = rest
            .map(|f| Related {
                at: f.at,
                message: f.message,
            })
            .collect();
        if !first.related.is_empty() {
            let n = first.related.len();
            first.message += &format!(" ({n} related location{})", if n == 1 { "" } else { "s" });
        }
        Some(first)
    }
}

/// What one file contributes; all of it `Send`, unlike syn's trees.
#[derive(Default)]
pub(crate) struct FileResult {
    pub lines: usize,
    pub warning: Option<FileWarning>,
    pub facts: Facts,
    /// (index into `RULES`, hit).
    pub hits: Vec<(usize, Hit)>,
    /// Files and directories of the test-only modules the file declares.
    pub test_modules: Vec<PathBuf>,
}

fn lint_file(path: &Path, config: &Config) -> FileResult {
    let (lines, result) = with_source(path, |file| {
        let suppressions = Suppressions::of(file.text, &file.ast, config.include_tests);
        let mut hits = Vec::new();
        for (i, rule) in RULES
            .iter()
            .enumerate()
            .filter(|(_, r)| config.enabled(r.info.id))
        {
            let mut found = Vec::new();
            (rule.check)(file, &mut found);
            hits.extend(
                found
                    .into_iter()
                    .filter(|h| !suppressions.allows(h.finding.rule, h.finding.at.line))
                    .map(|h| (i, h)),
            );
        }
        let test_modules = if config.include_tests {
            Vec::new()
        } else {
            test_module_paths(file.path, &file.ast)
        };
        FileResult {
            lines: 0,
            warning: None,
            facts: Facts::of_file(file),
            hits,
            test_modules,
        }
    });
    match result {
        Ok(r) => FileResult { lines, ..r },
        Err(w) => FileResult {
            lines,
            warning: Some(w),
            ..FileResult::default()
        },
    }
}
