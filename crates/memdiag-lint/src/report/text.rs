//! rustc-style text: `warning[rule-id]: message`, ` --> file:line:col`, the
//! source line with the span underlined, related locations as labelled
//! notes, `= help: ..`, then a summary.

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
    let origins: Vec<String> = f
        .related
        .iter()
        .map(|r| r.path.display().to_string())
        .collect();
    let mut message = Level::Warning.title(&f.message).id(f.rule).snippet(
        Snippet::source(&f.source_line)
            .line_start(f.line)
            .origin(&origin)
            .annotation(Level::Error.span(span(
                &f.source_line,
                f.line,
                f.column,
                f.end_line,
                f.end_column,
            ))),
    );
    // Related locations: their own snippets, labelled with what they add.
    for (r, origin) in f.related.iter().zip(&origins) {
        message = message.snippet(
            Snippet::source(&r.source_line)
                .line_start(r.line)
                .origin(origin)
                .annotation(
                    Level::Note
                        .span(span(
                            &r.source_line,
                            r.line,
                            r.column,
                            r.end_line,
                            r.end_column,
                        ))
                        .label(&r.message),
                ),
        );
    }
    let rendered = renderer
        .render(message.footer(Level::Help.title(f.help)))
        .to_string();
    rendered
}

/// Byte range in `line` of a span starting on it (to its end if multi-line),
/// at least one character wide.
fn span(
    line: &str,
    start_line: usize,
    column: usize,
    end_line: usize,
    end_column: usize,
) -> std::ops::Range<usize> {
    let start = byte_offset(line, column - 1);
    let end = if end_line == start_line {
        byte_offset(line, end_column - 1)
    } else {
        line.len()
    };
    start..end.max(start + line[start..].chars().next().map_or(0, char::len_utf8))
}

/// Byte offset of the `chars`-th character of `line` (clamped to its end).
fn byte_offset(line: &str, chars: usize) -> usize {
    line.char_indices()
        .nth(chars)
        .map_or(line.len(), |(i, _)| i)
}
