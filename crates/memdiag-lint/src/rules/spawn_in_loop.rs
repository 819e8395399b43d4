//! `spawn-in-loop`: `tokio::spawn`/`thread::spawn` (and `task::spawn*`,
//! `async_std`/`smol` spawns) called in a loop as a statement whose handle
//! is dropped, in a fn with no sign of a shutdown path (no identifier
//! mentioning `shutdown`, `cancel`, `abort`, `join`, `JoinSet`, `TaskTracker`
//! or `stop`). Each iteration adds a task nobody can wait for or stop.

use super::{Hit, Rule, RuleInfo};
use crate::ctx::walk_exprs;
use crate::source::SourceFile;
use proc_macro2::{TokenStream, TokenTree};
use quote::ToTokens;
use std::collections::HashSet;
use syn::spanned::Spanned;
use syn::visit::{self, Visit};
use syn::Expr;

static INFO: RuleInfo = RuleInfo {
    id: "spawn-in-loop",
    summary: "task spawned in a loop with its handle dropped and no shutdown path",
    help: "keep the handles (`JoinSet`, `Vec<JoinHandle>`) and join or abort them, or give the tasks a shutdown signal (`CancellationToken`, a closed channel)",
};

pub(crate) const RULE: Rule = Rule {
    info: &INFO,
    check,
    confirm: None,
};

const SPAWNERS: &[&str] = &["tokio", "thread", "task", "async_std", "smol"];
const SHUTDOWN_WORDS: &[&str] = &["shutdown", "cancel", "abort", "join", "tracker", "stop"];

fn check(file: &SourceFile, out: &mut Vec<Hit>) {
    let mut discarded = Discarded(HashSet::new());
    discarded.visit_file(&file.ast);
    let mut sites = Vec::new();
    walk_exprs(&file.ast, &mut |e, ctx| {
        let Expr::Call(c) = e else { return };
        let spawner = file.callee(c).filter(|p| {
            p.len() >= 2
                && p[p.len() - 1].starts_with("spawn")
                && SPAWNERS.contains(&p[p.len() - 2].as_str())
        });
        if let Some(p) =
            spawner.filter(|_| ctx.loop_depth > 0 && discarded.0.contains(&(e as *const Expr)))
        {
            sites.push((p[p.len() - 2..].join("::"), e.span()));
        }
    });
    if sites.is_empty() {
        return;
    }
    let mut fns = ShutdownFns(Vec::new());
    fns.visit_file(&file.ast);
    for (what, span) in sites {
        let line = span.start().line;
        if !fns
            .0
            .iter()
            .any(|(lines, stop)| *stop && lines.contains(&line))
        {
            let msg = format!(
                "`{what}` in a loop drops the task's handle, and nothing shuts the tasks down"
            );
            out.push(file.hit(&INFO, span, msg));
        }
    }
}

/// Expressions whose value is thrown away: `expr;` and `let _ = expr;`.
struct Discarded(HashSet<*const Expr>);

impl<'ast> Visit<'ast> for Discarded {
    fn visit_stmt(&mut self, s: &'ast syn::Stmt) {
        match s {
            syn::Stmt::Expr(e, Some(_)) => {
                self.0.insert(e as *const Expr);
            }
            syn::Stmt::Local(l) if matches!(l.pat, syn::Pat::Wild(_)) => {
                if let Some(init) = &l.init {
                    self.0.insert(&*init.expr as *const Expr);
                }
            }
            _ => {}
        }
        visit::visit_stmt(self, s);
    }
}

/// Line range of every fn, and whether its body mentions a shutdown path.
struct ShutdownFns(Vec<(std::ops::RangeInclusive<usize>, bool)>);

impl ShutdownFns {
    fn add(&mut self, span: proc_macro2::Span, body: TokenStream) {
        self.0
            .push((span.start().line..=span.end().line, mentions_shutdown(body)));
    }
}

impl<'ast> Visit<'ast> for ShutdownFns {
    fn visit_item_fn(&mut self, f: &'ast syn::ItemFn) {
        self.add(f.span(), f.block.to_token_stream());
        visit::visit_item_fn(self, f);
    }

    fn visit_impl_item_fn(&mut self, f: &'ast syn::ImplItemFn) {
        self.add(f.span(), f.block.to_token_stream());
        visit::visit_impl_item_fn(self, f);
    }
}

fn mentions_shutdown(tokens: TokenStream) -> bool {
    tokens.into_iter().any(|t| match t {
        TokenTree::Ident(i) => {
            let s = i.to_string().to_lowercase();
            SHUTDOWN_WORDS.iter().any(|w| s.contains(w))
        }
        TokenTree::Group(g) => mentions_shutdown(g.stream()),
        _ => false,
    })
}
