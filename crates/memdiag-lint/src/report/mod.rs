//! The result of a lint run and its renderings (text, JSON, SARIF).

mod json;
mod sarif;
mod text;

use crate::finding::{FileWarning, Finding};
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Default, Serialize)]
pub struct Report {
    /// Sorted by path, line, column.
    pub findings: Vec<Finding>,
    pub files_scanned: usize,
    pub lines_scanned: usize,
    /// Files that could not be read or parsed.
    pub warnings: Vec<FileWarning>,
}

impl Report {
    pub(crate) fn sort(&mut self) {
        self.findings.sort_by(|a, b| {
            (&a.at.path, a.at.line, a.at.column, a.rule).cmp(&(
                &b.at.path,
                b.at.line,
                b.at.column,
                b.rule,
            ))
        });
        self.warnings.sort_by(|a, b| a.path.cmp(&b.path));
    }

    /// Number of findings per rule id.
    pub fn counts(&self) -> BTreeMap<&'static str, usize> {
        let mut counts = BTreeMap::new();
        for f in &self.findings {
            *counts.entry(f.rule).or_default() += 1;
        }
        counts
    }
}
