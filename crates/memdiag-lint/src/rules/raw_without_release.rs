//! `raw-without-release`: `Box::into_raw`, `Arc::into_raw`, `Rc::into_raw`,
//! or `ManuallyDrop::new` of a freshly allocated value (`vec![..]`,
//! `Box::new(..)`, `.to_vec()`..), where neither the module (file) nor the
//! rest of the crate ever releases that kind of value: no `X::from_raw` (or
//! `decrement_strong_count`) for the same `X`; no
//! `ManuallyDrop::drop`/`into_inner`/`take`, `ptr::read`/`drop_in_place`.
//! `ManuallyDrop::new(x)` of an existing value is not flagged: that is how
//! values are taken apart (`as_mut_ptr`, `transmute_copy`) or borrowed
//! views are built (`Waker::from_raw`), not kept; nor is one of a `from_raw*`
//! call (`ManuallyDrop::new(Rc::from_raw(p))`), which borrows what the
//! pointer owns. Its `from_raw` still counts as a release: the view may be
//! taken back out (`ManuallyDrop::into_inner`) and dropped. Releases are matched by
//! kind crate-wide, because FFI and task code often free in another module.
//! Nor is a pointer stored straight into a static of the file outside any
//! loop or closure (`PREV = Box::into_raw(..)`, `PTR.store(Arc::into_raw(..),
//! ..)`): a global stays reachable for the life of the program, like
//! `Box::leak` into a `static`. In a loop, each store drops the last pointer,
//! which is still flagged. Nor is a pointer handed straight to a fn as an
//! argument (`connect_raw(obj, sig, Box::into_raw(f))`,
//! `Self::from_raw(Arc::into_raw(a))`): the callee takes ownership, and
//! frees it where the lint cannot see (GObject's destroy notify, a C
//! library). A pointer the crate keeps (a local, a field, `Some(..)`,
//! `NonNull::new(..)`, a method's argument such as `vec.push(..)`) is still
//! the crate's to release.

use super::{Hit, Rule, RuleInfo};
use crate::facts::Facts;
use crate::owning::owning_expr;
use crate::source::SourceFile;
use crate::statics::statics;
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
        statics: statics(&file.ast)
            .into_iter()
            .map(|s| s.ident.to_string())
            .collect(),
        kept: HashSet::new(),
        depth: 0,
    };
    calls.visit_file(&file.ast);
    calls
}

struct Calls<'a, 'f> {
    file: &'a SourceFile<'f>,
    /// (kind, site): "Box"/"Arc"/"Rc" for `into_raw`, "ManuallyDrop" for `new`.
    sites: Vec<(&'static str, proc_macro2::Span)>,
    released: HashSet<&'static str>,
    /// Statics of the file, by name.
    statics: HashSet<String>,
    /// `into_raw` calls stored straight into a static outside loops, or
    /// handed to a fn as an argument.
    kept: HashSet<*const syn::ExprCall>,
    /// Loops and closures around the current expression.
    depth: u32,
}

impl Calls<'_, '_> {
    fn is_static(&self, e: &syn::Expr) -> bool {
        matches!(e, syn::Expr::Path(p) if p.path.get_ident()
            .is_some_and(|i| self.statics.contains(&i.to_string())))
    }

    /// Marks `value` kept if it is a call stored into a static outside loops.
    fn keep(&mut self, value: &syn::Expr) {
        match value {
            syn::Expr::Cast(c) => self.keep(&c.expr),
            syn::Expr::Paren(p) => self.keep(&p.expr),
            syn::Expr::Call(c) if self.depth == 0 => {
                self.kept.insert(c as *const syn::ExprCall);
            }
            _ => {}
        }
    }

    /// Marks a call in `args` handed to the fn `callee` (not a constructor
    /// like `Some`, `NonNull::new`, `From::from`, which keeps it in the crate,
    /// nor a std fn that moves the pointer but not what it owns).
    fn hand_off(
        &mut self,
        callee: &[String],
        args: &syn::punctuated::Punctuated<syn::Expr, syn::Token![,]>,
    ) {
        let Some(f) = callee.last() else { return };
        let constructor = f.starts_with(char::is_uppercase)
            || matches!(f.as_str(), "new" | "new_unchecked" | "from");
        // Std fns that take a pointer without taking what it owns: it stays
        // the crate's (`ptr::write(slot, p)`) or is lost (`drop(p)`).
        let not_owning = matches!(
            f.as_str(),
            "drop"
                | "forget"
                | "write"
                | "write_volatile"
                | "write_unaligned"
                | "replace"
                | "swap"
                | "identity"
                | "black_box"
                | "transmute"
        );
        if constructor || not_owning {
            return;
        }
        for arg in args {
            let mut e = arg;
            while let syn::Expr::Cast(syn::ExprCast { expr, .. })
            | syn::Expr::Paren(syn::ExprParen { expr, .. }) = e
            {
                e = expr;
            }
            if let syn::Expr::Call(c) = e {
                self.kept.insert(c as *const syn::ExprCall);
            }
        }
    }

    fn repeated(&mut self, body: impl FnOnce(&mut Self)) {
        self.depth += 1;
        body(self);
        self.depth -= 1;
    }
}

impl<'ast> Visit<'ast> for Calls<'_, '_> {
    fn visit_expr_call(&mut self, c: &'ast syn::ExprCall) {
        let callee = self.file.callee(c);
        if let Some(path) = &callee {
            self.hand_off(path, &c.args);
        }
        if let Some(path) = callee.filter(|p| p.len() >= 2) {
            let (ty, f) = (path[path.len() - 2].as_str(), path[path.len() - 1].as_str());
            let owner = RAW_OWNERS.iter().find(|o| **o == ty).copied();
            match (owner, ty, f) {
                (Some(o), _, "into_raw") if !self.kept.contains(&(c as *const _)) => {
                    self.sites.push((o, c.span()))
                }
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

    fn visit_expr_assign(&mut self, a: &'ast syn::ExprAssign) {
        if self.is_static(&a.left) {
            self.keep(&a.right);
        }
        visit::visit_expr_assign(self, a);
    }

    fn visit_expr_closure(&mut self, c: &'ast syn::ExprClosure) {
        self.repeated(|v| visit::visit_expr_closure(v, c));
    }

    fn visit_expr_for_loop(&mut self, l: &'ast syn::ExprForLoop) {
        self.repeated(|v| visit::visit_expr_for_loop(v, l));
    }

    fn visit_expr_while(&mut self, l: &'ast syn::ExprWhile) {
        self.repeated(|v| visit::visit_expr_while(v, l));
    }

    fn visit_expr_loop(&mut self, l: &'ast syn::ExprLoop) {
        self.repeated(|v| visit::visit_expr_loop(v, l));
    }

    fn visit_item_fn(&mut self, f: &'ast syn::ItemFn) {
        // A nested fn's body runs when called, not in the enclosing loop.
        let depth = std::mem::take(&mut self.depth);
        visit::visit_item_fn(self, f);
        self.depth = depth;
    }

    fn visit_expr_method_call(&mut self, m: &'ast syn::ExprMethodCall) {
        // `PTR.store(Box::into_raw(..), ..)` on an `AtomicPtr` static.
        if m.method == "store" && self.is_static(&m.receiver) {
            if let Some(value) = m.args.first() {
                self.keep(value);
            }
        }
        // `ptr.read()` / `ptr.drop_in_place()` move the value out of a ManuallyDrop too.
        if m.method == "read" && m.args.is_empty() || m.method == "drop_in_place" {
            self.released.insert(MANUALLY_DROP);
        }
        visit::visit_expr_method_call(self, m);
    }
}
