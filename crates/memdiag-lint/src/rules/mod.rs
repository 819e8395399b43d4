//! The rules, one file each. A rule checks one parsed file; a crate-wide rule
//! marks its hits with a key and confirms them once every file's [`Facts`]
//! are merged.

use crate::facts::Facts;
use crate::finding::Finding;
use crate::source::SourceFile;
use serde::Serialize;

mod alloc_from_input;
mod clear_without_shrink;
mod forget_owned;
mod insert_only;
mod large_stack_array;
mod leak_in_loop;
pub(crate) mod raw_without_release;
pub(crate) mod rc_cycle;
mod spawn_in_loop;
mod unbounded_channel;

/// A rule's stable id, what it detects and how to fix it.
#[derive(Debug, Serialize)]
pub struct RuleInfo {
    pub id: &'static str,
    pub summary: &'static str,
    pub help: &'static str,
}

/// A finding before crate-wide confirmation.
pub(crate) struct Hit {
    pub finding: Finding,
    /// For crate-wide rules: what [`Rule::confirm`] looks up in the facts.
    pub key: Option<String>,
}

/// Confirms a hit's key against the facts, returning the names of what the
/// hit involves: confirmed hits of one rule whose names overlap are one
/// problem, reported once (an empty list overlaps none). `None` drops it.
pub(crate) type Confirm = fn(&str, &Facts) -> Option<Vec<String>>;

pub(crate) struct Rule {
    pub info: &'static RuleInfo,
    pub check: fn(&SourceFile, &mut Vec<Hit>),
    /// Keeps a keyed hit only if the crate-wide facts confirm it.
    pub confirm: Option<Confirm>,
}

pub(crate) static RULES: &[Rule] = &[
    leak_in_loop::RULE,
    forget_owned::RULE,
    raw_without_release::RULE,
    rc_cycle::RULE,
    unbounded_channel::RULE,
    insert_only::RULE,
    spawn_in_loop::RULE,
    alloc_from_input::RULE,
    clear_without_shrink::RULE,
    large_stack_array::RULE,
];

/// Every rule, in a stable order.
pub fn all() -> impl Iterator<Item = &'static RuleInfo> {
    RULES.iter().map(|r| r.info)
}

/// The rule with this id.
pub fn info(id: &str) -> Option<&'static RuleInfo> {
    all().find(|r| r.id == id)
}
