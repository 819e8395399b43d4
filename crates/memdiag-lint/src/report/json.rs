//! JSON: `{"findings": [..], "files_scanned", "lines_scanned", "warnings"}`,
//! one object per finding with rule, path, span, message and help, and a
//! `related` array (path, span, message) when one problem spans several places.

use super::Report;

impl Report {
    pub fn render_json(&self) -> String {
        // A report holds only strings and numbers: serializing cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}
