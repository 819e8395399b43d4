//! rustc-style text: `warning[rule-id]: message`, ` --> file:line:col`, the
//! source line with the span underlined, `= help: ..`, then a summary.

use super::Report;
use crate::finding::Finding;
use annotate_snippets::{Level, Renderer, Snippet};
use std::fmt::Write;

impl Report {
    pub fn render_text(&self, color: bool) -> String {
        // Primary spans are underlined with `^` as rustc does: annotate-snippets
        // draws that for the error level, so give that level warning's colour.
        let warning = anstyle::AnsiColor::BrightYellow
            .on_default()
            .effects(anstyle::Effects::BOLD);
        let renderer = if color {
            Renderer::styled().error(warning)
        } else {
            Renderer::plain()
        };
        let mut out = String::new();
        for w in &self.warnings {
            let _ = writeln!(
                out,
                "warning: {}:{}:{}: {}\n",
                w.path.display(),
                w.line,
                w.column,
                w.message
            );
        }
        for f in &self.findings {
            let _ = writeln!(out, "{}\n", render_finding(&renderer, f));
        }
        let _ = writeln!(
            out,
            "{} finding{} in {} files ({} lines){}",
            self.findings.len(),
            if self.findings.len() == 1 { "" } else { "s" },
            self.files_scanned,
            self.lines_scanned,
            if self.warnings.is_empty() {
                String::new()
            } else {
                format!(", {} files skipped", self.warnings.len())
            },
        );
        out
    }
}

fn render_finding(renderer: &Renderer, f: &Finding) -> String {
    let origin = f.path.display().to_string();
    let line = f.source_line.as_str();
    let start = byte_offset(line, f.column - 1);
    let end = if f.end_line == f.line {
        byte_offset(line, f.end_column - 1)
    } else {
        line.len()
    };
    let end = end.max(start + line[start..].chars().next().map_or(0, char::len_utf8));
    let message = Level::Warning
        .title(&f.message)
        .id(f.rule)
        .snippet(
            Snippet::source(line)
                .line_start(f.line)
                .origin(&origin)
                .annotation(Level::Error.span(start..end)),
        )
        .footer(Level::Help.title(f.help));
    let rendered = renderer.render(message).to_string();
    rendered
}

/// Byte offset of the `chars`-th character of `line` (clamped to its end).
fn byte_offset(line: &str, chars: usize) -> usize {
    line.char_indices()
        .nth(chars)
        .map_or(line.len(), |(i, _)| i)
}
