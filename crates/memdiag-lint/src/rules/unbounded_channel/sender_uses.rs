//! Following an unbounded channel's sender through its block: how often it
//! sends, whether it only feeds a debouncer (directly or through fns of the
//! file), and whether its sends are paced by receives from a paced channel
//! (a forwarder). See the parent module's doc for the rules.

use super::{mentions, SENDS};
use crate::source::segment_names;
use std::collections::{HashMap, HashSet};
use syn::visit::{self, Visit};
use syn::Expr;

/// How many patterns in `b` bind `name`.
pub(super) fn bindings(b: &syn::Block, name: &str) -> usize {
    struct Count<'n>(&'n str, usize);
    impl Visit<'_> for Count<'_> {
        fn visit_pat_ident(&mut self, p: &syn::PatIdent) {
            self.1 += usize::from(p.ident == self.0);
            visit::visit_pat_ident(self, p);
        }
    }
    let mut count = Count(name, 0);
    count.visit_block(b);
    count.1
}

/// The fns of a file, by name: free fns (also in inline modules) and the
/// fns of impls, called as `f(..)` or `Self::f(..)`.
#[derive(Default)]
pub(super) struct Fns<'ast>(HashMap<String, Vec<(&'ast syn::Signature, &'ast syn::Block)>>);

impl<'ast> Fns<'ast> {
    pub(super) fn of(ast: &'ast syn::File) -> Fns<'ast> {
        let mut fns = Fns::default();
        fns.visit_file(ast);
        fns
    }

    /// The one fn of the file that `c` calls, if its name is defined once.
    fn called(&self, c: &syn::ExprCall) -> Option<(&'ast syn::Signature, &'ast syn::Block)> {
        let Expr::Path(p) = &*c.func else { return None };
        let segs = segment_names(&p.path);
        let name = match &segs[..] {
            [f] => f,
            [s, f] if s == "Self" => f,
            _ => return None,
        };
        match self.0.get(name).map(Vec::as_slice) {
            Some(&[one]) => Some(one),
            _ => None,
        }
    }
}

impl<'ast> Visit<'ast> for Fns<'ast> {
    fn visit_item_fn(&mut self, f: &'ast syn::ItemFn) {
        let name = f.sig.ident.to_string();
        self.0.entry(name).or_default().push((&f.sig, &f.block));
        visit::visit_item_fn(self, f);
    }

    fn visit_impl_item_fn(&mut self, f: &'ast syn::ImplItemFn) {
        let name = f.sig.ident.to_string();
        self.0.entry(name).or_default().push((&f.sig, &f.block));
        visit::visit_impl_item_fn(self, f);
    }
}

/// A parameter's name, if it is a plain binding.
fn param(sig: &syn::Signature, k: usize) -> Option<String> {
    match sig.inputs.iter().nth(k)? {
        syn::FnArg::Typed(t) => match &*t.pat {
            syn::Pat::Ident(i) if i.subpat.is_none() => Some(i.ident.to_string()),
            _ => None,
        },
        syn::FnArg::Receiver(_) => None,
    }
}

/// `x` or `&x`: the name `x`.
fn local(e: &Expr) -> Option<String> {
    match e {
        Expr::Reference(r) => local(&r.expr),
        Expr::Path(p) => p.path.get_ident().map(ToString::to_string),
        _ => None,
    }
}

/// How deep [`Uses`] follows a sender into the fns it is passed to.
const MAX_NESTING: u32 = 3;

/// Counts a sender's uses: `send`s run once, hand-overs to a debouncer or
/// to a fn of the file that only does that (outside loops), sends paced by
/// a receive from a paced channel, and anything else.
pub(super) struct Uses<'a, 'ast> {
    name: String,
    fns: &'a Fns<'ast>,
    /// Receivers in scope of channels whose senders are paced: one message,
    /// a debouncer, or a forwarder of such a channel.
    paced: HashSet<String>,
    /// The loops and closures around the current expression, innermost
    /// last: for a loop driven by a paced receiver (one receive per
    /// iteration, before the send), that receiver.
    around: Vec<Option<String>>,
    /// How many fns deep the sender was followed.
    nesting: u32,
    sends: u32,
    debounced: u32,
    forwarded: u32,
    others: u32,
}

impl<'a, 'ast> Uses<'a, 'ast> {
    pub(super) fn new(
        name: String,
        fns: &'a Fns<'ast>,
        paced: HashSet<String>,
        nesting: u32,
    ) -> Self {
        Uses {
            name,
            fns,
            paced,
            around: Vec::new(),
            nesting,
            sends: 0,
            debounced: 0,
            forwarded: 0,
            others: 0,
        }
    }

    /// Does the channel carry at most one message per send site (every send
    /// runs at most once: none is in a loop or a repeated closure), or only
    /// what debouncers and paced sources let through?
    pub(super) fn quiet(&self) -> bool {
        let counted = self.debounced == 0 && self.forwarded == 0 && self.sends >= 1;
        let paced =
            self.sends + self.debounced <= 1 && self.sends + self.debounced + self.forwarded >= 1;
        self.others == 0 && (counted || paced)
    }

    fn is_sender(&self, e: &Expr) -> bool {
        matches!(e, Expr::Path(p) if p.path.is_ident(&self.name))
    }

    fn around(&mut self, driver: Option<String>, body: impl FnOnce(&mut Self)) {
        self.around.push(driver);
        body(self);
        self.around.pop();
    }

    /// The paced receiver `e` blocks on for one message: `rx.recv()`,
    /// `rx.recv().await`, `rx.next().await`, `rx.blocking_recv()`, through
    /// `?`, `unwrap`, `expect`, `ok`.
    fn receive(&self, e: &Expr) -> Option<String> {
        match e {
            Expr::Try(t) => self.receive(&t.expr),
            Expr::Await(a) => self.receive(&a.base),
            Expr::Paren(p) => self.receive(&p.expr),
            Expr::MethodCall(m) => match m.method.to_string().as_str() {
                "unwrap" | "expect" | "ok" => self.receive(&m.receiver),
                "recv" | "blocking_recv" | "next" => {
                    local(&m.receiver).filter(|r| self.paced.contains(r))
                }
                _ => None,
            },
            _ => None,
        }
    }

    /// The paced receiver a `for` loop iterates over: `rx`, `&rx`,
    /// `rx.iter()`, `rx.try_iter()`, `rx.into_iter()`.
    fn iterated(&self, e: &Expr) -> Option<String> {
        let rx = match e {
            Expr::MethodCall(m)
                if matches!(
                    m.method.to_string().as_str(),
                    "iter" | "try_iter" | "into_iter"
                ) =>
            {
                local(&m.receiver)
            }
            e => local(e),
        };
        rx.filter(|r| self.paced.contains(r))
    }

    /// Is the sender, passed as argument `k` of a call to a fn of this file,
    /// only handed on there to a debouncer or sent from a paced loop?
    fn handed_over(&self, c: &'ast syn::ExprCall, k: usize) -> bool {
        let Some((sig, body)) = self.fns.called(c).filter(|_| self.nesting < MAX_NESTING) else {
            return false;
        };
        let Some(p) = param(sig, k) else { return false };
        // Receivers of paced channels passed to the fn, by parameter.
        let paced = c
            .args
            .iter()
            .enumerate()
            .filter(|(_, a)| local(a).is_some_and(|r| self.paced.contains(&r)))
            .filter_map(|(j, _)| param(sig, j))
            .filter(|q| bindings(body, q) == 0)
            .collect();
        let mut uses = Uses::new(p, self.fns, paced, self.nesting + 1);
        uses.visit_block(body);
        uses.quiet()
    }
}

impl<'ast> Uses<'_, 'ast> {
    /// An argument of a spawn: a closure, or a block that makes one
    /// (`spawn({ let tx = tx.clone(); move || .. })`), runs once.
    fn visit_spawned(&mut self, arg: &'ast Expr) {
        match arg {
            Expr::Closure(cl) => self.visit_expr(&cl.body),
            Expr::Block(b) => match b.block.stmts.split_last() {
                Some((syn::Stmt::Expr(Expr::Closure(cl), None), rest)) => {
                    rest.iter().for_each(|s| self.visit_stmt(s));
                    self.visit_expr(&cl.body);
                }
                _ => self.visit_expr(arg),
            },
            a => self.visit_expr(a),
        }
    }
}

impl<'ast> Visit<'ast> for Uses<'_, 'ast> {
    fn visit_expr_method_call(&mut self, m: &'ast syn::ExprMethodCall) {
        if !self.is_sender(&m.receiver) {
            if !m.method.to_string().starts_with("spawn") {
                return visit::visit_expr_method_call(self, m);
            }
            // `Builder::new().spawn(move || ..)`, `runtime.spawn(..)`: the
            // closure runs once, like one passed to `spawn(..)`.
            self.visit_expr(&m.receiver);
            m.args.iter().for_each(|a| self.visit_spawned(a));
            return;
        }
        let send = SENDS.contains(&m.method.to_string().as_str());
        match self.around.last() {
            _ if !send => self.others += 1,
            None => self.sends += 1,
            Some(Some(_)) => self.forwarded += 1,
            Some(None) => self.others += 1,
        }
        m.args.iter().for_each(|a| self.visit_expr(a));
    }

    fn visit_expr_path(&mut self, p: &'ast syn::ExprPath) {
        self.others += u32::from(p.path.is_ident(&self.name));
    }

    fn visit_expr_call(&mut self, c: &'ast syn::ExprCall) {
        let callee = match &*c.func {
            Expr::Path(p) => p.path.segments.last().map(|s| s.ident.to_string()),
            _ => None,
        };
        let spawn = callee.as_ref().is_some_and(|n| n.starts_with("spawn"));
        let debouncer = callee
            .as_ref()
            .is_some_and(|n| n.to_lowercase().contains("debounce"));
        let outside = self.around.is_empty();
        self.visit_expr(&c.func);
        for (k, arg) in c.args.iter().enumerate() {
            match arg {
                a @ (Expr::Closure(_) | Expr::Block(_)) if spawn => self.visit_spawned(a),
                a if debouncer && outside && self.is_sender(a) => self.debounced += 1,
                a if outside
                    && local(a).is_some_and(|n| n == self.name)
                    && self.handed_over(c, k) =>
                {
                    self.debounced += 1;
                }
                other => self.visit_expr(other),
            }
        }
    }

    fn visit_expr_closure(&mut self, c: &'ast syn::ExprClosure) {
        self.around(None, |u| visit::visit_expr_closure(u, c));
    }

    fn visit_expr_for_loop(&mut self, l: &'ast syn::ExprForLoop) {
        self.visit_expr(&l.expr);
        let driver = self.iterated(&l.expr);
        self.around(driver, |u| u.visit_block(&l.body));
    }

    fn visit_expr_while(&mut self, l: &'ast syn::ExprWhile) {
        let driver = match &*l.cond {
            Expr::Let(e) => self.receive(&e.expr),
            _ => None,
        };
        self.around(None, |u| u.visit_expr(&l.cond));
        self.around(driver, |u| u.visit_block(&l.body));
    }

    fn visit_expr_loop(&mut self, l: &'ast syn::ExprLoop) {
        // Driven from the first top-level statement that receives from a
        // paced channel: every later statement of an iteration runs after it.
        let stmts = &l.body.stmts;
        let first = stmts.iter().position(|s| {
            let e = match s {
                syn::Stmt::Local(syn::Local {
                    init: Some(init), ..
                }) if init.diverge.is_none() => &*init.expr,
                syn::Stmt::Expr(e, Some(_)) => e,
                _ => return false,
            };
            self.receive(e).is_some()
        });
        let split = first.map_or(stmts.len(), |i| i + 1);
        let driver = first.and_then(|i| match &stmts[i] {
            syn::Stmt::Local(l) => self.receive(&l.init.as_ref()?.expr),
            syn::Stmt::Expr(e, _) => self.receive(e),
            _ => None,
        });
        self.around(None, |u| {
            stmts[..split].iter().for_each(|s| u.visit_stmt(s))
        });
        self.around(driver, |u| {
            stmts[split..].iter().for_each(|s| u.visit_stmt(s))
        });
    }

    // Macro bodies are not parsed: a mention there counts as another use.
    fn visit_macro(&mut self, m: &'ast syn::Macro) {
        let mentions = m
            .tokens
            .clone()
            .into_iter()
            .any(|t| mentions(&t, &self.name));
        self.others += u32::from(mentions);
    }
}
