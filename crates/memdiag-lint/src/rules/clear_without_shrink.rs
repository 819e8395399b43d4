//! `clear-without-shrink`: `clear()` on a long-lived buffer (a struct field or
//! static, declared somewhere in the crate as a `Vec`, `String`, `VecDeque`,
//! `HashMap`, `HashSet`, ..) that is filled in bulk (`extend_from_slice`,
//! `push_str`, `write_all`, `read_to_end`, ..: data whose size comes from
//! input, unlike item-by-item `push`es of program structure) and never
//! shrunk, reassigned or taken anywhere: `clear` keeps the capacity, so one
//! large input pins its peak size for the life of the owner. Reported once
//! per buffer and file, at its first `clear()`. A wrapper's own
//! `fn clear(&mut self)` is not a use: it passes `clear`'s contract (keep the
//! capacity) on to its caller, who decides whether to keep the wrapper.
//! A field whose every owner lives for one call only ([`crate::owners`])
//! is not long-lived: its capacity goes with the owner.

use super::{Hit, Rule, RuleInfo};
use crate::facts::{Facts, RESET};
use crate::receivers::{self, Use};
use crate::source::SourceFile;
use std::collections::HashSet;
use syn::spanned::Spanned;
use syn::visit::{self, Visit};

static INFO: RuleInfo = RuleInfo {
    id: "clear-without-shrink",
    summary: "long-lived buffer is cleared but never shrunk: it keeps its peak capacity",
    help: "after clearing, cap the retained capacity, e.g. `if buf.capacity() > LIMIT { buf.shrink_to(LIMIT) }`, or replace it with a new buffer",
};

pub(crate) const RULE: Rule = Rule {
    info: &INFO,
    check,
    confirm: Some(confirm),
};

const BULK_FILLS: &[&str] = &[
    "extend_from_slice",
    "extend_from_within",
    "push_str",
    "write_all",
    "write_str",
    "read_to_end",
    "read_to_string",
    "append",
];

fn check(file: &SourceFile, out: &mut Vec<Hit>) {
    let mut own_clears = OwnClears(Vec::new());
    own_clears.visit_file(&file.ast);
    let mut seen = HashSet::new();
    receivers::walk(&file.ast, &mut |root, usage| {
        if let Use::Method(m) = usage {
            let line = m.span().start().line;
            if m.method == "clear"
                && m.args.is_empty()
                && root.long_lived
                && !own_clears.0.iter().any(|(a, b)| (*a..=*b).contains(&line))
                && seen.insert(root.name.clone())
            {
                let msg = format!(
                    "`{}` is cleared but keeps its capacity: nothing ever shrinks it",
                    root.name
                );
                let mut hit = file.hit(&INFO, m.span(), msg);
                hit.key = Some(root.name.clone());
                out.push(hit);
            }
        }
    });
}

/// Line ranges of methods `fn clear(&mut self)` (no other parameter).
struct OwnClears(Vec<(usize, usize)>);

impl<'ast> Visit<'ast> for OwnClears {
    fn visit_impl_item_fn(&mut self, f: &'ast syn::ImplItemFn) {
        let only_self = matches!(
            f.sig.inputs.iter().collect::<Vec<_>>().as_slice(),
            [syn::FnArg::Receiver(r)] if r.reference.is_some() && r.mutability.is_some()
        );
        if f.sig.ident == "clear" && only_self {
            let span = f.block.span();
            self.0.push((span.start().line, span.end().line));
        }
        visit::visit_impl_item_fn(self, f);
    }
}

fn confirm(name: &str, facts: &Facts) -> Option<Vec<String>> {
    (facts.retaining.contains(name)
        && facts.called(name, BULK_FILLS)
        && !facts.called(name, &["shrink_to_fit", "shrink_to", RESET])
        && !facts.owners.short_lived_field(name))
    .then(|| vec![name.to_string()])
}
