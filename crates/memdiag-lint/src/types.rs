//! Name-level views of types: which std collections, locks and cells a field
//! or static type mentions. No type checking: last path segments only.

/// Growable collections.
pub(crate) const COLLECTIONS: &[&str] = &[
    "Vec",
    "VecDeque",
    "HashMap",
    "HashSet",
    "BTreeMap",
    "BTreeSet",
    "BinaryHeap",
    "LinkedList",
    "IndexMap",
    "IndexSet",
    "String",
    "DashMap",
    "DashSet",
];
/// Collections whose `clear()` keeps the allocation (B-trees and lists free theirs).
pub(crate) const CAPACITY_RETAINING: &[&str] = &[
    "Vec",
    "VecDeque",
    "HashMap",
    "HashSet",
    "BinaryHeap",
    "IndexMap",
    "IndexSet",
    "String",
];
/// Wrappers that make a value shared and mutable, so it outlives one call.
pub(crate) const SHARED_MUTABLE: &[&str] = &[
    "Mutex",
    "RwLock",
    "RefCell",
    "Cell",
    "OnceCell",
    "OnceLock",
    "UnsafeCell",
    "DashMap",
    "DashSet",
    "ArcSwap",
];

/// Every path-segment name mentioned in `ty`, outermost first.
pub(crate) fn names(ty: &syn::Type) -> Vec<String> {
    let mut out = Vec::new();
    collect(ty, true, &mut out);
    out
}

/// The names `ty` holds by value: not behind a reference, pointer or
/// `PhantomData`.
pub(crate) fn owned_names(ty: &syn::Type) -> Vec<String> {
    let mut out = Vec::new();
    collect(ty, false, &mut out);
    out
}

/// Maps and sets, keyed by their first type argument.
const KEYED: &[&str] = &[
    "HashMap", "HashSet", "BTreeMap", "BTreeSet", "IndexMap", "IndexSet", "DashMap", "DashSet",
];

/// The key type of the first map or set in `ty`, by its last segment
/// (`TypeId` of `RwLock<HashMap<std::any::TypeId, V>>`).
pub(crate) fn key_type(ty: &syn::Type) -> Option<String> {
    let syn::Type::Path(p) = ty else {
        return None;
    };
    p.path.segments.iter().find_map(|seg| {
        let syn::PathArguments::AngleBracketed(args) = &seg.arguments else {
            return None;
        };
        let mut types = args.args.iter().filter_map(|a| match a {
            syn::GenericArgument::Type(t) => Some(t),
            _ => None,
        });
        if KEYED.contains(&seg.ident.to_string().as_str()) {
            return match types.next()? {
                syn::Type::Path(k) => k.path.segments.last().map(|s| s.ident.to_string()),
                syn::Type::Tuple(t) if t.elems.is_empty() => Some("()".into()),
                _ => None,
            };
        }
        types.find_map(key_type)
    })
}

pub(crate) fn mentions(names: &[String], set: &[&str]) -> bool {
    names.iter().any(|n| set.contains(&n.as_str()))
}

/// `borrowed`: also the names behind references and `PhantomData`.
fn collect(ty: &syn::Type, borrowed: bool, out: &mut Vec<String>) {
    match ty {
        syn::Type::Path(p) => {
            for seg in &p.path.segments {
                if !borrowed && seg.ident == "PhantomData" {
                    return;
                }
                out.push(seg.ident.to_string());
                if let syn::PathArguments::AngleBracketed(args) = &seg.arguments {
                    for arg in &args.args {
                        if let syn::GenericArgument::Type(t) = arg {
                            collect(t, borrowed, out);
                        }
                    }
                }
            }
        }
        syn::Type::Array(a) => collect(&a.elem, borrowed, out),
        syn::Type::Slice(s) => collect(&s.elem, borrowed, out),
        syn::Type::Paren(p) => collect(&p.elem, borrowed, out),
        syn::Type::Group(g) => collect(&g.elem, borrowed, out),
        syn::Type::Tuple(t) => t.elems.iter().for_each(|e| collect(e, borrowed, out)),
        syn::Type::Reference(r) if borrowed => collect(&r.elem, borrowed, out),
        _ => {}
    }
}
