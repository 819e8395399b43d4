//! `insert-only`: a long-lived collection that is added to but never shrunk.
//! Long-lived means a static (also in `thread_local!`/`lazy_static!`) or a
//! struct field whose collection sits behind a lock or cell (`Mutex`,
//! `RwLock`, `RefCell`, ..) or is a concurrent map: shared state, kept across
//! calls. The collection is matched by name across the crate: some
//! insert-like method is called on it (through a field, static or guard of
//! one) and no removing method, assignment or `mem::take` on that name
//! anywhere. Not reported: a map or set keyed by a `TypeId`, `bool`, `u8`,
//! `i8` or `()` (its keys are few and fixed at build time), and a field
//! whose every owner lives for one call only ([`crate::owners`]).

use super::{Hit, Rule, RuleInfo};
use crate::facts::{Facts, RESET};
use crate::source::{field_span, SourceFile};
use crate::statics::statics;
use crate::types::{self, COLLECTIONS, SHARED_MUTABLE};
use syn::visit::Visit;

static INFO: RuleInfo = RuleInfo {
    id: "insert-only",
    summary: "long-lived collection only grows: nothing ever removes from it",
    help: "bound it: evict old entries (`remove`/`retain`/`pop`), use an LRU or TTL cache, or clear it when its owner's work is done",
};

pub(crate) const RULE: Rule = Rule {
    info: &INFO,
    check,
    confirm: Some(confirm),
};

const INSERTS: &[&str] = &[
    "insert",
    "push",
    "push_back",
    "push_front",
    "push_str",
    "extend",
    "entry",
    "append",
    "get_or_insert",
    "get_or_insert_with",
    "or_insert",
    "or_insert_with",
    "extend_from_slice",
];
const REMOVES: &[&str] = &[
    "remove",
    "remove_entry",
    "remove_if",
    "remove_if_mut",
    "swap_remove",
    "shift_remove",
    "clear",
    "retain",
    "retain_mut",
    "pop",
    "pop_front",
    "pop_back",
    "drain",
    "truncate",
    "split_off",
    "evict",
    "take",
    "shrink_to",
    "into_iter",
    "resize",
    "dedup",
    RESET,
];

fn check(file: &SourceFile, out: &mut Vec<Hit>) {
    let mut flag = |ident: &syn::Ident, span, what: &str| {
        let msg =
            format!("{what} `{ident}` is only ever added to: it grows for the life of the program");
        let mut hit = file.hit(&INFO, span, msg);
        hit.key = Some(ident.to_string());
        out.push(hit);
    };
    for s in statics(&file.ast) {
        if types::mentions(&types::names(&s.ty), COLLECTIONS) && !finite_keys(&s.ty) {
            flag(&s.ident, s.ident.span(), "static");
        }
    }
    let mut fields = Fields(Vec::new());
    fields.visit_file(&file.ast);
    for f in fields.0 {
        let names = types::names(&f.ty);
        if let Some(ident) = f
            .ident
            .as_ref()
            .filter(|_| shared_collection(&names) && !finite_keys(&f.ty))
        {
            flag(ident, field_span(f), "field");
        }
    }
}

/// Keys that can take only a few values, fixed when the program is built:
/// one entry per type (a `TypeId`), or per value of a small primitive.
const FINITE_KEYS: &[&str] = &["TypeId", "bool", "u8", "i8", "()"];

/// A map or set with [`FINITE_KEYS`]: it stops growing once every key is in.
fn finite_keys(ty: &syn::Type) -> bool {
    types::key_type(ty).is_some_and(|k| FINITE_KEYS.contains(&k.as_str()))
}

/// A collection behind a lock or cell, or a concurrent collection.
fn shared_collection(names: &[String]) -> bool {
    let lock = names
        .iter()
        .position(|n| SHARED_MUTABLE.contains(&n.as_str()));
    let coll = names
        .iter()
        .rposition(|n| COLLECTIONS.contains(&n.as_str()));
    matches!((lock, coll), (Some(l), Some(c)) if l <= c)
}

fn confirm(name: &str, facts: &Facts) -> Option<Vec<String>> {
    (facts.held_called(name, INSERTS)
        && !facts.called(name, REMOVES)
        && !facts.owners.short_lived_field(name))
    .then(|| vec![name.to_string()])
}

struct Fields<'ast>(Vec<&'ast syn::Field>);

impl<'ast> Visit<'ast> for Fields<'ast> {
    fn visit_item_struct(&mut self, s: &'ast syn::ItemStruct) {
        self.0.extend(s.fields.iter());
        syn::visit::visit_item_struct(self, s);
    }
}
