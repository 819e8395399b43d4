//! `unbounded-channel`: a channel with no capacity limit
//! (`std::sync::mpsc::channel()`, `crossbeam`/`flume`/`async_channel`
//! `unbounded()`, tokio `unbounded_channel()`, futures `mpsc::unbounded()`):
//! when the receiver lags, queued messages grow without bound. Bounded
//! constructors take a capacity (tokio's `mpsc::channel(n)`), so a `channel`
//! call with arguments is not flagged, and neither is `oneshot::channel()`.
//! Nor is a channel whose sender, bound by `let (tx, rx) = ..`, is used
//! once, to `send` outside any loop or closure (a closure passed to
//! `spawn*` runs once): it carries one message, a oneshot in effect.
//! Nor is one whose sender's only use is to be handed to a debouncer (a
//! call whose name says so: `new_debouncer(timeout, tx)`), which sends at
//! most one batch per period however many events come in.
//!
//! Nor is a request–reply channel, whose queue holds at most one message per
//! waiting caller: every send on it carries a reply sender made just before
//! (`let (reply, wait) = oneshot::channel()` in the sending fn), and the
//! sending fn then waits for the reply (`wait.await`, `wait.recv()`,
//! `wait.blocking_recv()`). The sender may be used in its own fn or stored
//! in a private field of a struct of the file (`S { tx }`, `S { tx: Some(tx) }`),
//! which only this module can reach; every use of a field of that name in
//! the file must then be such a send, or a statement that drops the sender
//! (`self.tx.take();`). Callers that stop waiting (a timeout) can leave
//! their request queued; the rule cannot see that.

mod request_reply;

use super::{Hit, Rule, RuleInfo};
use crate::source::{call_span, SourceFile};
use request_reply::Scan;
use std::cell::OnceCell;
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

const SENDS: &[&str] = &["send", "try_send", "unbounded_send", "send_blocking"];

fn check(file: &SourceFile, out: &mut Vec<Hit>) {
    Calls {
        file,
        out,
        ast: &file.ast,
        scan: OnceCell::new(),
        once: Vec::new(),
    }
    .visit_file(&file.ast);
}

struct Calls<'a, 'f, 'ast> {
    file: &'a SourceFile<'f>,
    out: &'a mut Vec<Hit>,
    ast: &'ast syn::File,
    /// Scanned only for files that make an unbounded channel.
    scan: OnceCell<Scan<'ast>>,
    /// Channel calls whose sender carries one message, only what a
    /// debouncer lets through, or only requests whose senders wait for the
    /// reply.
    once: Vec<&'ast syn::ExprCall>,
}

impl<'ast> Visit<'ast> for Calls<'_, '_, 'ast> {
    fn visit_block(&mut self, b: &'ast syn::Block) {
        for (i, stmt) in b.stmts.iter().enumerate() {
            let syn::Stmt::Local(l) = stmt else { continue };
            let (Some(sender), Some(init)) = (sender(&l.pat), &l.init) else {
                continue;
            };
            let Expr::Call(c) = &*init.expr else { continue };
            if self.unbounded(c).is_some() {
                let mut uses = Uses {
                    name: sender.clone(),
                    depth: 0,
                    sends: 0,
                    debounced: 0,
                    others: 0,
                };
                b.stmts[i + 1..].iter().for_each(|s| uses.visit_stmt(s));
                if uses.sends + uses.debounced == 1 && uses.others == 0
                    || self.request_reply(&sender, &b.stmts[i + 1..])
                {
                    self.once.push(c);
                }
            }
        }
        visit::visit_block(self, b);
    }

    fn visit_expr_call(&mut self, c: &'ast syn::ExprCall) {
        let once = self.once.iter().any(|o| std::ptr::eq(*o, c));
        if let Some(name) = self.unbounded(c).filter(|_| !once) {
            let msg = format!("`{name}()` creates an unbounded channel");
            self.out.push(self.file.hit(&INFO, call_span(c), msg));
        }
        visit::visit_expr_call(self, c);
    }
}

impl<'ast> Calls<'_, '_, 'ast> {
    /// The callee's last two segments, if `c` makes an unbounded channel.
    fn unbounded(&self, c: &syn::ExprCall) -> Option<String> {
        let path = self.file.callee(c).filter(|_| c.args.is_empty())?;
        let last = path.last().map(String::as_str).unwrap_or("");
        let parent = path.len().checked_sub(2).map(|i| path[i].as_str());
        let unbounded = match last {
            "unbounded" | "unbounded_channel" => true,
            "channel" => parent == Some("mpsc"),
            _ => false,
        };
        unbounded.then(|| path[path.len().saturating_sub(2)..].join("::"))
    }

    /// Is every message sent through `sender` (used in `rest`) a request
    /// whose sender waits for the reply? See the module doc.
    fn request_reply(&self, sender: &str, rest: &'ast [syn::Stmt]) -> bool {
        let scan = self.scan.get_or_init(|| Scan::of(self.ast));
        request_reply::replied_only(scan, sender, rest)
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

/// Counts a sender's uses: `send`s run once, hand-overs to a debouncer
/// (outside loops), and anything else.
struct Uses {
    name: String,
    /// Loops and closures around the current expression.
    depth: u32,
    sends: u32,
    debounced: u32,
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
        let callee = match &*c.func {
            Expr::Path(p) => p.path.segments.last().map(|s| s.ident.to_string()),
            _ => None,
        };
        let spawn = callee.as_ref().is_some_and(|n| n.starts_with("spawn"));
        let debouncer = callee
            .as_ref()
            .is_some_and(|n| n.to_lowercase().contains("debounce"));
        self.visit_expr(&c.func);
        for arg in &c.args {
            match arg {
                Expr::Closure(cl) if spawn => self.visit_expr(&cl.body),
                a if debouncer && self.depth == 0 && self.is_sender(a) => self.debounced += 1,
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
