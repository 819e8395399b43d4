//! rustc-style text: `warning[rule-id]: message`, ` --> file:line:col`, the
//! source line with the span underlined, related locations as labelled
//! notes, `= help: ..`, then a summary.

use super::Report;
use crate::finding::{Finding, Place};
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
    let origin = f.at.path.display().to_string();
    let origins: Vec<String> = f
        .related
        .iter()
        .map(|r| r.at.path.display().to_string())
        .collect();
    let mut message = Level::Warning.title(&f.message).id(f.rule).snippet(snippet(
        &f.at,
        &origin,
        Level::Error.span(span(&f.at)),
    ));
    // Related locations: their own snippets, labelled with what they add.
    for (r, origin) in f.related.iter().zip(&origins) {
        let note = Level::Note.span(span(&r.at)).label(&r.message);
        message = message.snippet(snippet(&r.at, origin, note));
    }
    let rendered = renderer
        .render(message.footer(Level::Help.title(f.help)))
        .to_string();
    rendered
}

/// The source line of `at`, with `annotation` on it.
fn snippet<'a>(
    at: &'a Place,
    origin: &'a str,
    annotation: annotate_snippets::Annotation<'a>,
) -> Snippet<'a> {
    Snippet::source(&at.source_line)
        .line_start(at.line)
        .origin(origin)
        .annotation(annotation)
}

/// Byte range in the source line of `at` of its span (to the line's end if
/// multi-line), at least one character wide.
fn span(at: &Place) -> std::ops::Range<usize> {
    let line = at.source_line.as_str();
    let start = byte_offset(line, at.column - 1);
    let end = if at.end_line == at.line {
        byte_offset(line, at.end_column - 1)
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
