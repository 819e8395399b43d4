//! `rc-cycle`: a struct field holding an `Rc`/`Arc` that, through the crate's
//! type graph, can point back to the struct itself, with interior mutability
//! (`RefCell`, `Mutex`, ..) somewhere on the way, which is what it takes to
//! close a cycle, and no `Weak` edge among the types of the cycle. Reference
//! counts in such a cycle never reach zero. References and raw pointers keep
//! nothing alive, and neither does a `ManuallyDrop`: drop glue never releases
//! what it holds, the code does by hand. Nor does a `oneshot::Sender<T>`: it
//! holds no `T` while it waits, and sending consumes it.
//!
//! Types are matched by name: a plain name means the type of that name in
//! the same file if there is one, else the crate's only type of that name,
//! if the file imports it from the crate or has a glob import (a name it
//! neither defines nor imports is the prelude's: `String`; one it imports
//! from elsewhere, `use std::task::Waker`, is that path); a
//! qualified path (`sched::Handle`) means the only one outside this file,
//! when its first segment is `crate`/`self`/`super` or a module the crate
//! declares (`proto::Incoming` of a dependency renamed `proto` is not the
//! crate's `Incoming`). A name defined in several files resolves to none (no
//! finding rather than a guess).
//!
//! A cycle is reported once: the strong fields of cycles that share a type
//! are one finding, on the first field, with the others as related
//! locations. Fixing one cycle means looking at all its edges together.

use super::{Hit, Rule, RuleInfo};
use crate::facts::Facts;
use crate::source::{field_span, SourceFile};
use crate::types::SHARED_MUTABLE;
use std::collections::{HashMap, HashSet, VecDeque};
use std::path::Path;

static INFO: RuleInfo = RuleInfo {
    id: "rc-cycle",
    summary: "`Rc`/`Arc` fields can form a reference cycle that is never freed",
    help: "make the back-reference a `Weak` (`Rc::downgrade`), or break the cycle explicitly before dropping",
};

pub(crate) const RULE: Rule = Rule {
    info: &INFO,
    check,
    confirm: Some(confirm),
};

/// A field's reference from one type to another.
#[derive(Clone, Debug)]
pub(crate) struct Edge {
    /// Last segment of the referenced type's path.
    pub to: String,
    /// Written as a path with a module (`a::B`), so not this file's `B`.
    pub qualified: bool,
    /// The first segment of a qualified path (`a` of `a::B`).
    pub root: Option<String>,
    pub rc: bool,
    pub mutable: bool,
    pub weak: bool,
}

/// Graph node of type `name` defined in `path`.
pub(crate) fn node(path: &Path, name: &str) -> String {
    format!("{}#{name}", path.display())
}

/// Node -> edges of its fields, for every struct and enum in the file.
pub(crate) fn edges(file: &SourceFile) -> HashMap<String, Vec<Edge>> {
    let mut graph: HashMap<String, Vec<Edge>> = HashMap::new();
    let types = types_with_fields(&file.ast);
    let defined = types.iter().map(|(name, _)| name.clone()).collect();
    for (name, fields) in types {
        let entry = graph.entry(node(file.path, &name)).or_default();
        for f in fields {
            entry.extend(field_edges(file, &f.ty, &defined));
        }
    }
    graph
}

/// The edges of a field's type. A plain name the file imports from elsewhere
/// (`use std::task::Waker`) is that path, not the crate's type of that name.
/// A plain name the file neither defines nor imports (and no glob import
/// could bring in) is the prelude's or a generic parameter: no edge.
fn field_edges(file: &SourceFile, ty: &syn::Type, defined: &HashSet<String>) -> Vec<Edge> {
    let mut edges = Vec::new();
    type_edges(ty, Flags::default(), &mut edges);
    edges.retain(|e| e.qualified || defined.contains(&e.to) || file.may_import(&e.to));
    for e in edges.iter_mut().filter(|e| !e.qualified) {
        if let Some(root) = file.import_root(&e.to) {
            e.qualified = true;
            e.root = Some(root.to_string());
        }
    }
    edges
}

fn check(file: &SourceFile, out: &mut Vec<Hit>) {
    let types = types_with_fields(&file.ast);
    let defined: HashSet<String> = types.iter().map(|(name, _)| name.clone()).collect();
    for (name, fields) in types {
        for field in fields {
            let edges = field_edges(file, &field.ty, &defined);
            for e in edges.iter().filter(|e| e.rc && !e.weak) {
                let msg = format!(
                    "`{name}` holds a strong reference to `{}` that can lead back to `{name}`",
                    e.to
                );
                let mut hit = file.hit(&INFO, field_span(field), msg);
                hit.key = Some(format!(
                    "{} {} {} {} {}",
                    node(file.path, &name),
                    e.to,
                    e.qualified,
                    e.mutable,
                    e.root.as_deref().unwrap_or("-")
                ));
                out.push(hit);
            }
        }
    }
}

/// Is there a path `to -> .. -> from` that, with the field's edge, closes a
/// cycle with interior mutability and no weak edge among its types? If so,
/// the cycle's types, so that its other fields join this finding.
fn confirm(key: &str, facts: &Facts) -> Option<Vec<String>> {
    let mut parts = key.rsplitn(5, ' ');
    let (Some(root), Some(mutable), Some(qualified), Some(to), Some(from)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return None;
    };
    let first = Edge {
        to: to.to_string(),
        qualified: qualified == "true",
        root: (root != "-").then(|| root.to_string()),
        rc: true,
        mutable: false,
        weak: false,
    };
    let to = resolve(facts, from, &first)?;
    let start = (to, mutable == "true");
    if start.0 == from && start.1 {
        return unless_weak(facts, HashSet::from([start.0]));
    }
    let mut parent: HashMap<(String, bool), (String, bool)> = HashMap::new();
    let mut queue = VecDeque::from([start.clone()]);
    let mut seen = HashSet::from([start]);
    while let Some((node, m)) = queue.pop_front() {
        for e in facts
            .edges
            .get(&node)
            .into_iter()
            .flatten()
            .filter(|e| !e.weak)
        {
            let Some(to) = resolve(facts, &node, e) else {
                continue;
            };
            let next = (to, m || e.mutable);
            if !seen.insert(next.clone()) {
                continue;
            }
            parent.insert(next.clone(), (node.clone(), m));
            if next.0 == from && next.1 {
                return unless_weak(facts, path_nodes(&parent, next));
            }
            queue.push_back(next);
        }
    }
    None
}

/// The cycle's types, unless a weak edge links two of them.
fn unless_weak(facts: &Facts, cycle: HashSet<String>) -> Option<Vec<String>> {
    (!has_weak_between(facts, &cycle)).then(|| cycle.into_iter().collect())
}

fn path_nodes(
    parent: &HashMap<(String, bool), (String, bool)>,
    mut at: (String, bool),
) -> HashSet<String> {
    let mut nodes = HashSet::from([at.0.clone()]);
    while let Some(p) = parent.get(&at) {
        nodes.insert(p.0.clone());
        at = p.clone();
    }
    nodes
}

fn has_weak_between(facts: &Facts, nodes: &HashSet<String>) -> bool {
    nodes.iter().any(|n| {
        let weak = facts.edges.get(n).into_iter().flatten().filter(|e| e.weak);
        weak.filter_map(|e| resolve(facts, n, e))
            .any(|to| nodes.contains(&to))
    })
}

/// The node an edge of `from` points at, per the module doc's name rules.
fn resolve(facts: &Facts, from: &str, edge: &Edge) -> Option<String> {
    // `proto::Incoming`, where `proto` is another crate (a renamed
    // dependency, a `use other_crate::module`), is not this crate's type.
    let in_crate = |r: &str| matches!(r, "crate" | "self" | "super") || facts.modules.contains(r);
    if edge.qualified && !edge.root.as_deref().is_some_and(in_crate) {
        return None;
    }
    let file = from.rsplit_once('#')?.0;
    let local = format!("{file}#{}", edge.to);
    if !edge.qualified && facts.edges.contains_key(&local) {
        return Some(local);
    }
    match facts.type_defs.get(&edge.to).map(Vec::as_slice) {
        Some([only]) if *only != local => Some(only.clone()),
        _ => None,
    }
}

#[derive(Clone, Copy, Default)]
struct Flags {
    rc: bool,
    mutable: bool,
    weak: bool,
}

fn type_edges(ty: &syn::Type, flags: Flags, out: &mut Vec<Edge>) {
    match ty {
        syn::Type::Path(p) => {
            let Some(seg) = p.path.segments.last() else {
                return;
            };
            let name = seg.ident.to_string();
            // A waiting `oneshot::Sender<T>` holds no `T`: `send(self, t)`
            // consumes the sender as it hands the value over.
            if name == "Sender" && p.path.segments.iter().any(|s| s.ident == "oneshot") {
                return;
            }
            let mut inner = flags;
            match name.as_str() {
                "Rc" | "Arc" => inner.rc = true,
                "Weak" => inner.weak = true,
                // Never dropped by drop glue: what it holds is released by
                // hand, like what a raw pointer points at.
                "ManuallyDrop" => return,
                n if SHARED_MUTABLE.contains(&n) => inner.mutable = true,
                _ => out.push(Edge {
                    to: name,
                    qualified: p.qself.is_some()
                        || p.path.segments.len() > 1 && !is_self_path(&p.path),
                    root: p
                        .qself
                        .is_none()
                        .then(|| p.path.segments.first().map(|s| s.ident.to_string()))
                        .flatten(),
                    rc: flags.rc,
                    mutable: flags.mutable,
                    weak: flags.weak,
                }),
            }
            if let syn::PathArguments::AngleBracketed(args) = &seg.arguments {
                for arg in &args.args {
                    if let syn::GenericArgument::Type(t) = arg {
                        type_edges(t, inner, out);
                    }
                }
            }
        }
        syn::Type::Array(a) => type_edges(&a.elem, flags, out),
        syn::Type::Slice(s) => type_edges(&s.elem, flags, out),
        syn::Type::Paren(p) => type_edges(&p.elem, flags, out),
        syn::Type::Group(g) => type_edges(&g.elem, flags, out),
        syn::Type::Tuple(t) => t.elems.iter().for_each(|e| type_edges(e, flags, out)),
        // References and pointers borrow: they keep nothing alive.
        _ => {}
    }
}

fn is_self_path(p: &syn::Path) -> bool {
    p.segments
        .first()
        .is_some_and(|s| s.ident == "self" || s.ident == "Self")
}

/// Every struct and enum of the file with its fields (all variants' for enums).
fn types_with_fields(ast: &syn::File) -> Vec<(String, Vec<&syn::Field>)> {
    use syn::visit::{self, Visit};
    struct V<'ast>(Vec<(String, Vec<&'ast syn::Field>)>);
    impl<'ast> Visit<'ast> for V<'ast> {
        fn visit_item_struct(&mut self, s: &'ast syn::ItemStruct) {
            self.0
                .push((s.ident.to_string(), s.fields.iter().collect()));
            visit::visit_item_struct(self, s);
        }
        fn visit_item_enum(&mut self, e: &'ast syn::ItemEnum) {
            self.0.push((
                e.ident.to_string(),
                e.variants.iter().flat_map(|v| v.fields.iter()).collect(),
            ));
            visit::visit_item_enum(self, e);
        }
    }
    let mut v = V(Vec::new());
    v.visit_file(ast);
    v.0
}
