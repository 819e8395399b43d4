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

/// An expression that evidently produces an owning value.
pub(crate) fn owning_expr(e: &Expr) -> bool {
    match e {
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
