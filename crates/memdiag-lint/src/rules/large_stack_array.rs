//! `large-stack-array`: an array of 64 KiB or more built or declared inside a
//! fn body: it lives on the stack (overflow risk on small thread stacks), or,
//! in an async fn, inside the future, which is then that large while pending.
//! Sizes are evaluated from literals, arithmetic and `const`s of the file;
//! the element size from a literal suffix or the `let` type, else 1 byte (so
//! the estimate is a lower bound).

use super::{Hit, Rule, RuleInfo};
use crate::ctx::walk_exprs;
use crate::source::SourceFile;
use std::collections::HashMap;
use syn::spanned::Spanned;
use syn::visit::{self, Visit};
use syn::Expr;

static INFO: RuleInfo = RuleInfo {
    id: "large-stack-array",
    summary: "very large array on the stack or in a future",
    help: "allocate it on the heap (`vec![0; N]`, `Box<[T]>`) or reuse one buffer",
};

pub(crate) const RULE: Rule = Rule {
    info: &INFO,
    check,
    confirm: None,
};

pub(crate) const LIMIT: u128 = 64 * 1024;

fn check(file: &SourceFile, out: &mut Vec<Hit>) {
    let consts = Consts::of(&file.ast);
    let mut typed = Vec::new();
    walk_exprs(&file.ast, &mut |e, ctx| {
        let size = match e {
            Expr::Repeat(r) if ctx.in_fn => consts
                .eval(&r.len)
                .map(|n| n.saturating_mul(elem_size_of_expr(&r.expr).unwrap_or(1))),
            _ => None,
        };
        if let Some(bytes) = size.filter(|b| *b >= LIMIT) {
            typed.push((e.span(), bytes, ctx.in_async_fn));
        }
    });
    // `let x: [T; N]` declares stack storage even when the value comes from elsewhere.
    let mut lets = Lets {
        consts: &consts,
        found: Vec::new(),
    };
    lets.visit_file(&file.ast);
    typed.extend(lets.found);
    // Stable: on a line with both, the expression (which knows about async) wins.
    typed.sort_by_key(|(s, _, _)| s.start().line);
    typed.dedup_by_key(|(s, _, _)| s.start().line);
    for (span, bytes, in_async) in typed {
        let place = if in_async {
            "in this future"
        } else {
            "on the stack"
        };
        out.push(file.hit(
            &INFO,
            span,
            format!("array of {} KiB {place}", bytes / 1024),
        ));
    }
}

fn elem_size_of_expr(e: &Expr) -> Option<u128> {
    match e {
        Expr::Lit(l) => match &l.lit {
            syn::Lit::Int(i) => prim_size(i.suffix()),
            syn::Lit::Float(f) => prim_size(f.suffix()),
            syn::Lit::Bool(_) | syn::Lit::Byte(_) => Some(1),
            syn::Lit::Char(_) => Some(4),
            _ => None,
        },
        _ => None,
    }
}

fn prim_size(name: &str) -> Option<u128> {
    Some(match name {
        "u8" | "i8" | "bool" => 1,
        "u16" | "i16" => 2,
        "u32" | "i32" | "f32" | "char" => 4,
        "u64" | "i64" | "f64" | "usize" | "isize" => 8,
        "u128" | "i128" => 16,
        _ => return None,
    })
}

struct Consts(HashMap<String, u128>);

impl Consts {
    fn of(ast: &syn::File) -> Consts {
        let mut c = Consts(HashMap::new());
        for item in &ast.items {
            if let syn::Item::Const(k) = item {
                if let Some(v) = c.eval(&k.expr) {
                    c.0.insert(k.ident.to_string(), v);
                }
            }
        }
        c
    }

    fn eval(&self, e: &Expr) -> Option<u128> {
        use syn::BinOp::*;
        match e {
            Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Int(i),
                ..
            }) => i.base10_parse().ok(),
            Expr::Paren(p) => self.eval(&p.expr),
            Expr::Group(g) => self.eval(&g.expr),
            Expr::Cast(c) => self.eval(&c.expr),
            Expr::Block(b) if b.block.stmts.len() == 1 => match &b.block.stmts[0] {
                syn::Stmt::Expr(e, None) => self.eval(e),
                _ => None,
            },
            Expr::Path(p) => self
                .0
                .get(&p.path.segments.last()?.ident.to_string())
                .copied(),
            Expr::Binary(b) => {
                let (l, r) = (self.eval(&b.left)?, self.eval(&b.right)?);
                match b.op {
                    Add(_) => l.checked_add(r),
                    Sub(_) => l.checked_sub(r),
                    Mul(_) => l.checked_mul(r),
                    Div(_) => l.checked_div(r),
                    Shl(_) => u32::try_from(r)
                        .ok()
                        .and_then(|r| l.checked_shl(r))
                        .filter(|v| v >> r == l),
                    _ => None,
                }
            }
            _ => None,
        }
    }

    fn type_size(&self, ty: &syn::Type) -> Option<u128> {
        match ty {
            syn::Type::Array(a) => self
                .eval(&a.len)?
                .checked_mul(self.type_size(&a.elem).unwrap_or(1)),
            syn::Type::Path(p) => prim_size(&p.path.get_ident()?.to_string()),
            _ => None,
        }
    }
}

struct Lets<'a> {
    consts: &'a Consts,
    found: Vec<(proc_macro2::Span, u128, bool)>,
}

impl<'ast> Visit<'ast> for Lets<'_> {
    fn visit_local(&mut self, l: &'ast syn::Local) {
        if let syn::Pat::Type(t) = &l.pat {
            if let Some(bytes) = self
                .consts
                .type_size(&t.ty)
                .filter(|b| *b >= LIMIT && matches!(*t.ty, syn::Type::Array(_)))
            {
                self.found.push((l.span(), bytes, false));
            }
        }
        visit::visit_local(self, l);
    }
}
