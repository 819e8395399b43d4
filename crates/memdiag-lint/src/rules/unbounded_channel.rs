//! `unbounded-channel`: a channel with no capacity limit
//! (`std::sync::mpsc::channel()`, `crossbeam`/`flume`/`async_channel`
//! `unbounded()`, tokio `unbounded_channel()`, futures `mpsc::unbounded()`):
//! when the receiver lags, queued messages grow without bound. Bounded
//! constructors take a capacity (tokio's `mpsc::channel(n)`), so a `channel`
//! call with arguments is not flagged, and neither is `oneshot::channel()`.

use super::{Hit, Rule, RuleInfo};
use crate::source::SourceFile;
use syn::spanned::Spanned;
use syn::visit::{self, Visit};

static INFO: RuleInfo = RuleInfo {
    id: "unbounded-channel",
    summary: "unbounded channel: a lagging receiver lets the queue grow without limit",
    help: "use a bounded channel (`sync_channel(n)`, `bounded(n)`, tokio `mpsc::channel(n)`) so senders wait or fail when the receiver lags",
};

pub(crate) const RULE: Rule = Rule {
    info: &INFO,
    check,
    confirm: None,
};

fn check(file: &SourceFile, out: &mut Vec<Hit>) {
    Calls { file, out }.visit_file(&file.ast);
}

struct Calls<'a, 'f> {
    file: &'a SourceFile<'f>,
    out: &'a mut Vec<Hit>,
}

impl<'ast> Visit<'ast> for Calls<'_, '_> {
    fn visit_expr_call(&mut self, c: &'ast syn::ExprCall) {
        if let Some(path) = self.file.callee(c).filter(|_| c.args.is_empty()) {
            let last = path.last().map(String::as_str).unwrap_or("");
            let parent = path.len().checked_sub(2).map(|i| path[i].as_str());
            let unbounded = match last {
                "unbounded" | "unbounded_channel" => true,
                "channel" => parent == Some("mpsc"),
                _ => false,
            };
            if unbounded {
                let msg = format!(
                    "`{}()` creates an unbounded channel",
                    path[path.len().saturating_sub(2)..].join("::")
                );
                self.out.push(self.file.hit(&INFO, c.span(), msg));
            }
        }
        visit::visit_expr_call(self, c);
    }
}
