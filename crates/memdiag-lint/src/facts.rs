//! What one file tells about the whole crate, gathered in the parallel pass
//! and merged: crate-wide rules confirm their candidates against it
//! ("no `remove` anywhere in the crate", "a cycle through other files").

use crate::owners::Owners;
use crate::receivers::{self, Use};
use crate::rules::raw_without_release;
use crate::rules::rc_cycle::{self, Edge};
use crate::source::SourceFile;
use crate::statics::statics;
use crate::types;
use std::collections::{HashMap, HashSet};

/// Method name recorded for an assignment or `mem::take` of the collection,
/// or a `cell.replace(Vec::new())`.
pub(crate) const RESET: &str = "=";

/// `x.replace(Vec::new())`, `x.replace(Default::default())`: a cell (or an
/// `Option`) swapped for an empty value is emptied, whatever `x` holds. A
/// set's `replace(v)` with a real value inserts, and is not this.
fn emptied(m: &syn::ExprMethodCall) -> bool {
    let empty = |e: &syn::Expr| match e {
        syn::Expr::Call(c) => {
            c.args.is_empty()
                && matches!(&*c.func, syn::Expr::Path(p) if p.path.segments.last()
                    .is_some_and(|s| s.ident == "new" || s.ident == "default"))
        }
        syn::Expr::Macro(mac) => mac.mac.path.is_ident("vec") && mac.mac.tokens.is_empty(),
        syn::Expr::Path(p) => p.path.is_ident("None"),
        _ => false,
    };
    m.method == "replace" && m.args.len() == 1 && empty(&m.args[0])
}

#[derive(Default)]
pub(crate) struct Facts {
    /// Collection name -> methods called on it anywhere.
    pub methods: HashMap<String, HashSet<String>>,
    /// The same, counting only calls on fields, statics and their guards
    /// (a local `stacks.push(..)` says nothing about a field `stacks`).
    pub held_methods: HashMap<String, HashSet<String>>,
    /// Fields and statics declared with a collection whose `clear()` keeps capacity.
    pub retaining: HashSet<String>,
    /// Type graph: struct/enum node (`path#Name`) -> references to other types.
    pub edges: HashMap<String, Vec<Edge>>,
    /// Type name -> the nodes defining it.
    pub type_defs: HashMap<String, Vec<String>>,
    /// Kinds of raw or manually-dropped values released somewhere.
    pub released: HashSet<&'static str>,
    /// Names of the modules the crate declares (`mod name`).
    pub modules: HashSet<String>,
    /// Which structs live for one call only.
    pub owners: Owners,
}

impl Facts {
    pub fn of_file(file: &SourceFile) -> Facts {
        let ast = &file.ast;
        let edges = rc_cycle::edges(file);
        let mut type_defs: HashMap<String, Vec<String>> = HashMap::new();
        for node in edges.keys() {
            if let Some((_, name)) = node.rsplit_once('#') {
                type_defs
                    .entry(name.to_string())
                    .or_default()
                    .push(node.clone());
            }
        }
        let released = raw_without_release::released(file);
        let mut facts = Facts {
            edges,
            type_defs,
            released,
            modules: modules(ast),
            owners: Owners::of_file(ast),
            ..Facts::default()
        };
        receivers::walk(ast, &mut |root, usage| {
            let method = match usage {
                Use::Method(m) if emptied(m) => RESET.to_string(),
                Use::Method(m) => m.method.to_string(),
                Use::MacroMethod(m) => m,
                Use::Reset => RESET.to_string(),
            };
            if root.long_lived {
                facts
                    .held_methods
                    .entry(root.name.clone())
                    .or_default()
                    .insert(method.clone());
            }
            facts
                .methods
                .entry(root.name.clone())
                .or_default()
                .insert(method);
        });
        let mut declare = |name: String, ty: &syn::Type| {
            if types::mentions(&types::names(ty), types::CAPACITY_RETAINING) {
                facts.retaining.insert(name);
            }
        };
        for s in statics(ast) {
            declare(s.ident.to_string(), &s.ty);
        }
        for (name, ty) in named_fields(ast) {
            declare(name, ty);
        }
        facts
    }

    pub fn merge(&mut self, other: Facts) {
        for (name, methods) in other.methods {
            self.methods.entry(name).or_default().extend(methods);
        }
        for (name, methods) in other.held_methods {
            self.held_methods.entry(name).or_default().extend(methods);
        }
        self.retaining.extend(other.retaining);
        for (node, edges) in other.edges {
            self.edges.entry(node).or_default().extend(edges);
        }
        self.released.extend(other.released);
        self.modules.extend(other.modules);
        self.owners.merge(other.owners);
        for (name, nodes) in other.type_defs {
            self.type_defs.entry(name).or_default().extend(nodes);
        }
    }

    /// True when any of `methods` is called on a collection named `name`.
    pub fn called(&self, name: &str, methods: &[&str]) -> bool {
        self.methods
            .get(name)
            .is_some_and(|m| methods.iter().any(|x| m.contains(*x)))
    }

    /// Like [`Facts::called`], counting only calls on fields and statics.
    pub fn held_called(&self, name: &str, methods: &[&str]) -> bool {
        self.held_methods
            .get(name)
            .is_some_and(|m| methods.iter().any(|x| m.contains(*x)))
    }
}

/// Named fields of every struct in the file.
pub(crate) fn named_fields(ast: &syn::File) -> Vec<(String, &syn::Type)> {
    use syn::visit::Visit;
    struct V<'ast>(Vec<(String, &'ast syn::Type)>);
    impl<'ast> Visit<'ast> for V<'ast> {
        fn visit_field(&mut self, f: &'ast syn::Field) {
            if let Some(ident) = &f.ident {
                self.0.push((ident.to_string(), &f.ty));
            }
        }
    }
    let mut v = V(Vec::new());
    v.visit_file(ast);
    v.0
}

/// Names of the modules declared in a file (`mod a;`, `mod b { .. }`).
fn modules(ast: &syn::File) -> HashSet<String> {
    use syn::visit::{self, Visit};
    struct Mods(HashSet<String>);
    impl<'ast> Visit<'ast> for Mods {
        fn visit_item_mod(&mut self, m: &'ast syn::ItemMod) {
            self.0.insert(m.ident.to_string());
            visit::visit_item_mod(self, m);
        }
    }
    let mut mods = Mods(HashSet::new());
    mods.visit_file(ast);
    mods.0
}
