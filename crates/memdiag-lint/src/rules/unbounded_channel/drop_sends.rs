//! A sender owned by one value that sends only when that value drops:
//! `S { on_finish: tx }`, where `S` is a struct of the file that is not
//! `Clone` and every use of the field `on_finish` in the file is a send in
//! `impl Drop for S`, outside loops or right before a `break`. The sender is
//! moved into one value, which drops once: the channel carries at most as
//! many messages as that `drop` has sends.

use super::{count_mentions, uses_in, SENDS};
use crate::source::impl_type_name;
use quote::ToTokens;
use std::collections::HashSet;
use syn::visit::{self, Visit};
use syn::Expr;

/// Are `sender`'s only uses in `stmts` fields of struct literals whose
/// fields only send from their struct's `Drop`?
pub(super) fn sends_only_on_drop(ast: &syn::File, stmts: &[syn::Stmt], sender: &str) -> bool {
    let mut stores = Stores {
        sender,
        found: Vec::new(),
    };
    stmts.iter().for_each(|s| stores.visit_stmt(s));
    if stores.found.is_empty() || stores.found.len() != uses_in(stmts, sender) {
        return false;
    }
    let plain = plain_structs(ast);
    stores.found.iter().all(|(ty, field)| {
        plain.contains(ty) && {
            let mut uses = FieldUses {
                ty,
                field,
                in_drop: false,
                loops: 0,
                before_break: false,
                sends: 0,
                others: 0,
            };
            uses.visit_file(ast);
            uses.sends > 0 && uses.others == 0
        }
    })
}

/// `(struct, field)` of every `S { field: sender }` (or `S { sender }`).
struct Stores<'s> {
    sender: &'s str,
    found: Vec<(String, String)>,
}

impl<'ast> Visit<'ast> for Stores<'_> {
    fn visit_expr_struct(&mut self, e: &'ast syn::ExprStruct) {
        let ty = e.path.segments.last().map(|s| s.ident.to_string());
        for f in &e.fields {
            let is_sender = matches!(&f.expr, Expr::Path(p) if p.path.is_ident(self.sender));
            if let (true, Some(ty), syn::Member::Named(name)) = (is_sender, &ty, &f.member) {
                self.found.push((ty.clone(), name.to_string()));
            }
        }
        visit::visit_expr_struct(self, e);
    }
}

/// Structs defined in the file that are not `Clone` (derived or
/// implemented), so that no copy of a sender stored in them can exist.
fn plain_structs(ast: &syn::File) -> HashSet<String> {
    struct V(HashSet<String>, HashSet<String>);
    impl<'ast> Visit<'ast> for V {
        fn visit_item_struct(&mut self, s: &'ast syn::ItemStruct) {
            let derives_clone = s.attrs.iter().any(|a| {
                a.path().is_ident("derive")
                    && a.meta.to_token_stream().to_string().contains("Clone")
            });
            if !derives_clone {
                self.0.insert(s.ident.to_string());
            }
            visit::visit_item_struct(self, s);
        }
        fn visit_item_impl(&mut self, i: &'ast syn::ItemImpl) {
            if trait_name(i).as_deref() == Some("Clone") {
                self.1.extend(impl_type_name(i));
            }
            visit::visit_item_impl(self, i);
        }
    }
    let mut v = V(HashSet::new(), HashSet::new());
    v.visit_file(ast);
    v.0.difference(&v.1).cloned().collect()
}

fn trait_name(i: &syn::ItemImpl) -> Option<String> {
    i.trait_
        .as_ref()
        .and_then(|(_, p, _)| p.segments.last())
        .map(|s| s.ident.to_string())
}

/// Counts the uses of `.field` in the file that are not a send from
/// `impl Drop for ty`, outside loops or right before a `break`.
struct FieldUses<'a> {
    ty: &'a str,
    field: &'a str,
    in_drop: bool,
    loops: u32,
    before_break: bool,
    sends: u32,
    others: u32,
}

impl FieldUses<'_> {
    fn is_field(&self, f: &syn::ExprField) -> bool {
        matches!(&f.member, syn::Member::Named(n) if n == self.field)
    }

    /// A `break` after a loop or closure does not stop the repeats inside it.
    fn looped(&mut self, body: impl FnOnce(&mut Self)) {
        let before_break = std::mem::take(&mut self.before_break);
        self.loops += 1;
        body(self);
        self.loops -= 1;
        self.before_break = before_break;
    }
}

impl<'ast> Visit<'ast> for FieldUses<'_> {
    fn visit_item_impl(&mut self, i: &'ast syn::ItemImpl) {
        let drop = trait_name(i).as_deref() == Some("Drop")
            && impl_type_name(i).as_deref() == Some(self.ty);
        let outer = std::mem::replace(&mut self.in_drop, drop);
        visit::visit_item_impl(self, i);
        self.in_drop = outer;
    }

    fn visit_block(&mut self, b: &'ast syn::Block) {
        for (k, s) in b.stmts.iter().enumerate() {
            let breaks = matches!(b.stmts.get(k + 1), Some(syn::Stmt::Expr(Expr::Break(_), _)));
            let outer = std::mem::replace(&mut self.before_break, breaks);
            self.visit_stmt(s);
            self.before_break = outer;
        }
    }

    fn visit_expr_method_call(&mut self, m: &'ast syn::ExprMethodCall) {
        let send = SENDS.contains(&m.method.to_string().as_str());
        if let (true, Expr::Field(f)) = (send, &*m.receiver) {
            if self.is_field(f) {
                let once = self.loops == 0 || self.before_break;
                if self.in_drop && once {
                    self.sends += 1;
                } else {
                    self.others += 1;
                }
                self.visit_expr(&f.base);
                m.args.iter().for_each(|a| self.visit_expr(a));
                return;
            }
        }
        visit::visit_expr_method_call(self, m);
    }

    fn visit_expr_field(&mut self, f: &'ast syn::ExprField) {
        self.others += u32::from(self.is_field(f));
        visit::visit_expr_field(self, f);
    }

    fn visit_expr_for_loop(&mut self, l: &'ast syn::ExprForLoop) {
        self.looped(|v| visit::visit_expr_for_loop(v, l));
    }

    fn visit_expr_while(&mut self, l: &'ast syn::ExprWhile) {
        self.looped(|v| visit::visit_expr_while(v, l));
    }

    fn visit_expr_loop(&mut self, l: &'ast syn::ExprLoop) {
        self.looped(|v| visit::visit_expr_loop(v, l));
    }

    fn visit_expr_closure(&mut self, c: &'ast syn::ExprClosure) {
        self.looped(|v| visit::visit_expr_closure(v, c));
    }

    // A mention in a macro is another use.
    fn visit_macro(&mut self, m: &'ast syn::Macro) {
        let n: usize = m
            .tokens
            .clone()
            .into_iter()
            .map(|t| count_mentions(&t, self.field))
            .sum();
        self.others += n as u32;
    }
}
