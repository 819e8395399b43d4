//! The request–reply analysis of `unbounded-channel` (see the parent
//! module's doc): is every message sent through a channel a request whose
//! sending fn waits for the reply?
//!
//! Values are followed through `Option`/tuple plumbing, per fn and by name:
//! a value that carries the sender (`tx`, `Some(tx)`, `self.tx.as_ref()`,
//! `&self.tx`, through `?`, `unwrap`, `clone`, ..), alone or as an element of
//! a tuple, may be bound by a pattern (`let`, `if let`, `while let`, a
//! `match` arm, also from the arms and branch tails of a `match`/`if` that
//! initializes a `let`). The names it binds carry the sender too, and every
//! use of every carrier must be a replied send, more such plumbing, or (for
//! the channel's own sender) a store into a private field.

use super::{ends, mentions, SENDS};
use proc_macro2::LineColumn;
use quote::ToTokens;
use std::collections::{HashMap, HashSet};
use syn::spanned::Spanned;
use syn::visit::{self, Visit};
use syn::{Expr, Pat};

/// Identity of a `x` path or an `x.f` field expression in the syntax tree.
type Leaf = *const ();

/// Is every message sent through `sender`, made in the fn whose body is
/// `body`, a request whose sender waits for the reply?
pub(super) fn replied_only(scan: &Scan<'_>, sender: &str, body: &syn::Block) -> bool {
    let Some(facts) = scan.fns.get(&(body as *const syn::Block)) else {
        return false;
    };
    let set = facts.carriers(&Src::Local(sender.to_string()));
    let Some((sends, stores)) = facts.uses(&set) else {
        return false;
    };
    sends + stores.len() > 0
        && stores
            .iter()
            .all(|f| scan.private_fields.contains(f) && scan.field_replied_only(f))
}

/// What a value carries: a local, or a field of some struct (by name).
#[derive(Clone, PartialEq, Debug)]
enum Src {
    Local(String),
    Field(String),
}

/// Methods that keep the sender they are called on (or a reference to it).
const ADAPTERS: &[&str] = &["as_ref", "as_mut", "as_deref", "unwrap", "expect", "clone"];

fn leaf_of(e: &Expr) -> Option<(Src, Leaf)> {
    match e {
        Expr::Path(p) => p
            .path
            .get_ident()
            .map(|i| (Src::Local(i.to_string()), p as *const _ as Leaf)),
        Expr::Field(f) => match &f.member {
            syn::Member::Named(i) => Some((Src::Field(i.to_string()), f as *const _ as Leaf)),
            syn::Member::Unnamed(_) => None,
        },
        _ => None,
    }
}

fn is_some(c: &syn::ExprCall) -> bool {
    matches!(&*c.func, Expr::Path(p) if p.path.is_ident("Some")) && c.args.len() == 1
}

/// The sender a value carries, seen through `Some(..)`, `&`, `?`, parens
/// and [`ADAPTERS`].
fn carrier(e: &Expr) -> Option<(Src, Leaf)> {
    match e {
        Expr::Reference(r) => carrier(&r.expr),
        Expr::Paren(p) => carrier(&p.expr),
        Expr::Try(t) => carrier(&t.expr),
        Expr::MethodCall(m) if ADAPTERS.contains(&m.method.to_string().as_str()) => {
            carrier(&m.receiver)
        }
        Expr::Call(c) if is_some(c) => carrier(&c.args[0]),
        e => leaf_of(e),
    }
}

/// What each element of a value carries: one slot, or one per element of a
/// tuple expression.
fn slots(e: &Expr) -> Vec<Option<(Src, Leaf)>> {
    match e {
        Expr::Tuple(t) => t.elems.iter().map(carrier).collect(),
        Expr::Paren(p) => slots(&p.expr),
        e => vec![carrier(e)],
    }
}

/// The expressions whose value `e` evaluates to: the tails of the branches
/// of an `if`, the arms of a `match`, a block's tail.
fn values(e: &Expr) -> Vec<&Expr> {
    match e {
        Expr::If(i) => {
            let mut v = tail(&i.then_branch);
            if let Some((_, els)) = &i.else_branch {
                v.extend(values(els));
            }
            v
        }
        Expr::Match(m) => m.arms.iter().flat_map(|a| values(&a.body)).collect(),
        Expr::Block(b) => tail(&b.block),
        Expr::Paren(p) => values(&p.expr),
        e => vec![e],
    }
}

fn tail(b: &syn::Block) -> Vec<&Expr> {
    match b.stmts.last() {
        Some(syn::Stmt::Expr(e, None)) => values(e),
        _ => Vec::new(),
    }
}

/// What a receiver chain like `self.inner.tx.as_ref().unwrap()` starts from.
#[derive(Clone, PartialEq)]
enum Base {
    Local(String),
    Field(String),
    Other,
}

/// The base of a receiver chain, and its path or field expression.
fn base(e: &Expr) -> (Base, Option<Leaf>) {
    match e {
        Expr::MethodCall(m) => base(&m.receiver),
        Expr::Try(t) => base(&t.expr),
        Expr::Paren(p) => base(&p.expr),
        Expr::Reference(r) => base(&r.expr),
        e => match leaf_of(e) {
            Some((Src::Local(n), l)) => (Base::Local(n), Some(l)),
            Some((Src::Field(f), l)) => (Base::Field(f), Some(l)),
            None => (Base::Other, None),
        },
    }
}

fn mentions_in(tokens: &impl ToTokens, name: &str) -> bool {
    tokens
        .to_token_stream()
        .into_iter()
        .any(|t| mentions(&t, name))
}

/// Is there a send in the method chain `e` (`a.send(x).expect("..")`)?
fn sends_in_chain(e: &Expr) -> bool {
    match e {
        Expr::MethodCall(m) => {
            SENDS.contains(&m.method.to_string().as_str()) || sends_in_chain(&m.receiver)
        }
        Expr::Try(t) => sends_in_chain(&t.expr),
        _ => false,
    }
}

/// A send call, and whether it is a request whose fn waits for the reply.
struct Send {
    leaf: Option<Leaf>,
    replied: bool,
}

/// A pattern binding `name` to a value that carries `src` (at `leaf`).
struct Bind {
    name: String,
    src: Src,
    leaf: Leaf,
}

/// What one fn (with its closures) does with senders.
#[derive(Default)]
struct FnFacts<'ast> {
    sends: Vec<Send>,
    binds: Vec<Bind>,
    /// Leaves bound by a pattern this analysis does not follow.
    escapes: HashSet<Leaf>,
    /// `x` paths, by name.
    paths: Vec<(String, Leaf)>,
    /// `x.f` accesses and `S { f, .. }` patterns (whose leaf is never ok).
    fields: Vec<(String, Leaf)>,
    /// Field expressions at the base of a statement that drops the value
    /// (`self.f.take();`).
    drops: HashSet<Leaf>,
    /// `S { f: x }`, `S { f }`, `S { f: Some(x) }`: field, stored path.
    stores: Vec<(String, Leaf)>,
    macros: Vec<&'ast syn::Macro>,
}

impl FnFacts<'_> {
    /// The locals of this fn that carry `seed` (a local is its own).
    fn carriers(&self, seed: &Src) -> HashSet<String> {
        let mut set = HashSet::new();
        if let Src::Local(n) = seed {
            set.insert(n.clone());
        }
        loop {
            let before = set.len();
            for b in &self.binds {
                let carried = b.src == *seed || matches!(&b.src, Src::Local(n) if set.contains(n));
                if carried {
                    set.insert(b.name.clone());
                }
            }
            if set.len() == before {
                return set;
            }
        }
    }

    /// Is `leaf` bound by patterns only, each of them followed?
    fn plumbed(&self, leaf: Leaf) -> bool {
        !self.escapes.contains(&leaf) && self.binds.iter().any(|b| b.leaf == leaf)
    }

    /// If every use of the names in `set` is a replied send, plumbing or a
    /// store into a field: the number of sends and the fields stored into.
    fn uses(&self, set: &HashSet<String>) -> Option<(usize, Vec<String>)> {
        if self
            .macros
            .iter()
            .any(|m| set.iter().any(|n| mentions_in(&m.tokens, n)))
        {
            return None;
        }
        let mut sends = 0;
        let mut stores = Vec::new();
        for (_, leaf) in self.paths.iter().filter(|(n, _)| set.contains(n)) {
            if let Some(s) = self.sends.iter().find(|s| s.leaf == Some(*leaf)) {
                if !s.replied {
                    return None;
                }
                sends += 1;
            } else if let Some((f, _)) = self.stores.iter().find(|(_, l)| l == leaf) {
                stores.push(f.clone());
            } else if !self.plumbed(*leaf) {
                return None;
            }
        }
        Some((sends, stores))
    }

    /// If every access to field `f` in this fn is a replied send, drops the
    /// sender or is plumbing whose carriers are only used to send replied
    /// requests: the number of sends.
    fn field_uses(&self, f: &str) -> Option<usize> {
        let mut sends = 0;
        for (_, leaf) in self.fields.iter().filter(|(n, _)| n == f) {
            if let Some(s) = self.sends.iter().find(|s| s.leaf == Some(*leaf)) {
                if !s.replied {
                    return None;
                }
                sends += 1;
            } else if !self.drops.contains(leaf) && !self.plumbed(*leaf) {
                return None;
            }
        }
        let set = self.carriers(&Src::Field(f.to_string()));
        let (via, stores) = self.uses(&set)?;
        stores.is_empty().then_some(sends + via)
    }
}

/// File-wide facts for request–reply channels.
#[derive(Default)]
pub(super) struct Scan<'ast> {
    /// Facts of each fn, by its body; code outside any fn under null.
    fns: HashMap<*const syn::Block, FnFacts<'ast>>,
    /// Named fields without `pub` of the file's structs.
    private_fields: HashSet<String>,
    cur: FnFacts<'ast>,
    /// In the current fn: reply channels `(reply, wait, where)`, waits and
    /// sends (with where they are).
    pairs: Vec<(String, String, LineColumn)>,
    waits: Vec<(String, LineColumn)>,
    fn_sends: Vec<&'ast syn::ExprMethodCall>,
}

impl<'ast> Scan<'ast> {
    pub(super) fn of(ast: &'ast syn::File) -> Scan<'ast> {
        let mut scan = Scan::default();
        scan.visit_file(ast);
        scan.finish();
        let top = std::mem::take(&mut scan.cur);
        scan.fns.insert(std::ptr::null(), top);
        scan
    }

    /// Every access to field `f` in the file is a replied send, drops the
    /// sender or plumbs it into replied sends, and there is a send.
    fn field_replied_only(&self, f: &str) -> bool {
        let mut sends = 0;
        for facts in self.fns.values() {
            match facts.field_uses(f) {
                Some(n) => sends += n,
                None => return false,
            }
        }
        sends > 0
    }

    fn function(&mut self, block: &'ast syn::Block) {
        let outer = (
            std::mem::take(&mut self.cur),
            std::mem::take(&mut self.pairs),
            std::mem::take(&mut self.waits),
            std::mem::take(&mut self.fn_sends),
        );
        self.visit_block(block);
        self.finish();
        let facts = std::mem::take(&mut self.cur);
        self.fns.insert(block, facts);
        (self.cur, self.pairs, self.waits, self.fn_sends) = outer;
    }

    /// Judges the sends seen since the last call.
    fn finish(&mut self) {
        for call in std::mem::take(&mut self.fn_sends) {
            let at = call.span().start();
            let replied = self.pairs.iter().any(|(reply, wait, made)| {
                *made < at
                    && call.args.iter().any(|a| mentions_in(a, reply))
                    && self.waits.iter().any(|(w, when)| w == wait && *when > at)
            });
            let (_, leaf) = base(&call.receiver);
            self.cur.sends.push(Send { leaf, replied });
        }
    }

    fn wait(&mut self, e: &Expr, at: LineColumn) {
        if let Expr::Path(p) = e {
            if let Some(i) = p.path.get_ident() {
                self.waits.push((i.to_string(), at));
            }
        }
    }

    /// `pat` binds the value `e` evaluates to.
    fn bind(&mut self, pat: &Pat, e: &Expr) {
        for v in values(e) {
            let slots = slots(v);
            match pat {
                Pat::Tuple(t) if t.elems.len() == slots.len() && slots.len() > 1 => {
                    for (p, s) in t.elems.iter().zip(slots) {
                        self.bind_one(p, s);
                    }
                }
                // `_` binds nothing (and moves nothing).
                Pat::Wild(_) => {}
                _ if slots.len() == 1 => self.bind_one(pat, slots.into_iter().next().flatten()),
                _ => self
                    .cur
                    .escapes
                    .extend(slots.into_iter().flatten().map(|(_, l)| l)),
            }
        }
    }

    fn bind_one(&mut self, pat: &Pat, slot: Option<(Src, Leaf)>) {
        let Some((src, leaf)) = slot else { return };
        match pat {
            Pat::Type(t) => self.bind_one(&t.pat, Some((src, leaf))),
            Pat::Reference(r) => self.bind_one(&r.pat, Some((src, leaf))),
            Pat::Paren(p) => self.bind_one(&p.pat, Some((src, leaf))),
            Pat::TupleStruct(t) if t.path.is_ident("Some") && t.elems.len() == 1 => {
                self.bind_one(&t.elems[0], Some((src, leaf)));
            }
            Pat::Ident(i) if i.subpat.is_none() => self.cur.binds.push(Bind {
                name: i.ident.to_string(),
                src,
                leaf,
            }),
            Pat::Wild(_) => {}
            _ => {
                self.cur.escapes.insert(leaf);
            }
        }
    }
}

impl<'ast> Visit<'ast> for Scan<'ast> {
    fn visit_item_fn(&mut self, f: &'ast syn::ItemFn) {
        self.function(&f.block);
    }

    fn visit_impl_item_fn(&mut self, f: &'ast syn::ImplItemFn) {
        self.function(&f.block);
    }

    fn visit_item_struct(&mut self, s: &'ast syn::ItemStruct) {
        let private = s
            .fields
            .iter()
            .filter(|f| matches!(f.vis, syn::Visibility::Inherited));
        self.private_fields
            .extend(private.filter_map(|f| f.ident.as_ref().map(ToString::to_string)));
        visit::visit_item_struct(self, s);
    }

    fn visit_local(&mut self, l: &'ast syn::Local) {
        let channel = l.init.as_ref().is_some_and(|i| {
            matches!(&*i.expr, Expr::Call(c) if matches!(&*c.func, Expr::Path(p)
                if p.path.segments.last().is_some_and(|s| s.ident.to_string().ends_with("channel"))))
        });
        if let (true, Some((reply, Some(wait)))) = (channel, ends(&l.pat)) {
            self.pairs.push((reply, wait, l.span().start()));
        }
        if let Some(init) = &l.init {
            self.bind(&l.pat, &init.expr);
        }
        visit::visit_local(self, l);
    }

    fn visit_expr_let(&mut self, e: &'ast syn::ExprLet) {
        self.bind(&e.pat, &e.expr);
        visit::visit_expr_let(self, e);
    }

    fn visit_expr_match(&mut self, m: &'ast syn::ExprMatch) {
        for arm in &m.arms {
            self.bind(&arm.pat, &m.expr);
        }
        visit::visit_expr_match(self, m);
    }

    fn visit_expr_await(&mut self, a: &'ast syn::ExprAwait) {
        self.wait(&a.base, a.span().start());
        visit::visit_expr_await(self, a);
    }

    fn visit_expr_method_call(&mut self, m: &'ast syn::ExprMethodCall) {
        let method = m.method.to_string();
        if matches!(method.as_str(), "recv" | "blocking_recv") {
            self.wait(&m.receiver, m.span().start());
        }
        if SENDS.contains(&method.as_str()) {
            self.fn_sends.push(m);
        }
        visit::visit_expr_method_call(self, m);
    }

    fn visit_expr_path(&mut self, p: &'ast syn::ExprPath) {
        if let Some(i) = p.path.get_ident() {
            self.cur.paths.push((i.to_string(), p as *const _ as Leaf));
        }
        visit::visit_expr_path(self, p);
    }

    fn visit_expr_field(&mut self, f: &'ast syn::ExprField) {
        if let syn::Member::Named(i) = &f.member {
            self.cur.fields.push((i.to_string(), f as *const _ as Leaf));
        }
        visit::visit_expr_field(self, f);
    }

    fn visit_field_pat(&mut self, f: &'ast syn::FieldPat) {
        if let syn::Member::Named(i) = &f.member {
            self.cur.fields.push((i.to_string(), f as *const _ as Leaf));
        }
        visit::visit_field_pat(self, f);
    }

    fn visit_expr_struct(&mut self, s: &'ast syn::ExprStruct) {
        for fv in &s.fields {
            let stored = match &fv.expr {
                Expr::Call(c) if is_some(c) => &c.args[0],
                e => e,
            };
            if let (syn::Member::Named(f), Expr::Path(p)) = (&fv.member, stored) {
                if p.path.get_ident().is_some() {
                    self.cur.stores.push((f.to_string(), p as *const _ as Leaf));
                }
            }
        }
        visit::visit_expr_struct(self, s);
    }

    fn visit_macro(&mut self, m: &'ast syn::Macro) {
        self.cur.macros.push(m);
        visit::visit_macro(self, m);
    }

    fn visit_stmt(&mut self, s: &'ast syn::Stmt) {
        // `self.f.take();`: the value is dropped at the end of the statement.
        if let syn::Stmt::Expr(e @ Expr::MethodCall(_), Some(_)) = s {
            if let (false, (Base::Field(_), Some(leaf))) = (sends_in_chain(e), base(e)) {
                self.cur.drops.insert(leaf);
            }
        }
        visit::visit_stmt(self, s);
    }
}
