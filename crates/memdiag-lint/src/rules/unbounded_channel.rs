//! `unbounded-channel`: a channel with no capacity limit
//! (`std::sync::mpsc::channel()`, `crossbeam`/`flume`/`async_channel`
//! `unbounded()`, tokio `unbounded_channel()`, futures `mpsc::unbounded()`):
//! when the receiver lags, queued messages grow without bound. Bounded
//! constructors take a capacity (tokio's `mpsc::channel(n)`), so a `channel`
//! call with arguments is not flagged, and neither is `oneshot::channel()`.
//! Nor is a channel whose sender, bound by `let (tx, rx) = ..`, is used
//! once, to `send` outside any loop or closure (a closure passed to
//! `spawn*` runs once): it carries one message, a oneshot in effect.

use super::{Hit, Rule, RuleInfo};
use crate::source::{call_span, SourceFile};
use syn::visit::{self, Visit};
use syn::Expr;

static INFO: RuleInfo = RuleInfo {
    id: "unbounded-channel",
    summary: "unbounded channel: a lagging receiver lets the queue grow without limit",
    help: "use a bounded channel (`sync_channel(n)`, `bounded(n)`, tokio `mpsc::channel(n)`) so senders wait or fail when the receiver lags",
};

pub(crate) const RULE: Rule = Rule {
    info: &INFO,
    check,
    confirm: None,
};

fn check(file: &SourceFile, out: &mut Vec<Hit>) {
    Calls {
        file,
        out,
        once: Vec::new(),
    }
    .visit_file(&file.ast);
}

struct Calls<'a, 'f, 'ast> {
    file: &'a SourceFile<'f>,
    out: &'a mut Vec<Hit>,
    /// Channel calls whose sender carries one message.
    once: Vec<&'ast syn::ExprCall>,
}

impl<'ast> Visit<'ast> for Calls<'_, '_, 'ast> {
    fn visit_block(&mut self, b: &'ast syn::Block) {
        for (i, stmt) in b.stmts.iter().enumerate() {
            let syn::Stmt::Local(l) = stmt else { continue };
            let (Some(sender), Some(init)) = (sender(&l.pat), &l.init) else {
                continue;
            };
            if let Expr::Call(c) = &*init.expr {
                let mut uses = Uses {
                    name: sender,
                    depth: 0,
                    sends: 0,
                    others: 0,
                };
                b.stmts[i + 1..].iter().for_each(|s| uses.visit_stmt(s));
                if uses.sends == 1 && uses.others == 0 {
                    self.once.push(c);
                }
            }
        }
        visit::visit_block(self, b);
    }

    fn visit_expr_call(&mut self, c: &'ast syn::ExprCall) {
        let once = self.once.iter().any(|o| std::ptr::eq(*o, c));
        if let Some(path) = self.file.callee(c).filter(|_| c.args.is_empty() && !once) {
            let last = path.last().map(String::as_str).unwrap_or("");
            let parent = path.len().checked_sub(2).map(|i| path[i].as_str());
            let unbounded = match last {
                "unbounded" | "unbounded_channel" => true,
                "channel" => parent == Some("mpsc"),
                _ => false,
            };
            if unbounded {
                let msg = format!(
                    "`{}()` creates an unbounded channel",
                    path[path.len().saturating_sub(2)..].join("::")
                );
                self.out.push(self.file.hit(&INFO, call_span(c), msg));
            }
        }
        visit::visit_expr_call(self, c);
    }
}

/// `tx` of `let (tx, rx)`.
fn sender(pat: &syn::Pat) -> Option<String> {
    let pat = match pat {
        syn::Pat::Type(t) => &*t.pat,
        p => p,
    };
    match pat {
        syn::Pat::Tuple(t) => match t.elems.first() {
            Some(syn::Pat::Ident(i)) => Some(i.ident.to_string()),
            _ => None,
        },
        _ => None,
    }
}

/// Counts a sender's uses: `send`s run once, and anything else.
struct Uses {
    name: String,
    /// Loops and closures around the current expression.
    depth: u32,
    sends: u32,
    others: u32,
}

impl Uses {
    fn is_sender(&self, e: &Expr) -> bool {
        matches!(e, Expr::Path(p) if p.path.is_ident(&self.name))
    }

    fn repeated(&mut self, body: impl FnOnce(&mut Self)) {
        self.depth += 1;
        body(self);
        self.depth -= 1;
    }
}

impl<'ast> Visit<'ast> for Uses {
    fn visit_expr_method_call(&mut self, m: &'ast syn::ExprMethodCall) {
        if !self.is_sender(&m.receiver) {
            return visit::visit_expr_method_call(self, m);
        }
        let send = matches!(
            m.method.to_string().as_str(),
            "send" | "try_send" | "unbounded_send" | "send_blocking"
        );
        if send && self.depth == 0 {
            self.sends += 1;
        } else {
            self.others += 1;
        }
        m.args.iter().for_each(|a| self.visit_expr(a));
    }

    fn visit_expr_path(&mut self, p: &'ast syn::ExprPath) {
        self.others += u32::from(p.path.is_ident(&self.name));
    }

    fn visit_expr_call(&mut self, c: &'ast syn::ExprCall) {
        let spawn = matches!(&*c.func, Expr::Path(p) if p.path.segments.last()
            .is_some_and(|s| s.ident.to_string().starts_with("spawn")));
        self.visit_expr(&c.func);
        for arg in &c.args {
            match arg {
                Expr::Closure(cl) if spawn => self.visit_expr(&cl.body),
                other => self.visit_expr(other),
            }
        }
    }

    fn visit_expr_closure(&mut self, c: &'ast syn::ExprClosure) {
        self.repeated(|u| visit::visit_expr_closure(u, c));
    }

    fn visit_expr_for_loop(&mut self, l: &'ast syn::ExprForLoop) {
        self.visit_expr(&l.expr);
        self.repeated(|u| u.visit_block(&l.body));
    }

    fn visit_expr_while(&mut self, l: &'ast syn::ExprWhile) {
        self.repeated(|u| visit::visit_expr_while(u, l));
    }

    fn visit_expr_loop(&mut self, l: &'ast syn::ExprLoop) {
        self.repeated(|u| visit::visit_expr_loop(u, l));
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

fn mentions(t: &proc_macro2::TokenTree, name: &str) -> bool {
    match t {
        proc_macro2::TokenTree::Ident(i) => i == name,
        proc_macro2::TokenTree::Group(g) => g.stream().into_iter().any(|t| mentions(&t, name)),
        _ => false,
    }
}
