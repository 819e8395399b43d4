//! `--alloc-sites`, the analog of Go's `-gcflags=-m`: every heap-allocation
//! site per fn (by name: `Box::new`, `Vec::with_capacity`, `vec!`,
//! `format!`, `.clone()`, `.collect()`, `.to_owned()`..), flagging those that
//! run in a loop. `.clone()` is listed although it allocates only for types
//! that own heap memory: without types we cannot tell.

use crate::config::Config;
use crate::ctx::walk_exprs;
use crate::finding::FileWarning;
use crate::source::{with_source, SourceFile};
use crate::walk;
use rayon::prelude::*;
use serde::Serialize;
use std::fmt::Write;
use std::path::{Path, PathBuf};
use syn::spanned::Spanned;
use syn::Expr;

const CONSTRUCTORS: &[(&str, &str)] = &[
    ("Box", "new"),
    ("Box", "pin"),
    ("Rc", "new"),
    ("Arc", "new"),
    ("String", "from"),
    ("Vec", "from"),
];
const METHODS: &[&str] = &[
    "clone",
    "to_string",
    "to_owned",
    "to_vec",
    "collect",
    "into_boxed_slice",
    "into_boxed_str",
    "repeat",
];
const MACROS: &[&str] = &["vec", "format"];

#[derive(Debug, Serialize)]
pub struct AllocSite {
    pub line: usize,
    pub column: usize,
    /// What allocates: `Box::new`, `vec!`, `.clone()`, ..
    pub kind: String,
    pub in_loop: bool,
}

#[derive(Debug, Serialize)]
pub struct FnAllocs {
    pub path: PathBuf,
    /// `Type::method` inside an impl, else the fn name.
    pub function: String,
    pub line: usize,
    pub sites: Vec<AllocSite>,
}

#[derive(Debug, Default, Serialize)]
pub struct AllocReport {
    /// Fns with at least one site, by path and line.
    pub functions: Vec<FnAllocs>,
    pub files_scanned: usize,
    pub lines_scanned: usize,
    pub warnings: Vec<FileWarning>,
}

/// Lists the allocation sites of the `.rs` files under `paths`.
pub fn alloc_sites(paths: &[PathBuf], config: &Config) -> AllocReport {
    let files = walk::rust_files(paths, config.include_tests);
    let results: Vec<_> = files
        .par_iter()
        .map(|p| with_source(p, |f| sites_of(p, f)))
        .collect();
    let mut report = AllocReport {
        files_scanned: files.len(),
        ..AllocReport::default()
    };
    for (lines, result) in results {
        report.lines_scanned += lines;
        match result {
            Ok(fns) => report.functions.extend(fns),
            Err(w) => report.warnings.push(w),
        }
    }
    report
        .functions
        .sort_by(|a, b| (&a.path, a.line).cmp(&(&b.path, b.line)));
    report
}

fn sites_of(path: &Path, file: &SourceFile) -> Vec<FnAllocs> {
    let mut fns: Vec<FnAllocs> = Vec::new();
    walk_exprs(&file.ast, &mut |e, ctx| {
        let Some(kind) = ctx.in_fn.then(|| alloc_kind(file, e)).flatten() else {
            return;
        };
        let at = e.span().start();
        let site = AllocSite {
            line: at.line,
            column: at.column + 1,
            kind,
            in_loop: ctx.loop_depth > 0,
        };
        match fns
            .iter_mut()
            .find(|f| f.line == ctx.fn_line && f.function == ctx.fn_name)
        {
            Some(f) => f.sites.push(site),
            None => fns.push(FnAllocs {
                path: path.to_path_buf(),
                function: ctx.fn_name.clone(),
                line: ctx.fn_line,
                sites: vec![site],
            }),
        }
    });
    fns
}

fn alloc_kind(file: &SourceFile, e: &Expr) -> Option<String> {
    match e {
        Expr::Call(c) => {
            let p = file.callee(c)?;
            let (ty, f) = (p.get(p.len().checked_sub(2)?)?, p.last()?);
            let known = CONSTRUCTORS.iter().any(|(t, n)| t == ty && n == f) || f == "with_capacity";
            known.then(|| format!("{ty}::{f}"))
        }
        Expr::MethodCall(m) => {
            let name = m.method.to_string();
            METHODS
                .contains(&name.as_str())
                .then(|| format!(".{name}()"))
        }
        Expr::Macro(m) => {
            let name = m.mac.path.get_ident()?.to_string();
            MACROS.contains(&name.as_str()).then(|| format!("{name}!"))
        }
        _ => None,
    }
}

impl AllocReport {
    /// Go `-m` style: `path:line:col: KIND allocates in FN [in loop]`, grouped by fn.
    pub fn render_text(&self) -> String {
        let mut out = String::new();
        for w in &self.warnings {
            let _ = writeln!(
                out,
                "warning: {}:{}:{}: {}",
                w.path.display(),
                w.line,
                w.column,
                w.message
            );
        }
        let (mut total, mut looped) = (0, 0);
        for f in &self.functions {
            let in_loop = f.sites.iter().filter(|s| s.in_loop).count();
            let _ = writeln!(
                out,
                "{}:{}: {}: {} allocation site(s), {in_loop} in a loop",
                f.path.display(),
                f.line,
                f.function,
                f.sites.len()
            );
            for s in &f.sites {
                let mark = if s.in_loop { " (in loop)" } else { "" };
                let _ = writeln!(
                    out,
                    "  {}:{}:{}: {} allocates{mark}",
                    f.path.display(),
                    s.line,
                    s.column,
                    s.kind
                );
            }
            total += f.sites.len();
            looped += in_loop;
        }
        let _ = writeln!(
            out,
            "{total} allocation sites ({looped} in loops) in {} fns, {} files ({} lines)",
            self.functions.len(),
            self.files_scanned,
            self.lines_scanned
        );
        out
    }

    pub fn render_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}
