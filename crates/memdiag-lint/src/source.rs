//! A parsed source file: text, syntax tree, `use` imports, and the mapping
//! from syn spans to findings.

use crate::finding::{FileWarning, Finding, Place};
use crate::rules::{Hit, RuleInfo};
use proc_macro2::Span;
use std::collections::HashMap;
use std::path::Path;
use syn::spanned::Spanned;
use syn::visit::Visit;

pub(crate) struct SourceFile<'a> {
    pub path: &'a Path,
    pub text: &'a str,
    pub ast: syn::File,
    /// Imported name -> full path segments (`forget` -> `std::mem::forget`).
    imports: HashMap<String, Vec<String>>,
    /// The file has a glob import (`use super::*`): any name may be the crate's.
    globs: bool,
}

impl<'a> SourceFile<'a> {
    pub fn parse(path: &'a Path, text: &'a str) -> syn::Result<SourceFile<'a>> {
        let ast = syn::parse_file(text)?;
        let mut imports = Imports::default();
        imports.visit_file(&ast);
        Ok(SourceFile {
            path,
            text,
            ast,
            imports: imports.map,
            globs: imports.globs,
        })
    }

    /// Path segments with the first one expanded through the file's imports.
    pub fn resolve(&self, path: &syn::Path) -> Vec<String> {
        let mut segs = segment_names(path);
        if let Some(full) = segs.first().and_then(|first| self.imports.get(first)) {
            segs.splice(0..1, full.iter().cloned());
        }
        segs
    }

    /// Resolved path of a call's callee, when it is a plain path.
    pub fn callee(&self, call: &syn::ExprCall) -> Option<Vec<String>> {
        match &*call.func {
            syn::Expr::Path(p) => Some(self.resolve(&p.path)),
            _ => None,
        }
    }

    /// Can the plain name `name` refer to a type defined in another file
    /// of the crate? Only through a `use` of it or a glob import: a name
    /// the file neither imports nor defines is the prelude's (`String`).
    pub fn may_import(&self, name: &str) -> bool {
        self.globs || self.imports.contains_key(name)
    }

    /// The first segment of the path `name` is imported from, unless that
    /// is `crate`, `self` or `super` (`std` for `use std::task::Waker`).
    pub fn import_root(&self, name: &str) -> Option<&str> {
        let root = self.imports.get(name)?.first()?.as_str();
        (!matches!(root, "crate" | "self" | "super")).then_some(root)
    }

    pub fn hit(&self, rule: &'static RuleInfo, span: Span, message: String) -> Hit {
        Hit {
            finding: self.finding(rule, span, message),
            key: None,
        }
    }

    pub fn finding(&self, rule: &'static RuleInfo, span: Span, message: String) -> Finding {
        let (start, end) = (span.start(), span.end());
        let source_line = self
            .text
            .lines()
            .nth(start.line.saturating_sub(1))
            .unwrap_or("");
        Finding {
            rule: rule.id,
            at: Place {
                path: self.path.to_path_buf(),
                line: start.line,
                column: start.column + 1,
                end_line: end.line,
                end_column: end.column + 1,
                source_line: source_line.to_string(),
            },
            message,
            help: rule.help,
            related: Vec::new(),
        }
    }
}

/// A field's span from its name (or type) on: a field's own span starts at
/// its doc comment or attributes, which is not where the finding is.
pub(crate) fn field_span(f: &syn::Field) -> Span {
    let start = f.ident.as_ref().map_or(f.ty.span(), |i| i.span());
    start.join(f.ty.span()).unwrap_or(start)
}

/// A call's span from its callee on, leaving out attributes on the call.
pub(crate) fn call_span(c: &syn::ExprCall) -> Span {
    let start = c.func.span();
    start.join(c.paren_token.span.close()).unwrap_or(start)
}

/// True when `segs` ends with `tail` (`["std","mem","forget"]` ends with `["mem","forget"]`).
/// The names of a path's segments, as written (`a::B::c` gives `a`, `B`, `c`).
pub(crate) fn segment_names(path: &syn::Path) -> Vec<String> {
    path.segments.iter().map(|s| s.ident.to_string()).collect()
}

/// The type an `impl` block is for, by its last segment (`Foo` of
/// `impl<T> a::Foo<T>`), if it is a path.
pub(crate) fn impl_type_name(i: &syn::ItemImpl) -> Option<String> {
    match &*i.self_ty {
        syn::Type::Path(p) => p.path.segments.last().map(|s| s.ident.to_string()),
        _ => None,
    }
}

/// Calls `f` on every identifier in `tokens`, groups included.
pub(crate) fn for_each_ident(
    tokens: proc_macro2::TokenStream,
    f: &mut dyn FnMut(&proc_macro2::Ident),
) {
    for t in tokens {
        match t {
            proc_macro2::TokenTree::Ident(i) => f(&i),
            proc_macro2::TokenTree::Group(g) => for_each_ident(g.stream(), f),
            _ => {}
        }
    }
}

pub(crate) fn ends_with(segs: &[String], tail: &[&str]) -> bool {
    segs.len() >= tail.len()
        && segs[segs.len() - tail.len()..]
            .iter()
            .zip(tail)
            .all(|(a, b)| a == b)
}

#[derive(Default)]
struct Imports {
    map: HashMap<String, Vec<String>>,
    globs: bool,
}

impl Imports {
    fn tree(&mut self, prefix: &mut Vec<String>, tree: &syn::UseTree) {
        match tree {
            syn::UseTree::Path(p) => {
                prefix.push(p.ident.to_string());
                self.tree(prefix, &p.tree);
                prefix.pop();
            }
            syn::UseTree::Name(n) => self.add(prefix, n.ident.to_string(), &n.ident),
            syn::UseTree::Rename(r) => self.add(prefix, r.rename.to_string(), &r.ident),
            syn::UseTree::Group(g) => g.items.iter().for_each(|t| self.tree(prefix, t)),
            syn::UseTree::Glob(_) => self.globs = true,
        }
    }

    fn add(&mut self, prefix: &[String], alias: String, ident: &syn::Ident) {
        let mut full = prefix.to_vec();
        if ident != "self" {
            full.push(ident.to_string());
        }
        let alias = if alias == "self" {
            prefix.last().cloned().unwrap_or(alias)
        } else {
            alias
        };
        self.map.insert(alias, full);
    }
}

impl<'ast> Visit<'ast> for Imports {
    fn visit_item_use(&mut self, u: &'ast syn::ItemUse) {
        self.tree(&mut Vec::new(), &u.tree);
    }
}

/// Reads and parses `path` and runs `f` on it; returns the line count and
/// `f`'s result, or a warning naming what failed. Frees the thread's span
/// table afterwards, so memory stays flat over many files.
pub(crate) fn with_source<T>(
    path: &Path,
    f: impl FnOnce(&SourceFile) -> T,
) -> (usize, Result<T, FileWarning>) {
    let warn = |line, column, message: String| FileWarning {
        path: path.to_path_buf(),
        line,
        column,
        message,
    };
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => return (0, Err(warn(0, 0, format!("cannot read: {e}")))),
    };
    let lines = text.lines().count();
    let result = match SourceFile::parse(path, &text) {
        Ok(file) => Ok(f(&file)),
        Err(e) => {
            let at = e.span().start();
            Err(warn(at.line, at.column + 1, format!("cannot parse: {e}")))
        }
    };
    proc_macro2::extra::invalidate_current_thread_spans();
    (lines, result)
}
