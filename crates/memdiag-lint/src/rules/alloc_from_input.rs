//! `alloc-from-input`: `with_capacity`/`reserve`/`reserve_exact`/`resize` or
//! `vec![x; n]` sized by a value that came from input, with no bound checked.
//!
//! Input, per fn: the result of a `read_*`/`get_u32`-style read, of
//! `from_{le,be,ne}_bytes`, `parse()`, `from_str*`, or of a decoding call
//! (`decode*`, `deserialize*`, `from_slice`, `from_reader`), so also any field
//! of such a value (a decoded header's `len`); and size-named parameters
//! (`len`, `size`, `count`, `length`, `*_len`..) of fns named
//! `read*`/`decode*`/`parse*`/`deserialize*`/`from_bytes*` (not `max_*`,
//! `min_*`, `limit*`: those are bounds). Values computed from those are input
//! too. Reads of 8- or 16-bit integers are not, nor bit reads of at most 16
//! bits (`read_bits(8)`): they cannot ask for more than 64 Ki elements. Nor
//! is a call on literals only (`JsValue::from_str("length")`, `"8".parse()`),
//! nor a chain that starts at text fixed at build time
//! (`option_env!("N").and_then(|s| s.parse().ok())`, `include_str!(..)`):
//! those are constants. Nor is the `len()` of a collection
//! already decoded (`let v: Vec<_> = decode(..)?; v.len() * 2`): it is in
//! memory, so the allocation is in proportion to what the input really holds.
//! A value compared with `<`/`>` anywhere in the fn (also inside macros like
//! `assert!`), passed through `min`/`clamp`/`cautious` (serde's capped size
//! hint), or passed to a check (a fn named `*check*`, `*bound*`, `*valid*`,
//! `*verify*`, `*ensure*`) counts as bounded.

use super::{Hit, Rule, RuleInfo};
use crate::source::{call_span, ends_with, SourceFile};
use proc_macro2::{TokenStream, TokenTree};
use std::collections::{HashMap, HashSet};
use syn::spanned::Spanned;
use syn::visit::{self, Visit};
use syn::Expr;

static INFO: RuleInfo = RuleInfo {
    id: "alloc-from-input",
    summary: "allocation sized by untrusted input",
    help: "check the size against a limit (or against the bytes actually available) before allocating, e.g. `n.min(MAX_PREALLOC)`",
};

pub(crate) const RULE: Rule = Rule {
    info: &INFO,
    check,
    confirm: None,
};

const SIZE_METHODS: &[&str] = &["reserve", "reserve_exact", "resize"];
const DECODER_PREFIXES: &[&str] = &["read", "decode", "parse", "deserialize", "from_bytes"];

fn check(file: &SourceFile, out: &mut Vec<Hit>) {
    // First pass: what the file's own calls pass to its fns.
    let mut first = Fns {
        file,
        out: &mut Vec::new(),
        callers: Callers::default(),
        calls: Callers::default(),
        trait_impl: false,
    };
    first.visit_file(&file.ast);
    Fns {
        file,
        out,
        callers: first.calls,
        calls: Callers::default(),
        trait_impl: false,
    }
    .visit_file(&file.ast);
}

/// Calls made in the file, by callee name.
#[derive(Default)]
struct Callers {
    /// How many fns of the name the file defines.
    defs: HashMap<String, usize>,
    /// (name, called as a method) -> per argument: some call passes input.
    args: HashMap<(String, bool), Vec<bool>>,
}

struct Fns<'a, 'f> {
    file: &'a SourceFile<'f>,
    out: &'a mut Vec<Hit>,
    /// The previous pass's calls.
    callers: Callers,
    /// This pass's calls.
    calls: Callers,
    trait_impl: bool,
}

impl Fns<'_, '_> {
    fn body(&mut self, sig: &syn::Signature, block: &syn::Block, private: bool) {
        let mut bounded = Bounded(HashSet::new());
        bounded.visit_block(block);
        let mut flow = Flow {
            file: self.file,
            tainted: HashSet::new(),
            collections: HashSet::new(),
            bounded: bounded.0,
            out: &mut *self.out,
            calls: &mut self.calls.args,
        };
        let name = sig.ident.to_string();
        *self.calls.defs.entry(name.clone()).or_default() += 1;
        // A private fn defined once and called in this file gets input only
        // where a call passes some; others may be called with anything.
        let method = matches!(sig.inputs.first(), Some(syn::FnArg::Receiver(_)));
        let seen = (private && self.callers.defs.get(&name) == Some(&1))
            .then(|| self.callers.args.get(&(name.clone(), method)))
            .flatten();
        if DECODER_PREFIXES.iter().any(|p| name.starts_with(p)) {
            let params = sig.inputs.iter().filter_map(|i| match i {
                syn::FnArg::Typed(t) => Some(t),
                syn::FnArg::Receiver(_) => None,
            });
            for (i, t) in params.enumerate() {
                if let syn::Pat::Ident(p) = &*t.pat {
                    let passed = seen.is_none_or(|args| args.get(i) == Some(&true));
                    if size_name(&p.ident.to_string()) && passed {
                        flow.tainted.insert(p.ident.to_string());
                    }
                }
            }
        }
        flow.visit_block(block);
    }
}

impl<'ast> Visit<'ast> for Fns<'_, '_> {
    fn visit_item_fn(&mut self, f: &'ast syn::ItemFn) {
        let private = matches!(f.vis, syn::Visibility::Inherited);
        self.body(&f.sig, &f.block, private);
        visit::visit_item_fn(self, f);
    }

    fn visit_impl_item_fn(&mut self, f: &'ast syn::ImplItemFn) {
        let private = matches!(f.vis, syn::Visibility::Inherited) && !self.trait_impl;
        self.body(&f.sig, &f.block, private);
        visit::visit_impl_item_fn(self, f);
    }

    fn visit_item_impl(&mut self, i: &'ast syn::ItemImpl) {
        let saved = std::mem::replace(&mut self.trait_impl, i.trait_.is_some());
        visit::visit_item_impl(self, i);
        self.trait_impl = saved;
    }
}

/// A name for a size; `max_*`/`min_*`/`limit*` name bounds, not input.
fn size_name(s: &str) -> bool {
    !["max", "min", "limit"].iter().any(|p| s.starts_with(p))
        && (matches!(s, "len" | "length" | "size" | "count" | "capacity")
            || ["_len", "_length", "_size", "_count"]
                .iter()
                .any(|x| s.ends_with(x)))
}

/// Walks one fn body in order, tracking which bindings hold input.
struct Flow<'a, 'f> {
    file: &'a SourceFile<'f>,
    tainted: HashSet<String>,
    /// Locals that are collections by their type or constructor path.
    collections: HashSet<String>,
    bounded: HashSet<String>,
    out: &'a mut Vec<Hit>,
    calls: &'a mut HashMap<(String, bool), Vec<bool>>,
}

impl Flow<'_, '_> {
    fn record(&mut self, name: String, method: bool, args: &[&Expr]) {
        let input: Vec<bool> = args.iter().map(|a| self.is_input(a)).collect();
        let seen = self.calls.entry((name, method)).or_default();
        seen.resize(seen.len().max(input.len()), false);
        seen.iter_mut().zip(input).for_each(|(s, i)| *s |= i);
    }

    fn is_input(&self, e: &Expr) -> bool {
        let mut t = Taint {
            flow: self,
            found: false,
        };
        t.visit_expr(e);
        t.found
    }

    fn sink(&mut self, arg: &Expr, span: proc_macro2::Span, what: &str) {
        if self.is_input(arg) {
            let msg =
                format!("{what} sized by a value read from input, with no upper bound checked");
            self.out.push(self.file.hit(&INFO, span, msg));
        }
    }
}

impl<'ast> Visit<'ast> for Flow<'_, '_> {
    fn visit_local(&mut self, l: &'ast syn::Local) {
        visit::visit_local(self, l);
        let pat = match &l.pat {
            syn::Pat::Type(t) => &*t.pat,
            p => p,
        };
        if let syn::Pat::Ident(p) = pat {
            let typed = match &l.pat {
                syn::Pat::Type(t) => collection_type(&t.ty),
                _ => false,
            };
            let made = l.init.as_ref().is_some_and(|i| match &*i.expr {
                Expr::Try(t) => collection_call(&t.expr),
                e => collection_call(e),
            });
            if typed || made {
                self.collections.insert(p.ident.to_string());
            }
        }
        if let (syn::Pat::Ident(p), Some(init)) = (pat, &l.init) {
            let name = p.ident.to_string();
            if !self.bounded.contains(&name) && self.is_input(&init.expr) {
                self.tainted.insert(name);
            } else {
                // A new binding of the name (`let size = buf.len();`).
                self.tainted.remove(&name);
            }
        }
    }

    fn visit_expr_call(&mut self, c: &'ast syn::ExprCall) {
        let with_capacity = self
            .file
            .callee(c)
            .is_some_and(|p| ends_with(&p, &["with_capacity"]));
        if let (true, Some(arg)) = (with_capacity, c.args.first()) {
            self.sink(arg, call_span(c), "`with_capacity`");
        }
        if let syn::Expr::Path(p) = &*c.func {
            if let Some(last) = p.path.segments.last() {
                self.record(
                    last.ident.to_string(),
                    false,
                    &c.args.iter().collect::<Vec<_>>(),
                );
            }
        }
        visit::visit_expr_call(self, c);
    }

    fn visit_expr_method_call(&mut self, m: &'ast syn::ExprMethodCall) {
        if SIZE_METHODS.contains(&m.method.to_string().as_str()) {
            if let Some(arg) = m.args.first() {
                self.sink(arg, m.span(), &format!("`{}`", m.method));
            }
        }
        self.record(
            m.method.to_string(),
            true,
            &m.args.iter().collect::<Vec<_>>(),
        );
        visit::visit_expr_method_call(self, m);
    }

    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        if mac.path.is_ident("vec") {
            if let Ok((_, len)) = mac.parse_body_with(|input: syn::parse::ParseStream| {
                let elem: Expr = input.parse()?;
                input.parse::<syn::Token![;]>()?;
                Ok((elem, input.parse::<Expr>()?))
            }) {
                self.sink(&len, mac.span(), "`vec![_; n]`");
            }
        }
    }

    // Nested items (fns, impls) are walked on their own by `Fns`.
    fn visit_item(&mut self, _: &'ast syn::Item) {}
}

/// Does an expression carry input (and not through `min`/`clamp`)?
struct Taint<'a, 'b, 'f> {
    flow: &'a Flow<'b, 'f>,
    found: bool,
}

impl<'ast> Visit<'ast> for Taint<'_, '_, '_> {
    fn visit_expr_method_call(&mut self, m: &'ast syn::ExprMethodCall) {
        let name = m.method.to_string();
        if matches!(name.as_str(), "min" | "clamp")
            || constant(&m.receiver, &m.args)
            || build_time(chain_root(&m.receiver))
        {
            return;
        }
        if name == "len"
            && matches!(&*m.receiver, Expr::Path(p)
            if p.path.get_ident().is_some_and(|i| self.flow.collections.contains(&i.to_string())))
        {
            return;
        }
        // `Buf::get_u32_le`, not `get_inplace_scratch_len`.
        let is_get_int = name
            .strip_prefix("get_")
            .is_some_and(|r| r.split('_').next().is_some_and(int_type));
        let read = name.starts_with("read_")
            && name != "read_to_end"
            && name != "read_to_string"
            && !few_bits(&name, &m.args);
        let wide = !name.split('_').nth(1).is_some_and(narrow_int);
        if (read || is_get_int) && wide || name == "parse" || decoding(&name) {
            self.found = true;
        }
        visit::visit_expr_method_call(self, m);
    }

    fn visit_expr_call(&mut self, c: &'ast syn::ExprCall) {
        if let Some(p) = self.flow.file.callee(c) {
            let last = p.last().map(String::as_str).unwrap_or("");
            if BOUNDING.contains(&last) || !c.args.is_empty() && c.args.iter().all(literal) {
                return;
            }
            let from_bytes = last.starts_with("from_")
                && last.ends_with("_bytes")
                && !p.len().checked_sub(2).is_some_and(|i| narrow_int(&p[i]));
            if from_bytes || last.starts_with("from_str") || decoding(last) {
                self.found = true;
            }
        }
        visit::visit_expr_call(self, c);
    }

    fn visit_expr_path(&mut self, p: &'ast syn::ExprPath) {
        if let Some(i) = p.path.get_ident() {
            let i = i.to_string();
            self.found |= self.flow.tainted.contains(&i) && !self.flow.bounded.contains(&i);
        }
    }
}

/// An 8- or 16-bit integer type: a size read as one is at most 64 Ki, so
/// `read_u8()`, `get_u16_le()`, `u16::from_be_bytes(..)` are not flagged.
fn narrow_int(ty: &str) -> bool {
    matches!(ty, "u8" | "i8" | "u16" | "i16")
}

fn int_type(ty: &str) -> bool {
    matches!(
        ty,
        "u8" | "u16"
            | "u32"
            | "u64"
            | "u128"
            | "usize"
            | "i8"
            | "i16"
            | "i32"
            | "i64"
            | "i128"
            | "isize"
    )
}

/// A bit reader's `read_bits(8)`: a literal count of at most 16 bits reads
/// at most 64 Ki, like a 16-bit integer.
fn few_bits(name: &str, args: &syn::punctuated::Punctuated<Expr, syn::Token![,]>) -> bool {
    name.starts_with("read_bits")
        && matches!(args.first(), Some(Expr::Lit(syn::ExprLit { lit: syn::Lit::Int(n), .. }))
            if n.base10_parse::<u32>().is_ok_and(|n| n <= 16))
}

/// Calls whose result is capped by their other argument or by a constant.
const BOUNDING: &[&str] = &["min", "clamp", "cautious"];

/// Words in the name of a fn that checks its arguments (`range_in_bounds`,
/// `check_len`, `validate_size`, `ensure_fits`).
const CHECKS: &[&str] = &["check", "bound", "valid", "verify", "ensure"];

/// A call on literals only: its result is a constant.
fn constant(receiver: &Expr, args: &syn::punctuated::Punctuated<Expr, syn::Token![,]>) -> bool {
    literal(receiver) && args.iter().all(literal)
}

fn literal(e: &Expr) -> bool {
    matches!(e, Expr::Lit(_)) || build_time(e)
}

/// `env!(..)`, `option_env!(..)`, `include_str!(..)`, ..: text fixed when the
/// crate is compiled, not input.
fn build_time(e: &Expr) -> bool {
    matches!(e, Expr::Macro(m) if m.mac.path.segments.last().is_some_and(|s| matches!(
        s.ident.to_string().as_str(),
        "env" | "option_env" | "include_str" | "include_bytes" | "concat" | "stringify"
    )))
}

/// The value a chain of method calls, fields and `?` starts from
/// (`option_env!("N")` of `option_env!("N").and_then(|s| s.parse().ok())`).
fn chain_root(e: &Expr) -> &Expr {
    match e {
        Expr::MethodCall(m) => chain_root(&m.receiver),
        Expr::Field(f) => chain_root(&f.base),
        Expr::Try(t) => chain_root(&t.expr),
        Expr::Paren(p) => chain_root(&p.expr),
        Expr::Reference(r) => chain_root(&r.expr),
        e => e,
    }
}

fn collection_type(ty: &syn::Type) -> bool {
    matches!(ty, syn::Type::Path(p) if p.path.segments.first()
        .is_some_and(|s| crate::types::COLLECTIONS.contains(&s.ident.to_string().as_str())))
}

/// `Vec::<T>::deserialize(..)`, `HashMap::from_iter(..)`: a call of a
/// collection type's own fn.
fn collection_call(e: &Expr) -> bool {
    matches!(e, Expr::Call(c) if matches!(&*c.func, Expr::Path(p)
        if p.path.segments.len() >= 2 && crate::types::COLLECTIONS.contains(
            &p.path.segments[p.path.segments.len() - 2].ident.to_string().as_str())))
}

/// `decode*`, not `decoded_*` (`decoded_len(n)` computes a size from a size).
fn decoding(f: &str) -> bool {
    f.starts_with("decode") && !f.starts_with("decoded")
        || f.starts_with("deserialize")
        || f == "from_slice"
        || f == "from_reader"
}

/// Names compared with `<`/`>` or passed through `min`/`clamp` in a fn body.
struct Bounded(HashSet<String>);

impl Bounded {
    fn names_in(&mut self, e: &Expr) {
        let mut names = Names(Vec::new());
        names.visit_expr(e);
        self.0.extend(names.0);
    }

    fn tokens(&mut self, tokens: TokenStream) {
        let trees: Vec<TokenTree> = tokens.into_iter().collect();
        let compares = trees
            .iter()
            .any(|t| matches!(t, TokenTree::Punct(p) if p.as_char() == '<' || p.as_char() == '>'));
        for t in trees {
            match t {
                TokenTree::Ident(i) if compares => {
                    self.0.insert(i.to_string());
                }
                TokenTree::Group(g) => self.tokens(g.stream()),
                _ => {}
            }
        }
    }
}

impl<'ast> Visit<'ast> for Bounded {
    fn visit_expr_binary(&mut self, b: &'ast syn::ExprBinary) {
        use syn::BinOp::*;
        if matches!(b.op, Lt(_) | Le(_) | Gt(_) | Ge(_)) {
            self.names_in(&b.left);
            self.names_in(&b.right);
        }
        visit::visit_expr_binary(self, b);
    }

    fn visit_expr_method_call(&mut self, m: &'ast syn::ExprMethodCall) {
        let name = m.method.to_string();
        if matches!(name.as_str(), "min" | "clamp") {
            self.names_in(&m.receiver);
        }
        if matches!(name.as_str(), "min" | "clamp") || CHECKS.iter().any(|w| name.contains(w)) {
            m.args.iter().for_each(|a| self.names_in(a));
        }
        visit::visit_expr_method_call(self, m);
    }

    fn visit_expr_call(&mut self, c: &'ast syn::ExprCall) {
        if let Expr::Path(p) = &*c.func {
            let last = p
                .path
                .segments
                .last()
                .map(|s| s.ident.to_string())
                .unwrap_or_default();
            if CHECKS.iter().any(|w| last.contains(w)) {
                c.args.iter().for_each(|a| self.names_in(a));
            }
        }
        visit::visit_expr_call(self, c);
    }

    fn visit_macro(&mut self, m: &'ast syn::Macro) {
        self.tokens(m.tokens.clone());
    }
}

/// Identifiers and field names used in an expression.
struct Names(Vec<String>);

impl<'ast> Visit<'ast> for Names {
    fn visit_ident(&mut self, i: &'ast proc_macro2::Ident) {
        self.0.push(i.to_string());
    }
}
