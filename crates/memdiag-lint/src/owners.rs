//! Which of the crate's structs live for one call only. Their collections
//! cannot grow, or pin a peak capacity, across calls: whatever fills them,
//! they are dropped with their owner.
//!
//! A struct is short-lived when all of these hold:
//! - it is not `pub`;
//! - no field, static, const or type alias holds it by value, and no shared
//!   wrapper (`Arc<S>`, `Mutex<S>`, `Lazy<S>`, ..) does, anywhere;
//! - none of its methods runs a waiting loop over `self` (a service's run
//!   loop: one that awaits, receives, accepts, reads, sleeps or selects);
//! - every value of it, built by a struct literal, by `S::f(..)` or by a fn
//!   that returns it, is either a temporary receiver (`S::new(x).parse()`)
//!   or a `let` local that is only borrowed (`x.f`, `x.m(..)`, `&x`), never
//!   moved, and not used in a waiting loop or a `move` closure or async
//!   block after it is bound, in a fn other than `main`. A fn that returns
//!   `S` passes its value on to its callers, which are checked instead.
//!
//! Names are matched across the crate by their last segment, as elsewhere in
//! the lint; every doubt counts as kept.

use crate::source::for_each_ident;
use crate::statics::statics;
use crate::types::{owned_names, SHARED_MUTABLE};
use std::collections::{HashMap, HashSet};
use syn::visit::{self, Visit};
use syn::Expr;

#[derive(Default)]
pub(crate) struct Owners {
    /// Struct name -> some declaration of it is `pub`.
    structs: HashMap<String, bool>,
    /// Field name -> the structs declaring a field of that name.
    fields: HashMap<String, HashSet<String>>,
    /// Statics: a static is never short-lived, whatever field shares its name.
    statics: HashSet<String>,
    /// Type names whose values are kept beyond one call.
    kept: HashSet<String>,
    /// Fn name -> the type names its return type holds by value.
    returns: HashMap<String, HashSet<String>>,
    /// Method or unqualified calls whose result is kept, each with the type
    /// names the enclosing fn returns (it passes those on, not keeps them).
    kept_calls: Vec<(String, Vec<String>)>,
}

impl Owners {
    pub fn of_file(ast: &syn::File) -> Owners {
        let mut owners = Owners::default();
        for s in statics(ast) {
            owners.statics.insert(s.ident.to_string());
            owners.kept.extend(owned_names(&s.ty));
        }
        let mut sites = Sites {
            owners: &mut owners,
            impl_ty: None,
            returns: Vec::new(),
            main: false,
            depth: 0,
            locals: HashMap::new(),
            allowed: HashSet::new(),
            returned: HashSet::new(),
        };
        sites.visit_file(ast);
        owners
    }

    pub fn merge(&mut self, other: Owners) {
        for (name, public) in other.structs {
            *self.structs.entry(name).or_default() |= public;
        }
        for (field, structs) in other.fields {
            self.fields.entry(field).or_default().extend(structs);
        }
        self.statics.extend(other.statics);
        self.kept.extend(other.kept);
        for (f, names) in other.returns {
            self.returns.entry(f).or_default().extend(names);
        }
        self.kept_calls.extend(other.kept_calls);
    }

    /// True when every struct with a field named `field` is short-lived
    /// (and no static has that name).
    pub fn short_lived_field(&self, field: &str) -> bool {
        !self.statics.contains(field)
            && self
                .fields
                .get(field)
                .is_some_and(|owners| owners.iter().all(|s| self.short_lived(s)))
    }

    fn short_lived(&self, s: &str) -> bool {
        self.structs.get(s) == Some(&false)
            && !self.kept.contains(s)
            && !self.kept_calls.iter().any(|(f, passed_on)| {
                self.returns.get(f).is_some_and(|r| r.contains(s))
                    && !passed_on.iter().any(|p| p == s)
            })
    }
}

/// Wrappers whose contents are shared or kept for later, wherever they
/// appear, besides the shared mutable ones ([`SHARED_MUTABLE`]).
const KEEPERS: &[&str] = &[
    "Arc",
    "Rc",
    "Weak",
    "Lazy",
    "LazyLock",
    "LazyCell",
    "ThreadLocal",
];

/// Macros that only borrow their arguments.
const BORROWING_MACROS: &[&str] = &[
    "format",
    "print",
    "println",
    "eprint",
    "eprintln",
    "write",
    "writeln",
    "assert",
    "assert_eq",
    "assert_ne",
    "debug_assert",
    "debug_assert_eq",
    "debug_assert_ne",
    "trace",
    "debug",
    "info",
    "warn",
    "error",
    "format_args",
    "dbg",
];

/// Where a value comes from.
enum Site {
    /// `S { .. }`, `S::f(..)`: a value of this type.
    Type(String),
    /// `x.f(..)`, `f(..)`: a value of whatever `f` returns.
    Call(String),
}

/// A `let` local whose value may be a struct's.
struct Local {
    site: Option<Site>,
    /// Type names in the `let`'s annotation and the callee's turbofish.
    names: Vec<String>,
    /// Loop, closure and async nesting where it was bound.
    depth: usize,
    /// Moved somewhere, or used in a loop, closure or async block.
    kept: bool,
    /// Returned by the fn: kept unless the fn returns its type.
    returned: bool,
}

/// How a local is named.
#[derive(Clone, Copy, PartialEq)]
enum Mention {
    Borrowed,
    Moved,
    Returned,
}

struct Sites<'o> {
    owners: &'o mut Owners,
    /// The type of the enclosing `impl`, for `Self`.
    impl_ty: Option<String>,
    /// Type names the enclosing fn returns by value.
    returns: Vec<String>,
    /// Inside `fn main`: everything there lives as long as the program.
    main: bool,
    /// Waiting loops and `move` closures or async blocks entered in the
    /// current fn: a local used there lives as long as they run.
    depth: usize,
    locals: HashMap<String, Local>,
    /// Sites in per-call positions: a `let` local's value, a receiver.
    allowed: HashSet<*const Expr>,
    /// What the current fn returns (its tail, `return x`, `Ok(x)`): a local
    /// named there is passed on, not kept.
    returned: HashSet<*const Expr>,
}

impl Sites<'_> {
    fn resolve(&self, name: String) -> String {
        match (&self.impl_ty, name == "Self") {
            (Some(ty), true) => ty.clone(),
            _ => name,
        }
    }

    /// `passed_on`: a value the enclosing fn returns is its callers' to keep.
    fn keep_type(&mut self, name: String, passed_on: bool) {
        let name = self.resolve(name);
        if !(passed_on && self.returns.contains(&name)) {
            self.owners.kept.insert(name);
        }
    }

    fn keep(&mut self, site: Site, names: Vec<String>, passed_on: bool) {
        match site {
            Site::Type(name) => self.keep_type(name, passed_on),
            Site::Call(f) => {
                let returns = if passed_on {
                    self.returns.clone()
                } else {
                    Vec::new()
                };
                self.owners.kept_calls.push((f, returns));
            }
        }
        for n in names {
            self.keep_type(n, passed_on);
        }
    }

    fn resolve_local(&mut self, local: Local) {
        if local.kept || local.returned {
            let passed_on = !local.kept;
            match local.site {
                Some(site) => self.keep(site, local.names, passed_on),
                None => local
                    .names
                    .into_iter()
                    .for_each(|n| self.keep_type(n, passed_on)),
            }
        }
    }

    /// A fn body: its own locals, its return type, whether it is `main`.
    fn in_fn(
        &mut self,
        sig: &syn::Signature,
        block: Option<&syn::Block>,
        main: bool,
        body: impl FnOnce(&mut Self),
    ) {
        let returns = match &sig.output {
            syn::ReturnType::Type(_, ty) => owned_names(ty)
                .into_iter()
                .map(|n| self.resolve(n))
                .collect(),
            syn::ReturnType::Default => Vec::new(),
        };
        for name in &returns {
            self.owners
                .returns
                .entry(sig.ident.to_string())
                .or_default()
                .insert(name.clone());
        }
        let outer_returns = std::mem::replace(&mut self.returns, returns);
        let outer_main = std::mem::replace(&mut self.main, main);
        let outer_depth = std::mem::replace(&mut self.depth, 0);
        let outer_locals = std::mem::take(&mut self.locals);
        if let Some(syn::Stmt::Expr(tail, None)) = block.and_then(|b| b.stmts.last()) {
            self.mark_returned(tail);
        }
        body(self);
        for (_, local) in std::mem::replace(&mut self.locals, outer_locals) {
            self.resolve_local(local);
        }
        self.returns = outer_returns;
        self.main = outer_main;
        self.depth = outer_depth;
    }

    /// `x`, `Ok(x)`, `Some(x)`: `x` is the fn's result.
    fn mark_returned(&mut self, e: &Expr) {
        match e {
            Expr::Path(_) => {
                self.returned.insert(e as *const Expr);
            }
            Expr::Call(c) if c.args.len() == 1 && wraps(&c.func) => self.mark_returned(&c.args[0]),
            Expr::Paren(p) => self.mark_returned(&p.expr),
            _ => {}
        }
    }

    fn nested(&mut self, f: impl FnOnce(&mut Self)) {
        self.depth += 1;
        f(self);
        self.depth -= 1;
    }

    /// A use of `name`, here or in a loop or closure.
    fn mention(&mut self, name: &str, how: Mention) {
        let depth = self.depth;
        if let Some(local) = self.locals.get_mut(name) {
            if how == Mention::Moved || depth > local.depth {
                local.kept = true;
            }
            local.returned |= how == Mention::Returned;
        }
    }

    /// Visits `e`, reading a plain local there as borrowed.
    fn visit_borrowed<'ast>(&mut self, e: &'ast Expr)
    where
        Self: Visit<'ast>,
    {
        match single_ident(e) {
            Some(name) => self.mention(&name, Mention::Borrowed),
            None => self.visit_expr(e),
        }
    }

    fn site(&self, e: &Expr) -> Option<(Site, Vec<String>)> {
        match e {
            Expr::Struct(s) => {
                let name = s.path.segments.last()?.ident.to_string();
                Some((Site::Type(self.resolve(name)), Vec::new()))
            }
            Expr::Call(c) => {
                let Expr::Path(p) = &*c.func else {
                    return None;
                };
                let segs = &p.path.segments;
                let last = segs.last()?;
                let turbofish = match &last.arguments {
                    syn::PathArguments::AngleBracketed(a) => a
                        .args
                        .iter()
                        .filter_map(|g| match g {
                            syn::GenericArgument::Type(t) => Some(owned_names(t)),
                            _ => None,
                        })
                        .flatten()
                        .collect(),
                    _ => Vec::new(),
                };
                let site = match segs.len() {
                    1 => Site::Call(last.ident.to_string()),
                    n => Site::Type(self.resolve(segs[n - 2].ident.to_string())),
                };
                Some((site, turbofish))
            }
            Expr::MethodCall(m) => Some((Site::Call(m.method.to_string()), Vec::new())),
            _ => None,
        }
    }

    /// Records a site met outside a per-call position. At the fn's top
    /// level (not in a loop or closure) it may be the fn's result.
    fn kept_site(&mut self, e: &Expr) {
        if self.main || !self.allowed.contains(&(e as *const Expr)) {
            if let Some((site, names)) = self.site(e) {
                self.keep(site, names, self.depth == 0);
            }
        }
    }
}

impl<'ast> Visit<'ast> for Sites<'_> {
    fn visit_item_struct(&mut self, s: &'ast syn::ItemStruct) {
        let name = s.ident.to_string();
        *self.owners.structs.entry(name.clone()).or_default() |=
            matches!(s.vis, syn::Visibility::Public(_));
        for f in &s.fields {
            if let Some(ident) = &f.ident {
                self.owners
                    .fields
                    .entry(ident.to_string())
                    .or_default()
                    .insert(name.clone());
            }
        }
        visit::visit_item_struct(self, s);
    }

    fn visit_field(&mut self, f: &'ast syn::Field) {
        self.owners.kept.extend(owned_names(&f.ty));
        visit::visit_field(self, f);
    }

    fn visit_item_const(&mut self, c: &'ast syn::ItemConst) {
        self.owners.kept.extend(owned_names(&c.ty));
        visit::visit_item_const(self, c);
    }

    fn visit_item_type(&mut self, t: &'ast syn::ItemType) {
        self.owners.kept.extend(owned_names(&t.ty));
        visit::visit_item_type(self, t);
    }

    fn visit_type_path(&mut self, p: &'ast syn::TypePath) {
        if let Some(last) = p.path.segments.last() {
            let name = last.ident.to_string();
            if KEEPERS.contains(&name.as_str()) || SHARED_MUTABLE.contains(&name.as_str()) {
                if let syn::PathArguments::AngleBracketed(args) = &last.arguments {
                    for arg in &args.args {
                        if let syn::GenericArgument::Type(t) = arg {
                            for n in owned_names(t) {
                                let n = self.resolve(n);
                                self.owners.kept.insert(n);
                            }
                        }
                    }
                }
            }
        }
        visit::visit_type_path(self, p);
    }

    fn visit_item_impl(&mut self, i: &'ast syn::ItemImpl) {
        let outer = std::mem::replace(&mut self.impl_ty, crate::source::impl_type_name(i));
        visit::visit_item_impl(self, i);
        self.impl_ty = outer;
    }

    fn visit_item_fn(&mut self, f: &'ast syn::ItemFn) {
        let main = f.sig.ident == "main";
        self.in_fn(&f.sig, Some(&f.block), main, |v| visit::visit_item_fn(v, f));
    }

    fn visit_impl_item_fn(&mut self, f: &'ast syn::ImplItemFn) {
        if f.sig.receiver().is_some() && loops_over_self(&f.block) {
            if let Some(ty) = self.impl_ty.clone() {
                self.owners.kept.insert(ty);
            }
        }
        self.in_fn(&f.sig, Some(&f.block), false, |v| {
            visit::visit_impl_item_fn(v, f)
        });
    }

    fn visit_trait_item_fn(&mut self, f: &'ast syn::TraitItemFn) {
        self.in_fn(&f.sig, f.default.as_ref(), false, |v| {
            visit::visit_trait_item_fn(v, f)
        });
    }

    fn visit_local(&mut self, l: &'ast syn::Local) {
        let (pat, mut names) = match &l.pat {
            syn::Pat::Type(t) => (&*t.pat, owned_names(&t.ty)),
            p => (p, Vec::new()),
        };
        let bound = match pat {
            syn::Pat::Ident(i) if i.subpat.is_none() => Some(i.ident.to_string()),
            _ => None,
        };
        let Some(init) = &l.init else {
            return visit::visit_local(self, l);
        };
        let core = strip(&init.expr);
        let site = self.site(core);
        match bound.filter(|_| !self.main) {
            Some(name) if site.is_some() || !names.is_empty() => {
                self.allowed.insert(core as *const Expr);
                visit::visit_local(self, l);
                let site = site.map(|(site, turbofish)| {
                    names.extend(turbofish);
                    site
                });
                let local = Local {
                    site,
                    names,
                    depth: self.depth,
                    kept: false,
                    returned: false,
                };
                if let Some(old) = self.locals.insert(name, local) {
                    self.resolve_local(old);
                }
            }
            _ => {
                visit::visit_local(self, l);
                names.into_iter().for_each(|n| self.keep_type(n, false));
            }
        }
    }

    fn visit_expr(&mut self, e: &'ast Expr) {
        if matches!(e, Expr::Struct(_) | Expr::Call(_) | Expr::MethodCall(_)) {
            self.kept_site(e);
        }
        match e {
            Expr::Closure(syn::ExprClosure {
                capture: Some(_), ..
            })
            | Expr::Async(syn::ExprAsync {
                capture: Some(_), ..
            }) => self.nested(|v| visit::visit_expr(v, e)),
            _ if waiting_loop(e) => self.nested(|v| visit::visit_expr(v, e)),
            Expr::MethodCall(m) => {
                self.allowed.insert(strip(&m.receiver) as *const Expr);
                self.visit_borrowed(&m.receiver);
                for arg in &m.args {
                    self.visit_expr(arg);
                }
            }
            Expr::Field(f) => self.visit_borrowed(&f.base),
            Expr::Reference(r) => self.visit_borrowed(&r.expr),
            Expr::Path(p) => {
                if let Some(name) = p.path.get_ident() {
                    let how = if self.returned.contains(&(e as *const Expr)) {
                        Mention::Returned
                    } else {
                        Mention::Moved
                    };
                    self.mention(&name.to_string(), how);
                }
                visit::visit_expr(self, e);
            }
            Expr::Return(r) => {
                if let Some(x) = &r.expr {
                    self.mark_returned(x);
                }
                visit::visit_expr(self, e);
            }
            _ => visit::visit_expr(self, e),
        }
    }

    fn visit_macro(&mut self, m: &'ast syn::Macro) {
        let borrows = m
            .path
            .segments
            .last()
            .is_some_and(|s| BORROWING_MACROS.contains(&s.ident.to_string().as_str()));
        if !self.locals.is_empty() {
            let mut named = Vec::new();
            for_each_ident(m.tokens.clone(), &mut |i| {
                if self.locals.contains_key(&i.to_string()) {
                    named.push(i.to_string());
                }
            });
            let how = if borrows {
                Mention::Borrowed
            } else {
                Mention::Moved
            };
            for name in named {
                self.mention(&name, how);
            }
        }
        visit::visit_macro(self, m);
    }
}

/// The value under `?`, `.await`, `.unwrap()`, `.expect(..)` and parentheses.
fn strip(e: &Expr) -> &Expr {
    match e {
        Expr::Try(t) => strip(&t.expr),
        Expr::Await(a) => strip(&a.base),
        Expr::Paren(p) => strip(&p.expr),
        Expr::MethodCall(m) if m.method == "unwrap" || m.method == "expect" => strip(&m.receiver),
        _ => e,
    }
}

/// `Ok`, `Some`, `Err`: a variant that hands its value on with the result.
fn wraps(func: &Expr) -> bool {
    matches!(func, Expr::Path(p) if p.path.get_ident()
        .is_some_and(|i| i == "Ok" || i == "Some" || i == "Err"))
}

fn single_ident(e: &Expr) -> Option<String> {
    match e {
        Expr::Path(p) => p.path.get_ident().map(|i| i.to_string()),
        _ => None,
    }
}

/// Calls that wait for something outside the program: a loop making one
/// runs for as long as events keep coming, not over a bounded input.
const WAITS: &[&str] = &[
    "recv",
    "recv_timeout",
    "recv_async",
    "blocking_recv",
    "accept",
    "incoming",
    "read",
    "read_line",
    "read_exact",
    "wait",
    "wait_timeout",
    "wait_while",
    "park",
    "park_timeout",
    "sleep",
    "poll",
    "poll_next",
    "next_event",
    "tick",
    "changed",
    "notified",
    "select",
    "select_biased",
];

/// A `loop`, `while` or `for` that waits (`.await`, a call in [`WAITS`], a
/// `select!`): a service loop, not work over a bounded input.
fn waiting_loop(e: &Expr) -> bool {
    struct V(bool);
    impl<'ast> Visit<'ast> for V {
        fn visit_expr(&mut self, e: &'ast Expr) {
            self.0 |= match e {
                Expr::Await(_) => true,
                Expr::MethodCall(m) => WAITS.contains(&m.method.to_string().as_str()),
                Expr::Call(c) => matches!(&*c.func, Expr::Path(p) if p.path.segments.last()
                    .is_some_and(|s| WAITS.contains(&s.ident.to_string().as_str()))),
                _ => false,
            };
            if !self.0 {
                visit::visit_expr(self, e);
            }
        }
        fn visit_macro(&mut self, m: &'ast syn::Macro) {
            self.0 |= m
                .path
                .segments
                .last()
                .is_some_and(|s| WAITS.contains(&s.ident.to_string().as_str()));
        }
    }
    let mut v = V(false);
    if matches!(e, Expr::Loop(_) | Expr::While(_) | Expr::ForLoop(_)) {
        visit::visit_expr(&mut v, e);
    }
    v.0
}

/// A waiting loop that uses `self`: the method runs a service loop.
fn loops_over_self(block: &syn::Block) -> bool {
    struct V(bool);
    impl<'ast> Visit<'ast> for V {
        fn visit_expr(&mut self, e: &'ast Expr) {
            if waiting_loop(e) {
                let mut uses = UsesSelf(false);
                uses.visit_expr(e);
                self.0 |= uses.0;
            }
            if !self.0 {
                visit::visit_expr(self, e);
            }
        }
    }
    struct UsesSelf(bool);
    impl<'ast> Visit<'ast> for UsesSelf {
        fn visit_expr(&mut self, e: &'ast Expr) {
            self.0 |= single_ident(e).is_some_and(|n| n == "self");
            visit::visit_expr(self, e);
        }
        fn visit_macro(&mut self, m: &'ast syn::Macro) {
            for_each_ident(m.tokens.clone(), &mut |i| self.0 |= i == "self");
        }
    }
    let mut v = V(false);
    v.visit_block(block);
    v.0
}
