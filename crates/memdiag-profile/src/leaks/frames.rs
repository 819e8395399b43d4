//! Which frame of a stack stands for it: the frame a site is named by, and
//! the function whose allocation a container grows for.

/// Frames that allocate on behalf of their caller: a site is named by the
/// innermost frame that matches none of these prefixes.
const ALLOCATOR_PREFIXES: &[&str] = &[
    "alloc::",
    "core::",
    "std::alloc::",
    "__rust_",
    "__rdl_",
    "__rg_",
    "hashbrown::",
    "malloc",
    "calloc",
    "realloc",
    "runtime.mallocgc",
    "runtime.newobject",
    "runtime.makeslice",
    "runtime.growslice",
    "runtime.makemap",
    "runtime.rawstring",
    "runtime.rawbyteslice",
    "runtime.slicebytetostring",
    "runtime.concatstring",
];

/// Besides the allocators, the collections and runtime that grow a
/// container for their caller (`HashMap::insert` rehashing, Go's
/// `runtime.hashGrow`); they are not the function that keeps the memory.
const CONTAINER_PREFIXES: &[&str] = &["std::", "runtime."];

/// The name a site is reported by: its innermost non-allocator frame (the
/// leaf when every frame is an allocator's).
pub fn site_name(stack: &[String]) -> String {
    stack
        .iter()
        .find(|f| !is_allocator_frame(f))
        .or(stack.first())
        .cloned()
        .unwrap_or_else(|| "<no stack>".to_string())
}

/// Position in `stack` (leaf first) of the allocating function: the
/// innermost frame that is neither an allocator's nor a collection's or
/// runtime's (`None` when every frame is).
pub fn allocating_frame<'a>(stack: impl IntoIterator<Item = &'a str>) -> Option<usize> {
    stack.into_iter().position(|f| {
        !is_allocator_frame(f) && !CONTAINER_PREFIXES.iter().any(|p| owner(f).starts_with(p))
    })
}

/// Whether frame `f` allocates on behalf of its caller.
fn is_allocator_frame(f: &str) -> bool {
    ALLOCATOR_PREFIXES.iter().any(|p| owner(f).starts_with(p))
}

/// The path a frame belongs to. A method of `<Type as Trait>` belongs to
/// its type, or to its trait when the type is a primitive or a type
/// parameter (`<u8 as alloc::vec::SpecFromElem>`) or the trait is an
/// allocator's (`GlobalAlloc`, `Allocator`).
fn owner(f: &str) -> &str {
    match f.strip_prefix('<') {
        Some(inner) => match inner.split_once(" as ") {
            Some((_, tr)) if tr.starts_with("core::alloc::") => tr,
            Some((ty, tr)) if !ty.contains("::") => tr,
            Some((ty, _)) => ty,
            None => inner,
        },
        None => f,
    }
}
