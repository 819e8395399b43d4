//! Which lines a file opts out of: `// memdiag:allow(rule-a, rule-b)` on a
//! line covers that line and the next; placed before an item (or among its
//! attributes) it covers the whole item. Test code (`#[cfg(test)]`,
//! `#[test]`, `#[tokio::test]` items, files that start `#![cfg(test)]`) is
//! skipped unless tests are included,
//! and so are the files of out-of-line `#[cfg(test)] mod name;` modules
//! ([`test_module_paths`]).

use quote::ToTokens;
use std::collections::HashMap;
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::visit::{self, Visit};

const MARKER: &str = "memdiag:allow(";

#[derive(Default)]
pub(crate) struct Suppressions {
    /// Comment line -> rule ids it names.
    comments: HashMap<usize, Vec<String>>,
    /// Line ranges with the rule ids allowed in them ("*" = every rule).
    ranges: Vec<(RangeInclusive<usize>, Vec<String>)>,
}

impl Suppressions {
    pub fn of(text: &str, ast: &syn::File, include_tests: bool) -> Suppressions {
        let mut s = Suppressions::default();
        for (i, line) in text.lines().enumerate() {
            if let Some(ids) = allow_comment(line) {
                s.comments.insert(i + 1, ids);
            }
        }
        // `#![cfg(test)]` at the top: the whole file is test code.
        if !include_tests && ast.attrs.iter().any(is_test_attr) {
            s.ranges.push((1..=usize::MAX, vec!["*".into()]));
            return s;
        }
        let mut items = Items {
            s: &mut s,
            include_tests,
        };
        items.visit_file(ast);
        s
    }

    pub fn allows(&self, rule: &str, line: usize) -> bool {
        let names = |ids: &Vec<String>| ids.iter().any(|id| id == rule || id == "*");
        [line, line.saturating_sub(1)]
            .iter()
            .any(|l| self.comments.get(l).is_some_and(names))
            || self
                .ranges
                .iter()
                .any(|(r, ids)| r.contains(&line) && names(ids))
    }
}

fn allow_comment(line: &str) -> Option<Vec<String>> {
    let comment = &line[line.find("//")?..];
    let rest = &comment[comment.find(MARKER)? + MARKER.len()..];
    let ids = &rest[..rest.find(')')?];
    Some(
        ids.split(',')
            .map(|id| id.trim().to_string())
            .filter(|id| !id.is_empty())
            .collect(),
    )
}

struct Items<'a> {
    s: &'a mut Suppressions,
    include_tests: bool,
}

impl Items<'_> {
    /// Returns false when the item is test code and was skipped whole.
    fn item(&mut self, attrs: &[syn::Attribute], node: &dyn Spanned) -> bool {
        let is_test = !self.include_tests && attrs.iter().any(is_test_attr);
        if self.s.comments.is_empty() && !is_test {
            return true;
        }
        let span = node.span();
        let (start, end) = (span.start().line, span.end().line);
        if is_test {
            self.s.ranges.push((start..=end, vec!["*".into()]));
            return false;
        }
        // A comment just above the item or among its attributes covers it.
        let head = attrs.last().map_or(start, |a| a.span().end().line);
        let ids: Vec<String> = (start.saturating_sub(1)..=head)
            .filter_map(|l| self.s.comments.get(&l))
            .flatten()
            .cloned()
            .collect();
        if !ids.is_empty() {
            self.s.ranges.push((start..=end, ids));
        }
        true
    }
}

/// The files of out-of-line modules that the file at `path` declares as
/// test code (`#[cfg(test)] mod name;`, also inside inline modules): where
/// rustc looks for them, `name.rs` and the directory `name/` with all below
/// it (`name/mod.rs` and its own submodules). Like an inline
/// `#[cfg(test)] mod name { .. }`, their code runs only in tests.
/// A `#[path = "x.rs"]` test module at the top of the file is `x.rs` beside
/// the file; `#[path]` modules inside inline modules are left alone.
pub(crate) fn test_module_paths(path: &Path, ast: &syn::File) -> Vec<PathBuf> {
    let (Some(parent), Some(stem)) = (path.parent(), path.file_stem()) else {
        return Vec::new();
    };
    // A crate root or `mod.rs` keeps its submodules beside it; `foo.rs` in `foo/`.
    let root = ["lib", "main", "mod", "build"].iter().any(|r| stem == *r)
        || parent.file_name().is_some_and(|d| d == "bin");
    let dir = if root {
        parent.to_path_buf()
    } else {
        parent.join(stem)
    };
    let mut out = Vec::new();
    test_modules(&ast.items, &dir, false, &mut out);
    for item in &ast.items {
        let syn::Item::Mod(m) = item else { continue };
        if m.content.is_none() && m.attrs.iter().any(is_test_attr) {
            out.extend(m.attrs.iter().filter_map(path_attr).map(|p| parent.join(p)));
        }
    }
    out
}

/// The file a `#[path = ".."]` attribute names.
fn path_attr(a: &syn::Attribute) -> Option<String> {
    match &a.meta {
        syn::Meta::NameValue(nv) if nv.path.is_ident("path") => match &nv.value {
            syn::Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(s),
                ..
            }) => Some(s.value()),
            _ => None,
        },
        _ => None,
    }
}

fn test_modules(items: &[syn::Item], dir: &Path, in_test: bool, out: &mut Vec<PathBuf>) {
    for item in items {
        let syn::Item::Mod(m) = item else { continue };
        if m.attrs.iter().any(|a| a.path().is_ident("path")) {
            continue;
        }
        let name = m.ident.unraw().to_string();
        let test = in_test || m.attrs.iter().any(is_test_attr);
        match &m.content {
            Some((_, inner)) => test_modules(inner, &dir.join(&name), test, out),
            None if test => {
                out.push(dir.join(format!("{name}.rs")));
                out.push(dir.join(&name));
            }
            None => {}
        }
    }
}

fn is_test_attr(a: &syn::Attribute) -> bool {
    let path = a.path();
    if path.is_ident("cfg") {
        // `cfg(test)`, `cfg(all(test, unix))`; not `cfg(not(test))`.
        let text = a.meta.to_token_stream().to_string().replace(' ', "");
        return text
            .split(|c: char| !c.is_alphanumeric() && c != '_')
            .any(|w| w == "test")
            && !text.contains("not(test");
    }
    path.segments.last().is_some_and(|s| s.ident == "test")
}

macro_rules! items {
    ($($method:ident: $ty:ty => $($variant:path),*;)*) => {
        impl<'ast> Visit<'ast> for Items<'_> {
            $(fn $method(&mut self, node: &'ast $ty) {
                let attrs: &[syn::Attribute] = match node {
                    $($variant(i) => &i.attrs,)*
                    _ => &[],
                };
                if self.item(attrs, node) {
                    visit::$method(self, node);
                }
            })*
        }
    };
}

items! {
    visit_item: syn::Item => syn::Item::Fn, syn::Item::Struct, syn::Item::Enum, syn::Item::Impl,
        syn::Item::Mod, syn::Item::Trait, syn::Item::Static, syn::Item::Const, syn::Item::Macro;
    visit_impl_item: syn::ImplItem => syn::ImplItem::Fn, syn::ImplItem::Const;
    visit_trait_item: syn::TraitItem => syn::TraitItem::Fn;
}
