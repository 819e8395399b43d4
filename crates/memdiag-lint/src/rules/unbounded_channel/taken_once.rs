//! A sender parked in a private `Option` field until its one use:
//! `self.interrupt = Some(tx)`, where every other use of the field
//! `interrupt` in the file takes the sender out (`self.interrupt.take()`)
//! and either drops it or sends once with it, outside loops:
//! `if let Some(tx) = self.interrupt.take() { let _ = tx.send(()); }`.
//! A taken sender leaves the field, so each channel parked there carries at
//! most one message.

use super::{mentions, uses_in, SENDS};
use syn::visit::{self, Visit};
use syn::Expr;

/// Are `sender`'s only uses in `stmts` stores `x.field = Some(sender)` into
/// private fields that are only ever taken once?
pub(super) fn taken_once(ast: &syn::File, stmts: &[syn::Stmt], sender: &str) -> bool {
    let mut stores = Stores {
        sender,
        fields: Vec::new(),
        values: 0,
        in_macros: false,
    };
    stmts.iter().for_each(|s| stores.visit_stmt(s));
    // Counted as values, not tokens: the local may share the field's name.
    if stores.fields.is_empty() || stores.fields.len() != stores.values || stores.in_macros {
        return false;
    }
    stores.fields.iter().all(|field| {
        let mut decl = Declared {
            field,
            private: 0,
            public: 0,
        };
        decl.visit_file(ast);
        let mut uses = FieldUses { field, others: 0 };
        uses.visit_file(ast);
        decl.private > 0 && decl.public == 0 && uses.others == 0
    })
}

fn named<'e>(e: &'e Expr, field: &str) -> Option<&'e syn::ExprField> {
    match e {
        Expr::Field(f) if matches!(&f.member, syn::Member::Named(n) if n == field) => Some(f),
        _ => None,
    }
}

/// `x.field.take()`.
fn takes(e: &Expr, field: &str) -> bool {
    matches!(e, Expr::MethodCall(m) if m.method == "take" && m.args.is_empty()
        && named(&m.receiver, field).is_some())
}

/// The fields `f` of every `x.f = Some(sender)`, and how often the sender
/// is named as a value or in a macro.
struct Stores<'s> {
    sender: &'s str,
    fields: Vec<String>,
    values: usize,
    in_macros: bool,
}

impl<'ast> Visit<'ast> for Stores<'_> {
    fn visit_expr_assign(&mut self, a: &'ast syn::ExprAssign) {
        let stored = matches!(&*a.right, Expr::Call(c) if c.args.len() == 1
            && matches!(&*c.func, Expr::Path(p) if p.path.is_ident("Some"))
            && matches!(&c.args[0], Expr::Path(p) if p.path.is_ident(self.sender)));
        if let (true, Expr::Field(f)) = (stored, &*a.left) {
            if let syn::Member::Named(n) = &f.member {
                self.fields.push(n.to_string());
            }
        }
        visit::visit_expr_assign(self, a);
    }

    fn visit_expr_path(&mut self, p: &'ast syn::ExprPath) {
        self.values += usize::from(p.path.is_ident(self.sender));
    }

    fn visit_macro(&mut self, m: &'ast syn::Macro) {
        self.in_macros |= m
            .tokens
            .clone()
            .into_iter()
            .any(|t| mentions(&t, self.sender));
    }
}

/// Declarations of a field of that name: private ones, and any other.
struct Declared<'a> {
    field: &'a str,
    private: u32,
    public: u32,
}

impl<'ast> Visit<'ast> for Declared<'_> {
    fn visit_field(&mut self, f: &'ast syn::Field) {
        if f.ident.as_ref().is_some_and(|i| i == self.field) {
            match f.vis {
                syn::Visibility::Inherited => self.private += 1,
                _ => self.public += 1,
            }
        }
    }
}

/// Counts the uses of `.field` that are neither a store nor a take whose
/// value is dropped or sends once.
struct FieldUses<'a> {
    field: &'a str,
    others: u32,
}

impl<'ast> Visit<'ast> for FieldUses<'_> {
    fn visit_stmt(&mut self, s: &'ast syn::Stmt) {
        match s {
            // `self.field.take();` drops the sender.
            syn::Stmt::Expr(e, Some(_)) if takes(e, self.field) => {}
            _ => visit::visit_stmt(self, s),
        }
    }

    fn visit_expr(&mut self, e: &'ast Expr) {
        match e {
            Expr::Assign(a) if named(&a.left, self.field).is_some() => self.visit_expr(&a.right),
            Expr::If(i) => match &*i.cond {
                Expr::Let(l) if takes(&l.expr, self.field) => {
                    if !sends_once(&l.pat, &i.then_branch) {
                        self.others += 1;
                    }
                    if let Some((_, els)) = &i.else_branch {
                        self.visit_expr(els);
                    }
                }
                _ => visit::visit_expr(self, e),
            },
            _ if named(e, self.field).is_some() => self.others += 1,
            _ => visit::visit_expr(self, e),
        }
    }
}

/// `Some(tx)` bound, and `tx` used once in `block`: a send outside loops
/// and closures.
fn sends_once(pat: &syn::Pat, block: &syn::Block) -> bool {
    let syn::Pat::TupleStruct(ts) = pat else {
        return false;
    };
    if !ts.path.is_ident("Some") {
        return false;
    }
    let Some(syn::Pat::Ident(tx)) = ts.elems.first() else {
        return false;
    };
    let tx = tx.ident.to_string();
    struct V<'a> {
        tx: &'a str,
        repeated: u32,
        sends: u32,
    }
    impl<'ast> Visit<'ast> for V<'_> {
        fn visit_expr(&mut self, e: &'ast Expr) {
            let repeats = matches!(
                e,
                Expr::Loop(_) | Expr::While(_) | Expr::ForLoop(_) | Expr::Closure(_)
            );
            self.repeated += u32::from(repeats);
            if let Expr::MethodCall(m) = e {
                let on_tx = matches!(&*m.receiver, Expr::Path(p) if p.path.is_ident(self.tx));
                if on_tx && SENDS.contains(&m.method.to_string().as_str()) && self.repeated == 0 {
                    self.sends += 1;
                }
            }
            visit::visit_expr(self, e);
            self.repeated -= u32::from(repeats);
        }
    }
    let mut v = V {
        tx: &tx,
        repeated: 0,
        sends: 0,
    };
    v.visit_block(block);
    let stmts = &block.stmts;
    v.sends == 1 && ts.elems.len() == 1 && uses_in(stmts, &tx) == 1
}
