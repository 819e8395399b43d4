//! Names the collection a method call or assignment acts on, seeing through
//! guards: `self.cache.lock().unwrap().insert(..)`, `let mut g =
//! self.cache.write(); g.remove(..)` and `CACHE.with(|c| c.borrow_mut().push(..))`
//! all act on `cache`/`CACHE`.
//!
//! Macro arguments are tokens to syn, so calls in them
//! (`assert!(self.map.remove(k).is_some())`) are read from the tokens:
//! `name.method(..)`, `self.field.method(..)` and guard chains like
//! `self.field.lock().unwrap().method(..)`.

use crate::source::segment_names;
use proc_macro2::TokenTree;
use std::collections::{HashMap, HashSet};
use syn::visit::{self, Visit};
use syn::Expr;

/// Methods that only reach the value behind a lock, cell or option.
const GUARDS: &[&str] = &[
    "lock",
    "read",
    "write",
    "try_lock",
    "try_read",
    "try_write",
    "borrow",
    "borrow_mut",
    "get_mut",
    "as_mut",
    "as_ref",
    "deref_mut",
    "unwrap",
    "expect",
    "get",
    "load",
    "pin",
];

/// The collection an expression is rooted at.
#[derive(Clone, Debug)]
pub(crate) struct Root {
    pub name: String,
    /// A struct field or a static (upper-case path): it outlives the call.
    pub long_lived: bool,
}

pub(crate) enum Use<'ast> {
    Method(&'ast syn::ExprMethodCall),
    /// A method called in a macro's arguments, by name.
    MacroMethod(String),
    /// Assigned a new value, or moved out with `mem::take`/`replace`/`swap`.
    Reset,
}

pub(crate) fn walk<'ast>(file: &'ast syn::File, f: &mut dyn FnMut(&Root, Use<'ast>)) {
    Receivers {
        aliases: HashMap::new(),
        locals: HashSet::new(),
        f,
    }
    .visit_file(file);
}

struct Receivers<'a, 'ast> {
    /// Local binding -> what it guards; per fn, never cleared inside one.
    aliases: HashMap<String, Root>,
    /// Locals bound to a value the fn makes itself (`let s = S::new()`,
    /// `S { .. }`, `vec![..]`): their fields die with the fn, so they are
    /// not long-lived.
    locals: HashSet<String>,
    f: &'a mut dyn FnMut(&Root, Use<'ast>),
}

impl Receivers<'_, '_> {
    fn root(&self, e: &Expr) -> Option<Root> {
        match e {
            Expr::MethodCall(m) if GUARDS.contains(&m.method.to_string().as_str()) => {
                self.root(&m.receiver)
            }
            Expr::Try(t) => self.root(&t.expr),
            Expr::Await(a) => self.root(&a.base),
            Expr::Paren(p) => self.root(&p.expr),
            Expr::Reference(r) => self.root(&r.expr),
            Expr::Unary(u) => self.root(&u.expr),
            Expr::Index(i) => self.root(&i.expr),
            Expr::Field(f) => match &f.member {
                syn::Member::Named(n) => Some(Root {
                    name: n.to_string(),
                    long_lived: !self.of_local(&f.base),
                }),
                syn::Member::Unnamed(_) => self.root(&f.base),
            },
            Expr::Path(p) => {
                let ident = p.path.segments.last()?.ident.to_string();
                if let Some(r) = self
                    .aliases
                    .get(&ident)
                    .filter(|_| p.path.segments.len() == 1)
                {
                    return Some(r.clone());
                }
                let is_static = ident.len() > 1
                    && ident
                        .chars()
                        .all(|c| c.is_uppercase() || c == '_' || c.is_numeric());
                Some(Root {
                    name: ident,
                    long_lived: is_static,
                })
            }
            _ => None,
        }
    }

    /// Whether the field chain `e` starts at one of [`Self::locals`].
    fn of_local(&self, e: &Expr) -> bool {
        match e {
            Expr::Field(f) => self.of_local(&f.base),
            Expr::Paren(p) => self.of_local(&p.expr),
            Expr::Path(p) => p
                .path
                .get_ident()
                .is_some_and(|i| self.locals.contains(&i.to_string())),
            _ => false,
        }
    }

    /// Reports each `root.method(..)` chain in a macro's tokens.
    fn macro_calls(&mut self, tokens: proc_macro2::TokenStream) {
        let tokens: Vec<TokenTree> = tokens.into_iter().collect();
        for (i, t) in tokens.iter().enumerate() {
            match t {
                TokenTree::Group(g) => self.macro_calls(g.stream()),
                // A chain starts at an identifier not preceded by `.`.
                TokenTree::Ident(id) if i == 0 || !is_dot(&tokens[i - 1]) => {
                    if let Some((root, method)) = self.token_chain(id, &tokens[i + 1..]) {
                        (self.f)(&root, Use::MacroMethod(method));
                    }
                }
                _ => {}
            }
        }
    }

    /// The root and first non-guard method of the chain `start.a.b(..)..`.
    fn token_chain(
        &self,
        start: &proc_macro2::Ident,
        rest: &[TokenTree],
    ) -> Option<(Root, String)> {
        let mut root = (start != "self")
            .then(|| {
                self.root(&Expr::Path(syn::ExprPath {
                    attrs: Vec::new(),
                    qself: None,
                    path: start.clone().into(),
                }))
            })
            .flatten();
        let mut at = 0;
        while let (Some(dot), Some(TokenTree::Ident(name))) = (rest.get(at), rest.get(at + 1)) {
            if !is_dot(dot) {
                break;
            }
            let name = name.to_string();
            let called = matches!(rest.get(at + 2),
                Some(TokenTree::Group(g)) if g.delimiter() == proc_macro2::Delimiter::Parenthesis);
            if !called {
                // A field: the chain is rooted at it from here on.
                root = Some(Root {
                    name,
                    long_lived: true,
                });
                at += 2;
                continue;
            }
            if !GUARDS.contains(&name.as_str()) {
                return root.map(|r| (r, name));
            }
            at += 3;
            // `?` after a guard call.
            if matches!(rest.get(at), Some(TokenTree::Punct(p)) if p.as_char() == '?') {
                at += 1;
            }
        }
        None
    }
}

fn is_dot(t: &TokenTree) -> bool {
    matches!(t, TokenTree::Punct(p) if p.as_char() == '.')
}

impl<'ast> Visit<'ast> for Receivers<'_, 'ast> {
    fn visit_local(&mut self, l: &'ast syn::Local) {
        if let (syn::Pat::Ident(p), Some(init)) = (strip_type(&l.pat), &l.init) {
            let name = p.ident.to_string();
            if let Some(root) = self.root(&init.expr).filter(|r| r.long_lived) {
                self.aliases.insert(name, root);
            } else if makes_value(&init.expr) {
                self.locals.insert(name);
            } else {
                self.locals.remove(&name);
            }
        }
        visit::visit_local(self, l);
    }

    fn visit_expr_method_call(&mut self, m: &'ast syn::ExprMethodCall) {
        if let Some(root) = self.root(&m.receiver) {
            // `STATIC.with(|v| ..)`: `v` stands for the static inside the closure.
            if m.method == "with" || m.method.to_string().starts_with("with_borrow") {
                for arg in &m.args {
                    if let Expr::Closure(c) = arg {
                        if let Some(syn::Pat::Ident(p)) = c.inputs.first().map(strip_type) {
                            self.aliases.insert(p.ident.to_string(), root.clone());
                        }
                    }
                }
            }
            (self.f)(&root, Use::Method(m));
        }
        visit::visit_expr_method_call(self, m);
    }

    fn visit_expr_assign(&mut self, a: &'ast syn::ExprAssign) {
        if let Some(root) = self.root(&a.left) {
            (self.f)(&root, Use::Reset);
        }
        visit::visit_expr_assign(self, a);
    }

    fn visit_expr_call(&mut self, c: &'ast syn::ExprCall) {
        let moves_out = matches!(&*c.func, Expr::Path(p) if p.path.segments.last()
            .is_some_and(|s| ["take", "replace", "swap"].contains(&s.ident.to_string().as_str())));
        if moves_out {
            for arg in &c.args {
                if let Some(root) = matches!(arg, Expr::Reference(_))
                    .then(|| self.root(arg))
                    .flatten()
                {
                    (self.f)(&root, Use::Reset);
                }
            }
        }
        visit::visit_expr_call(self, c);
    }

    fn visit_macro(&mut self, m: &'ast syn::Macro) {
        self.macro_calls(m.tokens.clone());
    }

    fn visit_item_fn(&mut self, f: &'ast syn::ItemFn) {
        self.aliases.clear();
        self.locals.clear();
        visit::visit_item_fn(self, f);
    }

    fn visit_impl_item_fn(&mut self, f: &'ast syn::ImplItemFn) {
        self.aliases.clear();
        self.locals.clear();
        visit::visit_impl_item_fn(self, f);
    }
}

/// A value the expression makes afresh: a struct literal, a constructor
/// (`S::new(..)`, `S::default()`, `Vec::with_capacity(n)`, `S(..)`), a
/// macro (`vec![..]`); not a method or fn call, which may hand out a
/// reference to something long-lived.
fn makes_value(e: &Expr) -> bool {
    match e {
        Expr::Struct(_) | Expr::Macro(_) | Expr::Array(_) => true,
        Expr::Call(c) => match &*c.func {
            Expr::Path(p) => match segment_names(&p.path).as_slice() {
                [.., ty, _] | [ty] => ty.starts_with(char::is_uppercase),
                [] => false,
            },
            _ => false,
        },
        _ => false,
    }
}

fn strip_type(p: &syn::Pat) -> &syn::Pat {
    match p {
        syn::Pat::Type(t) => &t.pat,
        other => other,
    }
}
