//! `unbounded-channel`: a channel with no capacity limit
//! (`std::sync::mpsc::channel()`, `crossbeam`/`flume`/`async_channel`
//! `unbounded()`, tokio `unbounded_channel()`, futures `mpsc::unbounded()`):
//! when the receiver lags, queued messages grow without bound. Bounded
//! constructors take a capacity (tokio's `mpsc::channel(n)`), so a `channel`
//! call with arguments is not flagged, and neither is `oneshot::channel()`.
//! Nor is a channel whose sender, bound by `let (tx, rx) = ..`, is used
//! only to `send`, every send outside any loop or closure (a closure passed
//! to `spawn*(..)` or `.spawn*(..)` runs once): it carries at most one
//! message per send site (a oneshot, a start-up handshake with an error
//! path).
//! Nor is one whose sender's only use is to be handed to a debouncer (a
//! call whose name says so: `new_debouncer(timeout, tx)`), which sends at
//! most one batch per period however many events come in, directly or
//! through a fn of the file (`f(tx)`, `Self::f(&tx)`, named once in the
//! file) whose parameter is itself used only so, outside loops.
//!
//! Nor is a forwarder of such a paced channel: one whose every send sits in
//! a loop driven by receiving from the receiver of an earlier channel of the
//! same block that is not flagged for one of the reasons above (one message,
//! a debouncer, or itself such a forwarder): `for x in rx`, `while let
//! Ok(x) = rx.recv()`, `rx.recv().await`, or `loop { let x = rx.recv()?; .. }`
//! with the sends after the receive, and not in a nested loop or closure.
//! It sends at most once per message of its source, so at most as fast.
//! A bounded or request–reply source does not count: its bound limits its
//! own queue, not its rate, and the forwarder drains it at once whatever
//! its own receiver does. Nor does a flagged source. The receiver is
//! followed into fns of the file like the sender (`Self::forward(&rx,
//! &tx)`), and must be bound once in its block (not in the fn it goes to).
//!
//! Nor is a channel with one end dropped at once (`let (tx, _)`, `let (_,
//! rx)`), nor a reply channel whose receiver is used once, to receive in the
//! block's last statement (also an `if let`/`match` on the receive whose
//! branches do not loop), or in the one before a tail like `Ok(())`: the
//! first message ends the block and the channel.
//!
//! Nor is a channel whose sender is only moved into a field of a struct
//! of the file that is not `Clone`, when every use of that field in the file
//! is a send from the struct's `Drop`, outside loops or right before a
//! `break` (see `drop_sends`): one value drops once. Nor one parked in a
//! private `Option` field (`self.f = Some(tx)`) that every use in the file
//! takes out to drop it or to send once (see `taken_once`).
//!
//! Nor is a request–reply channel, whose queue holds at most one message per
//! waiting caller: every send on it carries a reply sender made just before
//! (`let (reply, wait) = oneshot::channel()` in the sending fn), and the
//! sending fn then waits for the reply (`wait.await`, `wait.recv()`,
//! `wait.blocking_recv()`). The sender may be used in its own fn or stored
//! in a private field of a struct of the file (`S { tx }`, `S { tx: Some(tx) }`),
//! which only this module can reach; every use of a field of that name in
//! the file must then be such a send, or a statement that drops the sender
//! (`self.tx.take();`). The sender is followed through `Option` and tuple
//! plumbing (see `request_reply`): `let (a, tx) = if .. { (None, None) }
//! else { .. (Some(a), Some(tx)) }`, `match (self.a.as_ref(),
//! self.tx.as_ref()) { (Some(a), Some(tx)) => .. }`, `if let Some(tx) =
//! &self.tx`. Callers that stop waiting (a timeout) can leave their request
//! queued; the rule cannot see that.

mod drop_sends;
mod request_reply;
mod sender_uses;
mod taken_once;

use super::{Hit, Rule, RuleInfo};
use crate::source::{call_span, for_each_ident, SourceFile};
use request_reply::Scan;
use sender_uses::{bindings, Fns, Uses};
use std::cell::OnceCell;
use std::collections::HashSet;
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
        fns: OnceCell::new(),
        body: None,
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
    fns: OnceCell<Fns<'ast>>,
    /// The body of the fn being visited.
    body: Option<&'ast syn::Block>,
    /// Channel calls whose sender carries one message, only what a
    /// debouncer or a paced source lets through, or only requests whose
    /// senders wait for the reply.
    once: Vec<&'ast syn::ExprCall>,
}

impl<'ast> Visit<'ast> for Calls<'_, '_, 'ast> {
    fn visit_item_fn(&mut self, f: &'ast syn::ItemFn) {
        self.wrapper(&f.sig, &f.block);
        let outer = self.body.replace(&f.block);
        visit::visit_item_fn(self, f);
        self.body = outer;
    }

    fn visit_impl_item_fn(&mut self, f: &'ast syn::ImplItemFn) {
        self.wrapper(&f.sig, &f.block);
        let outer = self.body.replace(&f.block);
        visit::visit_impl_item_fn(self, f);
        self.body = outer;
    }

    fn visit_block(&mut self, b: &'ast syn::Block) {
        // Receivers of this block's paced channels (bound once in it).
        let mut paced = HashSet::new();
        for (i, stmt) in b.stmts.iter().enumerate() {
            let syn::Stmt::Local(l) = stmt else { continue };
            let Some(Expr::Call(c)) = l.init.as_ref().map(|init| &*init.expr) else {
                continue;
            };
            if self.unbounded(c).is_none() {
                continue;
            }
            if discarded_end(&l.pat) {
                self.once.push(c);
                continue;
            }
            let Some((sender, receiver)) = ends(&l.pat) else {
                continue;
            };
            if receiver
                .as_ref()
                .is_some_and(|r| received_once_at_end(b, i, r))
            {
                self.once.push(c);
                continue;
            }
            let fns = self.fns.get_or_init(|| Fns::of(self.ast));
            let mut uses = Uses::new(sender.clone(), fns, paced.clone(), 0);
            b.stmts[i + 1..].iter().for_each(|s| uses.visit_stmt(s));
            if uses.quiet() {
                self.once.push(c);
                if let Some(r) = receiver.filter(|r| bindings(b, r) == 1) {
                    paced.insert(r);
                }
            } else if self.request_reply(&sender)
                || drop_sends::sends_only_on_drop(self.ast, &b.stmts[i + 1..], &sender)
                || taken_once::taken_once(self.ast, &b.stmts[i + 1..], &sender)
            {
                self.once.push(c);
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

    /// A crate's own constructor (`fn unbounded<T>() -> (Sender<T>,
    /// Receiver<T>) { return crossbeam_channel::unbounded(); }`) queues
    /// nothing itself: its calls, which have a constructor's name, are the
    /// channels, and each is checked where it is made.
    fn wrapper(&mut self, sig: &syn::Signature, block: &'ast syn::Block) {
        let named = matches!(
            sig.ident.to_string().as_str(),
            "unbounded" | "unbounded_channel" | "channel"
        );
        if !named || !sig.inputs.is_empty() {
            return;
        }
        let returned: Option<Vec<&'ast syn::ExprCall>> = block
            .stmts
            .iter()
            .map(|s| match s {
                syn::Stmt::Expr(Expr::Return(r), _) => match r.expr.as_deref() {
                    Some(Expr::Call(c)) => Some(c),
                    _ => None,
                },
                syn::Stmt::Expr(Expr::Call(c), None) => Some(c),
                _ => None,
            })
            .collect();
        let returned = returned.unwrap_or_default();
        if returned.iter().all(|c| self.unbounded(c).is_some()) {
            self.once.extend(returned);
        }
    }

    /// Is every message sent through `sender` (made in the current fn) a
    /// request whose sender waits for the reply? See the module doc.
    fn request_reply(&self, sender: &str) -> bool {
        let Some(body) = self.body else { return false };
        let scan = self.scan.get_or_init(|| Scan::of(self.ast));
        request_reply::replied_only(scan, sender, body)
    }
}

/// `tx` and `rx` of `let (tx, rx)`.
fn ends(pat: &syn::Pat) -> Option<(String, Option<String>)> {
    let pat = match pat {
        syn::Pat::Type(t) => &*t.pat,
        p => p,
    };
    let syn::Pat::Tuple(t) = pat else { return None };
    let ident = |p: Option<&syn::Pat>| match p {
        Some(syn::Pat::Ident(i)) if i.subpat.is_none() => Some(i.ident.to_string()),
        _ => None,
    };
    let sender = ident(t.elems.first())?;
    Some((sender, ident(t.elems.iter().nth(1))))
}

/// `let (tx, _) = ..` or `let (_, rx) = ..`: one end is dropped at once, so
/// every send fails, or none can be made, and nothing is queued.
fn discarded_end(pat: &syn::Pat) -> bool {
    let pat = match pat {
        syn::Pat::Type(t) => &*t.pat,
        p => p,
    };
    matches!(pat, syn::Pat::Tuple(t) if t.elems.len() == 2
        && t.elems.iter().any(|e| matches!(e, syn::Pat::Wild(_))))
}

/// Is the receiver `rx`, bound by statement `i` of `b`, used only once after
/// it, to receive one message at the block's end: in its last statement
/// (the tail, a `return`, an expression statement or a `let`), or in the
/// statement before a tail that only builds the result (`Ok(())`)? The first
/// message then ends the channel: the block returns and drops the receiver,
/// and with it whatever else was queued.
fn received_once_at_end(b: &syn::Block, i: usize, rx: &str) -> bool {
    let rest = &b.stmts[i + 1..];
    if uses_in(rest, rx) != 1 {
        return false;
    }
    match rest {
        [.., before, syn::Stmt::Expr(tail, None)] if result_only(tail) => receiving(before, rx),
        [.., last] => receiving(last, rx),
        [] => false,
    }
}

fn receiving(s: &syn::Stmt, rx: &str) -> bool {
    match s {
        syn::Stmt::Expr(Expr::Return(r), _) => {
            r.expr.as_deref().is_some_and(|e| receives_last(e, rx))
        }
        syn::Stmt::Expr(e, _) => receives_last(e, rx),
        syn::Stmt::Local(l) => l.init.as_ref().is_some_and(|init| receives(&init.expr, rx)),
        _ => false,
    }
}

/// Literals, paths, tuples and variant or struct constructors (`Ok(())`,
/// `Some(x)`): an expression that returns at once.
fn result_only(e: &Expr) -> bool {
    match e {
        Expr::Lit(_) | Expr::Path(_) => true,
        Expr::Tuple(t) => t.elems.iter().all(result_only),
        Expr::Paren(p) => result_only(&p.expr),
        Expr::Call(c) => {
            matches!(&*c.func, Expr::Path(p) if p.path.segments.last()
                .is_some_and(|s| s.ident.to_string().starts_with(char::is_uppercase)))
                && c.args.iter().all(result_only)
        }
        _ => false,
    }
}

/// `rx.recv()`, or an `if let`/`match` on it whose branches do not loop:
/// the block ends soon after the one message.
fn receives_last(e: &Expr, rx: &str) -> bool {
    match e {
        Expr::If(i) => match &*i.cond {
            Expr::Let(l) => receives(&l.expr, rx) && !loops(e),
            _ => false,
        },
        Expr::Match(m) => receives(&m.expr, rx) && !loops(e),
        e => receives(e, rx),
    }
}

/// Does `e` hold a `for`/`while`/`loop`?
fn loops(e: &Expr) -> bool {
    struct V(bool);
    impl<'ast> Visit<'ast> for V {
        fn visit_expr(&mut self, e: &'ast Expr) {
            self.0 |= matches!(e, Expr::ForLoop(_) | Expr::While(_) | Expr::Loop(_));
            visit::visit_expr(self, e);
        }
    }
    let mut v = V(false);
    v.visit_expr(e);
    v.0
}

/// `rx.recv()`, `rx.recv_timeout(..)`, `rx.blocking_recv()`, `rx.recv().await`,
/// `rx.await`, through `?`, `unwrap`, `expect`, `map_err`, `ok`.
fn receives(e: &Expr, rx: &str) -> bool {
    let is_rx = |e: &Expr| matches!(e, Expr::Path(p) if p.path.is_ident(rx));
    match e {
        Expr::Try(t) => receives(&t.expr, rx),
        Expr::Await(a) => is_rx(&a.base) || receives(&a.base, rx),
        Expr::Paren(p) => receives(&p.expr, rx),
        Expr::MethodCall(m) => match m.method.to_string().as_str() {
            "unwrap" | "expect" | "map_err" | "ok" => receives(&m.receiver, rx),
            "recv" | "recv_timeout" | "blocking_recv" => is_rx(&m.receiver),
            _ => false,
        },
        _ => false,
    }
}

/// How many times `name` appears in `stmts`, macro arguments included.
fn uses_in(stmts: &[syn::Stmt], name: &str) -> usize {
    use quote::ToTokens;
    stmts
        .iter()
        .flat_map(|s| s.to_token_stream())
        .map(|t| count_mentions(&t, name))
        .sum()
}

fn count_mentions(t: &proc_macro2::TokenTree, name: &str) -> usize {
    let mut n = 0;
    for_each_ident(t.clone().into(), &mut |i| n += usize::from(i == name));
    n
}

fn mentions(t: &proc_macro2::TokenTree, name: &str) -> bool {
    count_mentions(t, name) > 0
}
