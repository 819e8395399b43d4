//! `forget-owned`: `mem::forget` of a value that owns heap memory or an OS
//! resource, whose destructor then never runs.
//!
//! "Owns" is decided by name: a local or parameter whose type annotation
//! or initializer names an owning type (`Vec`, `String`, `Box`, `File`, `Arc`,
//! `vec!`, `format!`, `.to_vec()`, `.collect()`..). Forgetting is fine when the
//! same fn rebuilds the value (`from_raw_parts`, `from_raw`), or returns a
//! raw pointer to it (an `into_raw`): that is an ownership transfer, so such
//! fns are skipped. So is forgetting a local whose buffer pointer the fn
//! took (`let (p, cap, len) = (v.as_mut_ptr(), ..)`): the pointer now owns
//! the buffer and goes on into whatever the fn builds from it.

use super::{Hit, Rule, RuleInfo};
use crate::owning::{owning_expr, OWNING_TYPES};
use crate::source::{call_span, ends_with, SourceFile};
use crate::types;
use std::collections::HashSet;
use syn::visit::{self, Visit};
use syn::Expr;

static INFO: RuleInfo = RuleInfo {
    id: "forget-owned",
    summary: "`mem::forget` of a value that owns memory or a resource",
    help: "let the value drop; to hand it to foreign code use `Box::into_raw`/`Vec::into_raw_parts` and free it with the matching `from_raw`",
};

pub(crate) const RULE: Rule = Rule {
    info: &INFO,
    check,
    confirm: None,
};

fn check(file: &SourceFile, out: &mut Vec<Hit>) {
    FnBodies { file, out }.visit_file(&file.ast);
}

struct FnBodies<'a, 'f> {
    file: &'a SourceFile<'f>,
    out: &'a mut Vec<Hit>,
}

impl FnBodies<'_, '_> {
    fn body(&mut self, sig: &syn::Signature, block: &syn::Block) {
        let mut scan = Scan {
            file: self.file,
            owned: HashSet::new(),
            forgets: Vec::new(),
            rebuilds: false,
            pointer_taken: HashSet::new(),
        };
        for input in &sig.inputs {
            if let syn::FnArg::Typed(t) = input {
                scan.bind(&t.pat, Some(&t.ty), None);
            }
        }
        scan.visit_block(block);
        let returns_pointer = matches!(&sig.output, syn::ReturnType::Type(_, t) if pointer(t));
        if scan.rebuilds || returns_pointer {
            return;
        }
        for (arg, span) in scan.forgets {
            let owned = match arg {
                Expr::Path(p) => p.path.get_ident().is_some_and(|i| {
                    let name = i.to_string();
                    scan.owned.contains(&name) && !scan.pointer_taken.contains(&name)
                }),
                other => owning_expr(other),
            };
            if owned {
                self.out.push(self.file.hit(
                    &INFO,
                    span,
                    "`mem::forget` of an owning value: its memory is never freed".into(),
                ));
            }
        }
    }
}

/// A raw pointer, `NonNull`, or a tuple holding one (`into_raw_parts`).
fn pointer(ty: &syn::Type) -> bool {
    match ty {
        syn::Type::Ptr(_) => true,
        syn::Type::Tuple(t) => t.elems.iter().any(pointer),
        other => types::names(other).iter().any(|n| n == "NonNull"),
    }
}

impl<'ast> Visit<'ast> for FnBodies<'_, '_> {
    fn visit_item_fn(&mut self, f: &'ast syn::ItemFn) {
        self.body(&f.sig, &f.block);
        visit::visit_item_fn(self, f);
    }

    fn visit_impl_item_fn(&mut self, f: &'ast syn::ImplItemFn) {
        self.body(&f.sig, &f.block);
        visit::visit_impl_item_fn(self, f);
    }
}

struct Scan<'a, 'f, 'ast> {
    file: &'a SourceFile<'f>,
    owned: HashSet<String>,
    forgets: Vec<(&'ast Expr, proc_macro2::Span)>,
    rebuilds: bool,
    /// Locals whose buffer pointer was taken (`v.as_ptr()`, `v.as_mut_ptr()`).
    pointer_taken: HashSet<String>,
}

impl Scan<'_, '_, '_> {
    fn bind(&mut self, pat: &syn::Pat, ty: Option<&syn::Type>, init: Option<&Expr>) {
        let (pat, ty) = match pat {
            syn::Pat::Type(t) => (&*t.pat, Some(&*t.ty)),
            other => (other, ty),
        };
        let syn::Pat::Ident(p) = pat else { return };
        let by_type = ty.is_some_and(|t| {
            // References and raw pointers do not own what they point to.
            !matches!(t, syn::Type::Reference(_) | syn::Type::Ptr(_)) && {
                let names = types::names(t);
                names.first().is_some_and(|n| {
                    OWNING_TYPES.contains(&n.as_str()) || types::COLLECTIONS.contains(&n.as_str())
                })
            }
        });
        if by_type || init.is_some_and(owning_expr) {
            self.owned.insert(p.ident.to_string());
        }
    }
}

impl<'ast> Visit<'ast> for Scan<'_, '_, 'ast> {
    fn visit_local(&mut self, l: &'ast syn::Local) {
        self.bind(&l.pat, None, l.init.as_ref().map(|i| &*i.expr));
        visit::visit_local(self, l);
    }

    fn visit_expr_call(&mut self, c: &'ast syn::ExprCall) {
        if let Some(path) = self.file.callee(c) {
            if ends_with(&path, &["mem", "forget"]) && c.args.len() == 1 {
                self.forgets.push((&c.args[0], call_span(c)));
            }
            let last = path.last().map(String::as_str).unwrap_or("");
            self.rebuilds |= last.starts_with("from_raw");
        }
        visit::visit_expr_call(self, c);
    }

    fn visit_expr_method_call(&mut self, m: &'ast syn::ExprMethodCall) {
        if matches!(m.method.to_string().as_str(), "as_ptr" | "as_mut_ptr") {
            if let Expr::Path(p) = &*m.receiver {
                if let Some(i) = p.path.get_ident() {
                    self.pointer_taken.insert(i.to_string());
                }
            }
        }
        visit::visit_expr_method_call(self, m);
    }

    // Nested items (fns, impls) are scanned on their own by `FnBodies`.
    fn visit_item(&mut self, _: &'ast syn::Item) {}
}
