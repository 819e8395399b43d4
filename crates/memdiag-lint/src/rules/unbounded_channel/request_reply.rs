//! The request–reply analysis of `unbounded-channel` (see the parent
//! module's doc): is every message sent through a channel a request whose
//! sending fn waits for the reply?

use super::{mentions, SENDS};
use proc_macro2::LineColumn;
use quote::ToTokens;
use std::collections::{HashMap, HashSet};
use syn::spanned::Spanned;
use syn::visit::{self, Visit};
use syn::Expr;

/// Is every message sent through `sender` (used in `rest`) a request
/// whose sender waits for the reply?
pub(super) fn replied_only<'ast>(scan: &Scan<'ast>, sender: &str, rest: &'ast [syn::Stmt]) -> bool {
    let mut flow = Flow {
        name: sender,
        scan,
        sends: 0,
        fields: Vec::new(),
        others: 0,
    };
    rest.iter().for_each(|s| flow.visit_stmt(s));
    // Every use of the field is a replied send, or drops the sender.
    let field_sends = |f: &String| {
        let sends: Vec<&Send> = scan
            .sends
            .iter()
            .filter(|s| s.base == Base::Field(f.clone()))
            .collect();
        let drops = scan.field_drops.get(f).copied().unwrap_or(0);
        !sends.is_empty()
            && sends.iter().all(|s| s.replied)
            && scan.field_uses.get(f) == Some(&(sends.len() + drops))
    };
    flow.others == 0
        && flow.sends + flow.fields.len() > 0
        && flow
            .fields
            .iter()
            .all(|f| scan.private_fields.contains(f) && field_sends(f))
}

/// What a receiver chain like `self.inner.tx.as_ref().unwrap()` starts from.
#[derive(Clone, PartialEq)]
enum Base {
    Local(String),
    Field(String),
    Other,
}

fn base(e: &Expr) -> Base {
    match e {
        Expr::MethodCall(m) => base(&m.receiver),
        Expr::Try(t) => base(&t.expr),
        Expr::Paren(p) => base(&p.expr),
        Expr::Reference(r) => base(&r.expr),
        Expr::Path(p) => p
            .path
            .get_ident()
            .map_or(Base::Other, |i| Base::Local(i.to_string())),
        Expr::Field(f) => match &f.member {
            syn::Member::Named(i) => Base::Field(i.to_string()),
            syn::Member::Unnamed(_) => Base::Other,
        },
        _ => Base::Other,
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
struct Send<'ast> {
    call: &'ast syn::ExprMethodCall,
    base: Base,
    replied: bool,
}

/// File-wide facts for request–reply channels.
#[derive(Default)]
pub(super) struct Scan<'ast> {
    sends: Vec<Send<'ast>>,
    /// Named fields without `pub` of the file's structs.
    private_fields: HashSet<String>,
    /// Field name -> accesses (`x.f`, `S { f, .. }` patterns) in the file.
    field_uses: HashMap<String, usize>,
    /// Field name -> statements that drop its value (`self.f.take();`).
    field_drops: HashMap<String, usize>,
    /// In the current fn: reply channels `(reply, wait, where)` and waits.
    pairs: Vec<(String, String, LineColumn)>,
    waits: Vec<(String, LineColumn)>,
    fn_sends: Vec<&'ast syn::ExprMethodCall>,
}

impl<'ast> Scan<'ast> {
    pub(super) fn of(ast: &'ast syn::File) -> Scan<'ast> {
        let mut scan = Scan::default();
        scan.visit_file(ast);
        scan
    }

    fn function(&mut self, block: &'ast syn::Block) {
        let outer = (
            std::mem::take(&mut self.pairs),
            std::mem::take(&mut self.waits),
            std::mem::take(&mut self.fn_sends),
        );
        self.visit_block(block);
        for call in std::mem::take(&mut self.fn_sends) {
            let at = call.span().start();
            let replied = self.pairs.iter().any(|(reply, wait, made)| {
                *made < at
                    && call.args.iter().any(|a| mentions_in(a, reply))
                    && self.waits.iter().any(|(w, when)| w == wait && *when > at)
            });
            self.sends.push(Send {
                call,
                base: base(&call.receiver),
                replied,
            });
        }
        (self.pairs, self.waits, self.fn_sends) = outer;
    }

    fn wait(&mut self, e: &Expr, at: LineColumn) {
        if let Expr::Path(p) = e {
            if let Some(i) = p.path.get_ident() {
                self.waits.push((i.to_string(), at));
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
        if let (true, syn::Pat::Tuple(t)) = (channel, &l.pat) {
            if let [syn::Pat::Ident(reply), syn::Pat::Ident(wait)] =
                t.elems.iter().collect::<Vec<_>>()[..]
            {
                let made = l.span().start();
                self.pairs
                    .push((reply.ident.to_string(), wait.ident.to_string(), made));
            }
        }
        visit::visit_local(self, l);
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

    fn visit_expr_field(&mut self, f: &'ast syn::ExprField) {
        if let syn::Member::Named(i) = &f.member {
            *self.field_uses.entry(i.to_string()).or_default() += 1;
        }
        visit::visit_expr_field(self, f);
    }

    fn visit_field_pat(&mut self, f: &'ast syn::FieldPat) {
        if let syn::Member::Named(i) = &f.member {
            *self.field_uses.entry(i.to_string()).or_default() += 1;
        }
        visit::visit_field_pat(self, f);
    }

    fn visit_stmt(&mut self, s: &'ast syn::Stmt) {
        // `self.f.take();`: the value is dropped at the end of the statement.
        if let syn::Stmt::Expr(e @ Expr::MethodCall(_), Some(_)) = s {
            if let (false, Base::Field(f)) = (sends_in_chain(e), base(e)) {
                *self.field_drops.entry(f).or_default() += 1;
            }
        }
        visit::visit_stmt(self, s);
    }
}

/// Where a channel's sender goes after `let (tx, rx)`: sends on it, private
/// struct fields it is stored in, and any other use.
struct Flow<'a, 'ast> {
    name: &'a str,
    scan: &'a Scan<'ast>,
    sends: usize,
    fields: Vec<String>,
    others: usize,
}

impl<'ast> Visit<'ast> for Flow<'_, 'ast> {
    fn visit_expr_method_call(&mut self, m: &'ast syn::ExprMethodCall) {
        let send = self.scan.sends.iter().find(|s| std::ptr::eq(s.call, m));
        match send {
            Some(s) if s.base == Base::Local(self.name.to_string()) => {
                if s.replied {
                    self.sends += 1;
                } else {
                    self.others += 1;
                }
                m.args.iter().for_each(|a| self.visit_expr(a));
            }
            _ => visit::visit_expr_method_call(self, m),
        }
    }

    fn visit_expr_struct(&mut self, s: &'ast syn::ExprStruct) {
        for fv in &s.fields {
            let stored = match &fv.expr {
                Expr::Path(p) => p.path.is_ident(self.name),
                Expr::Call(c) => {
                    matches!(&*c.func, Expr::Path(p) if p.path.is_ident("Some"))
                        && matches!(&c.args.iter().collect::<Vec<_>>()[..], [Expr::Path(p)] if p.path.is_ident(self.name))
                }
                _ => false,
            };
            match (&fv.member, stored) {
                (syn::Member::Named(f), true) => self.fields.push(f.to_string()),
                _ => self.visit_expr(&fv.expr),
            }
        }
        if let Some(rest) = &s.rest {
            self.visit_expr(rest);
        }
    }

    fn visit_expr_path(&mut self, p: &'ast syn::ExprPath) {
        self.others += usize::from(p.path.is_ident(self.name));
    }

    fn visit_macro(&mut self, m: &'ast syn::Macro) {
        self.others += usize::from(mentions_in(&m.tokens, self.name));
    }
}
