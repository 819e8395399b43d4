//! `raw-without-release`: `Box::into_raw`, `Arc::into_raw`, `Rc::into_raw`,
//! or `ManuallyDrop::new` of a freshly allocated value (`vec![..]`,
//! `Box::new(..)`, `.to_vec()`..), where neither the module (file) nor the
//! rest of the crate ever releases that kind of value: no `X::from_raw` (or
//! `decrement_strong_count`) for the same `X`; no
//! `ManuallyDrop::drop`/`into_inner`/`take`, `ptr::read`/`drop_in_place`.
//! `ManuallyDrop::new(x)` of an existing value is not flagged: that is how
//! values are taken apart (`as_mut_ptr`, `transmute_copy`) or borrowed
//! views are built (`Waker::from_raw`), not kept. Releases are matched by
//! kind crate-wide, because FFI and task code often free in another module.

use super::{Hit, Rule, RuleInfo};
use crate::facts::Facts;
use crate::owning::owning_expr;
use crate::source::SourceFile;
use std::collections::HashSet;
use syn::spanned::Spanned;
use syn::visit::{self, Visit};

static INFO: RuleInfo = RuleInfo {
    id: "raw-without-release",
    summary: "ownership is given up with no matching release in the module or crate",
    help: "pair it with `from_raw` (or `ManuallyDrop::drop`/`into_inner`) on every path, e.g. in the owner's `Drop` impl",
};

pub(crate) const RULE: Rule = Rule {
    info: &INFO,
    check,
    confirm: Some(confirm),
};

const RAW_OWNERS: &[&str] = &["Box", "Arc", "Rc"];
const MANUALLY_DROP: &str = "ManuallyDrop";

fn check(file: &SourceFile, out: &mut Vec<Hit>) {
    let calls = calls(file);
    for (kind, span) in calls.sites {
        if !calls.released.contains(kind) {
            let what = if kind == MANUALLY_DROP {
                "ManuallyDrop::new".to_string()
            } else {
                format!("{kind}::into_raw")
            };
            let msg = format!("`{what}` with no matching release in this module or crate: the value is never dropped");
            let mut hit = file.hit(&INFO, span, msg);
            hit.key = Some(kind.to_string());
            out.push(hit);
        }
    }
}

fn confirm(kind: &str, facts: &Facts) -> Option<Vec<String>> {
    (!facts.released.contains(kind)).then(Vec::new)
}

/// Kinds of value ("Box", "Arc", "Rc", "ManuallyDrop") the file releases.
pub(crate) fn released(file: &SourceFile) -> HashSet<&'static str> {
    calls(file).released
}

fn calls<'a, 'f>(file: &'a SourceFile<'f>) -> Calls<'a, 'f> {
    let mut calls = Calls {
        file,
        sites: Vec::new(),
        released: HashSet::new(),
    };
    calls.visit_file(&file.ast);
    calls
}

struct Calls<'a, 'f> {
    file: &'a SourceFile<'f>,
    /// (kind, site): "Box"/"Arc"/"Rc" for `into_raw`, "ManuallyDrop" for `new`.
    sites: Vec<(&'static str, proc_macro2::Span)>,
    released: HashSet<&'static str>,
}

impl<'ast> Visit<'ast> for Calls<'_, '_> {
    fn visit_expr_call(&mut self, c: &'ast syn::ExprCall) {
        if let Some(path) = self.file.callee(c).filter(|p| p.len() >= 2) {
            let (ty, f) = (path[path.len() - 2].as_str(), path[path.len() - 1].as_str());
            let owner = RAW_OWNERS.iter().find(|o| **o == ty).copied();
            match (owner, ty, f) {
                (Some(o), _, "into_raw") => self.sites.push((o, c.span())),
                (Some(o), _, "from_raw" | "decrement_strong_count") => {
                    self.released.insert(o);
                }
                (_, MANUALLY_DROP, "new") if c.args.first().is_some_and(owning_expr) => {
                    self.sites.push((MANUALLY_DROP, c.span()));
                }
                (_, MANUALLY_DROP, "drop" | "into_inner" | "take")
                | (_, "ptr", "read" | "drop_in_place") => {
                    self.released.insert(MANUALLY_DROP);
                }
                _ => {}
            }
        }
        visit::visit_expr_call(self, c);
    }

    fn visit_expr_method_call(&mut self, m: &'ast syn::ExprMethodCall) {
        // `ptr.read()` / `ptr.drop_in_place()` move the value out of a ManuallyDrop too.
        if m.method == "read" && m.args.is_empty() || m.method == "drop_in_place" {
            self.released.insert(MANUALLY_DROP);
        }
        visit::visit_expr_method_call(self, m);
    }
}
