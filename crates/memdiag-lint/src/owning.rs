//! Which types and expressions evidently own heap memory or an OS resource,
//! by name (no type information).

use crate::source::segment_names;
use crate::types;
use syn::Expr;

pub(crate) const OWNING_TYPES: &[&str] = &[
    "Box",
    "Arc",
    "Rc",
    "File",
    "TcpStream",
    "TcpListener",
    "UdpSocket",
    "Child",
];
const OWNING_CALLS: &[&str] = &[
    "to_vec",
    "to_string",
    "to_owned",
    "collect",
    "into_boxed_slice",
    "into_bytes",
];
const OWNING_MACROS: &[&str] = &["vec", "format"];

/// An expression that evidently produces a new owning value. A `from_raw*`
/// call does not: it rebuilds a value whose ownership something else holds
/// (the `into_raw` pointer, a borrowed fd), so keeping it from dropping is
/// how that owner is borrowed, not a leak.
pub(crate) fn owning_expr(e: &Expr) -> bool {
    match e {
        _ if from_raw_call(e).is_some() => false,
        Expr::Call(c) => match &*c.func {
            Expr::Path(p) => {
                let segs = segment_names(&p.path);
                segs.len() >= 2 && {
                    let ty = segs[segs.len() - 2].as_str();
                    OWNING_TYPES.contains(&ty) || types::COLLECTIONS.contains(&ty)
                }
            }
            _ => false,
        },
        Expr::MethodCall(m) => OWNING_CALLS.contains(&m.method.to_string().as_str()),
        Expr::Macro(m) => m
            .mac
            .path
            .get_ident()
            .is_some_and(|i| OWNING_MACROS.contains(&i.to_string().as_str())),
        Expr::Try(t) => owning_expr(&t.expr),
        Expr::Paren(p) => owning_expr(&p.expr),
        _ => false,
    }
}

/// `X::from_raw*(..)` (`from_raw`, `from_raw_fd`, `from_raw_parts`..), also
/// in parentheses or an `unsafe` block of its own.
pub(crate) fn from_raw_call(e: &Expr) -> Option<&syn::ExprCall> {
    match e {
        Expr::Call(c) => match &*c.func {
            Expr::Path(p) => p
                .path
                .segments
                .last()
                .filter(|s| s.ident.to_string().starts_with("from_raw"))
                .map(|_| c),
            _ => None,
        },
        Expr::Paren(p) => from_raw_call(&p.expr),
        Expr::Unsafe(u) => match u.block.stmts.as_slice() {
            [syn::Stmt::Expr(e, None)] => from_raw_call(e),
            _ => None,
        },
        _ => None,
    }
}
