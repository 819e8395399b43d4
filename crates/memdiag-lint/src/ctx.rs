//! Walks every expression of a file with the context rules ask about: is it
//! repeated (inside a loop), is it per-request code, is it in an async fn.
//!
//! Heuristics, kept simple on purpose:
//! - *repeated*: the body (and `while` condition) of `for`/`while`/`loop`, and
//!   closures passed to iterator adapters that run once per item
//!   (`for_each`, `map`, `filter_map`, `flat_map`, `try_for_each`, `fold`);
//! - *per request*: fns named like handlers (`handle*`, `serve*`, `*_handler`,
//!   `on_request`), and closures/async blocks passed to `spawn*` calls, to
//!   `service_fn`/`make_service_fn`, or to `.route(..)`/`.to(..)`/`.handler(..)`.
//!
//! A nested fn item starts a fresh context: its body runs when called, not
//! where it is written.

use crate::source::impl_type_name;
use syn::visit::{self, Visit};
use syn::Expr;

#[derive(Clone, Default)]
pub(crate) struct Ctx {
    pub loop_depth: u32,
    pub per_request: bool,
    pub in_async_fn: bool,
    /// Inside a fn body (not a `static`/`const` initializer).
    pub in_fn: bool,
    /// Enclosing fn, as `Type::method` inside an impl, and its line.
    pub fn_name: String,
    pub fn_line: usize,
}

impl Ctx {
    pub fn repeated(&self) -> bool {
        self.loop_depth > 0 || self.per_request
    }
}

const PER_ITEM_ADAPTERS: &[&str] = &[
    "for_each",
    "map",
    "filter_map",
    "flat_map",
    "try_for_each",
    "fold",
];
const HANDLER_CALLS: &[&str] = &[
    "service_fn",
    "make_service_fn",
    "spawn",
    "spawn_local",
    "spawn_blocking",
];
const HANDLER_METHODS: &[&str] = &["route", "to", "handler"];

pub(crate) fn walk_exprs<'ast>(file: &'ast syn::File, f: &mut dyn FnMut(&'ast Expr, &Ctx)) {
    Walker {
        ctx: Ctx::default(),
        impl_type: None,
        f,
    }
    .visit_file(file);
}

pub(crate) fn is_handler_name(name: &str) -> bool {
    name.starts_with("handle")
        || name.starts_with("serve")
        || name.ends_with("_handler")
        || name == "on_request"
}

struct Walker<'a, 'ast> {
    ctx: Ctx,
    /// Self type of the impl block being walked, if any.
    impl_type: Option<String>,
    f: &'a mut dyn FnMut(&'ast Expr, &Ctx),
}

impl<'ast> Walker<'_, 'ast> {
    fn with(&mut self, ctx: Ctx, body: impl FnOnce(&mut Self)) {
        let saved = std::mem::replace(&mut self.ctx, ctx);
        body(self);
        self.ctx = saved;
    }

    fn looped(&mut self, body: impl FnOnce(&mut Self)) {
        let ctx = Ctx {
            loop_depth: self.ctx.loop_depth + 1,
            ..self.ctx.clone()
        };
        self.with(ctx, body);
    }

    fn per_request(&mut self, body: impl FnOnce(&mut Self)) {
        let ctx = Ctx {
            per_request: true,
            ..self.ctx.clone()
        };
        self.with(ctx, body);
    }

    fn function(&mut self, sig: &'ast syn::Signature, block: &'ast syn::Block) {
        let ctx = Ctx {
            loop_depth: 0,
            per_request: is_handler_name(&sig.ident.to_string()),
            in_async_fn: sig.asyncness.is_some(),
            in_fn: true,
            fn_name: match &self.impl_type {
                Some(t) => format!("{t}::{}", sig.ident),
                None => sig.ident.to_string(),
            },
            fn_line: sig.ident.span().start().line,
        };
        self.with(ctx, |w| w.visit_block(block));
    }
}

impl<'ast> Visit<'ast> for Walker<'_, 'ast> {
    fn visit_expr(&mut self, e: &'ast Expr) {
        (self.f)(e, &self.ctx);
        match e {
            Expr::ForLoop(l) => {
                self.visit_expr(&l.expr);
                self.looped(|w| w.visit_block(&l.body));
            }
            Expr::While(l) => self.looped(|w| {
                w.visit_expr(&l.cond);
                w.visit_block(&l.body);
            }),
            Expr::Loop(l) => self.looped(|w| w.visit_block(&l.body)),
            Expr::MethodCall(m) if PER_ITEM_ADAPTERS.contains(&m.method.to_string().as_str()) => {
                self.visit_expr(&m.receiver);
                self.looped(|w| m.args.iter().for_each(|a| w.visit_expr(a)));
            }
            Expr::MethodCall(m) if HANDLER_METHODS.contains(&m.method.to_string().as_str()) => {
                self.visit_expr(&m.receiver);
                self.per_request(|w| m.args.iter().for_each(|a| w.visit_expr(a)));
            }
            Expr::Call(c) if is_handler_call(c) => {
                self.visit_expr(&c.func);
                self.per_request(|w| c.args.iter().for_each(|a| w.visit_expr(a)));
            }
            _ => visit::visit_expr(self, e),
        }
    }

    fn visit_item_fn(&mut self, f: &'ast syn::ItemFn) {
        self.function(&f.sig, &f.block);
    }

    fn visit_impl_item_fn(&mut self, f: &'ast syn::ImplItemFn) {
        self.function(&f.sig, &f.block);
    }

    fn visit_item_impl(&mut self, i: &'ast syn::ItemImpl) {
        let saved = std::mem::replace(&mut self.impl_type, impl_type_name(i));
        visit::visit_item_impl(self, i);
        self.impl_type = saved;
    }

    fn visit_item_static(&mut self, s: &'ast syn::ItemStatic) {
        self.with(Ctx::default(), |w| visit::visit_item_static(w, s));
    }

    fn visit_item_const(&mut self, c: &'ast syn::ItemConst) {
        self.with(Ctx::default(), |w| visit::visit_item_const(w, c));
    }

    fn visit_trait_item_fn(&mut self, f: &'ast syn::TraitItemFn) {
        if let Some(block) = &f.default {
            self.function(&f.sig, block);
        }
    }
}

fn is_handler_call(c: &syn::ExprCall) -> bool {
    match &*c.func {
        Expr::Path(p) => p
            .path
            .segments
            .last()
            .is_some_and(|s| HANDLER_CALLS.contains(&s.ident.to_string().as_str())),
        _ => false,
    }
}
