//! `leak-in-loop`: `Box::leak`/`String::leak`/`Vec::leak`/`.leak()` where the
//! code runs repeatedly (in a loop or per request, see `ctx`): each run leaks
//! one more allocation for good.

use super::{Hit, Rule, RuleInfo};
use crate::ctx::walk_exprs;
use crate::source::SourceFile;
use syn::spanned::Spanned;
use syn::Expr;

static INFO: RuleInfo = RuleInfo {
    id: "leak-in-loop",
    summary: "leaks an allocation on every iteration or request",
    help: "leak once (e.g. in a `OnceLock`/`LazyLock`), or keep an owned value (`Box`, `String`, `Arc<str>`) instead of a `&'static` one",
};

pub(crate) const RULE: Rule = Rule {
    info: &INFO,
    check,
    confirm: None,
};

fn check(file: &SourceFile, out: &mut Vec<Hit>) {
    walk_exprs(&file.ast, &mut |e, ctx| {
        if !ctx.repeated() {
            return;
        }
        let what = match e {
            Expr::Call(c) => file
                .callee(c)
                .filter(|p| p.len() >= 2 && p[p.len() - 1] == "leak")
                .filter(|p| ["Box", "String", "Vec"].contains(&p[p.len() - 2].as_str()))
                .map(|p| p[p.len() - 2..].join("::")),
            Expr::MethodCall(m) if m.method == "leak" && m.args.is_empty() => {
                Some(".leak()".to_string())
            }
            _ => None,
        };
        if let Some(what) = what {
            let place = if ctx.loop_depth > 0 {
                "inside a loop"
            } else {
                "in per-request code"
            };
            out.push(file.hit(
                &INFO,
                e.span(),
                format!("`{what}` {place} leaks memory on every run"),
            ));
        }
    });
}
