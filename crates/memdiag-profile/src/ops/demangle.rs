//! Function-name demangling and simplification, as `go tool pprof` does on
//! every profile it loads (its symbolizer's last step, `-symbolize=demangle=…`).
//!
//! A function whose name is empty or equal to its system name is taken as
//! not yet demangled: a mangled Rust symbol is demangled (without its hash);
//! a name that already looks demangled (`::`, `<`, `>`, `[` or `]` in it,
//! but not Java's `.<init>` nor Go's `(*T[…]).M`) loses its parameter lists
//! and, by default, its template/generic arguments: `alloc::vec::from_elem<u8>`
//! reads `alloc::vec::from_elem`. Names that differ from their system name
//! were demangled by whoever wrote the profile and are left alone.
//!
//! Mangled C++ (`_Z…`) names are not demangled: no C++ demangler is linked.

use crate::Profile;

/// How far names are simplified (Go's `-symbolize=demangle=MODE`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Demangle {
    /// No parameters, no template arguments (Go's default).
    #[default]
    Simplified,
    /// No parameters; template arguments kept (`demangle=templates`).
    Templates,
    /// Demangled, nothing removed (`demangle=full`).
    Full,
    /// Names left as they are (`demangle=none`).
    None,
}

impl Demangle {
    /// Parses Go's mode names: `default`, `templates`, `full`, `none`.
    pub fn parse(mode: &str) -> Option<Self> {
        Some(match mode {
            "" | "default" => Demangle::Simplified,
            "templates" => Demangle::Templates,
            "full" => Demangle::Full,
            "none" => Demangle::None,
            _ => return None,
        })
    }
}

/// Demangles and simplifies the names of `p`'s functions in place. With
/// `force`, names that differ from their system names are redone too.
pub fn demangle_functions(p: &mut Profile, mode: Demangle, force: bool) {
    for i in 0..p.functions.len() {
        let f = &p.functions[i];
        let (name, system) = (f.name, f.system_name);
        if !name.is_empty() && name != system && !force {
            continue;
        }
        if system.is_empty() && !name.is_empty() {
            continue;
        }
        let simplified = simplify(p.strings.get(system), mode);
        let id = p.strings.intern(&simplified);
        p.functions[i].name = id;
    }
}

/// The demangled, simplified form of one system name.
fn simplify(system: &str, mode: Demangle) -> String {
    if mode == Demangle::None {
        return system.to_string();
    }
    if let Some(rust) = demangle_rust(system) {
        return rust;
    }
    let mut name = system.to_string();
    if looks_like_demangled_cplusplus(&name) {
        if mode != Demangle::Full {
            name = remove_matching(&name, b'(', b')');
        }
        if mode == Demangle::Simplified {
            name = remove_matching(&name, b'<', b'>');
        }
    }
    name
}

/// A mangled Rust symbol (legacy `_ZN…17h<hash>E` or v0 `_R…`), demangled
/// without its hash.
fn demangle_rust(system: &str) -> Option<String> {
    if !(system.starts_with("_R") || system.starts_with("_ZN")) {
        return None;
    }
    let d = rustc_demangle::try_demangle(system).ok()?;
    Some(format!("{d:#}"))
}

/// pprof's heuristic for a name that is already demangled C++ (or Rust).
fn looks_like_demangled_cplusplus(name: &str) -> bool {
    if name.contains(".<") || name.contains("]).") {
        return false;
    }
    name.contains(['<', '>', '[', ']']) || name.contains("::")
}

/// Removes nested `open…close` groups, as pprof does: on a stray `close`
/// it stops and returns what it has so far; an unclosed group stays.
fn remove_matching(name: &str, open: u8, close: u8) -> String {
    let mut s = name.as_bytes().to_vec();
    let (mut depth, mut first, mut i) = (0usize, 0usize, 0usize);
    while i < s.len() {
        let b = s[i];
        if b == open {
            if depth == 0 {
                first = i;
            }
            depth += 1;
        } else if b == close {
            if depth == 0 {
                break;
            }
            depth -= 1;
            if depth == 0 {
                s.drain(first..=i);
                i = first;
                continue;
            }
        }
        i += 1;
    }
    // Only whole ASCII-delimited groups were removed, so this stays UTF-8.
    String::from_utf8(s).unwrap_or_else(|_| name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Function;

    #[test]
    fn strips_generics_and_parameters_by_default() {
        let s = |n| simplify(n, Demangle::Simplified);
        assert_eq!(s("alloc::vec::from_elem<u8>"), "alloc::vec::from_elem");
        assert_eq!(
            s("<alloc::vec::Vec<T> as core::clone::Clone>::clone"),
            "::clone"
        );
        assert_eq!(
            s("std::vector<int>::push_back(int const&)"),
            "std::vector::push_back"
        );
        assert_eq!(s("ns::f<a<b>>(x)"), "ns::f");
        // Templates mode keeps the arguments, full keeps the parameters.
        assert_eq!(simplify("ns::f<u8>(int)", Demangle::Templates), "ns::f<u8>");
        assert_eq!(simplify("ns::f<u8>(int)", Demangle::Full), "ns::f<u8>(int)");
        assert_eq!(simplify("ns::f<u8>(int)", Demangle::None), "ns::f<u8>(int)");
    }

    #[test]
    fn leaves_go_and_java_names_alone() {
        let s = |n| simplify(n, Demangle::Simplified);
        assert_eq!(s("main.(*Cache).Put"), "main.(*Cache).Put");
        assert_eq!(s("main.(*Map[...]).Get"), "main.(*Map[...]).Get");
        assert_eq!(
            s("java.util.ArrayList.<init>(int)"),
            "java.util.ArrayList.<init>(int)"
        );
        assert_eq!(s("main.main.func1"), "main.main.func1");
    }

    #[test]
    fn unmatched_brackets() {
        // A stray closing bracket stops the removal (pprof aborts there).
        assert_eq!(remove_matching("a::b>c", b'<', b'>'), "a::b>c");
        assert_eq!(remove_matching("a<b>c>d<e>", b'<', b'>'), "ac>d<e>");
        // An unclosed group stays from where it opens.
        assert_eq!(remove_matching("a<b>::c<d", b'<', b'>'), "a::c<d");
    }

    #[test]
    fn demangles_legacy_rust_symbols_without_hash() {
        assert_eq!(
            simplify(
                "_ZN5alloc3vec9from_elem17h0123456789abcdefE",
                Demangle::Simplified
            ),
            "alloc::vec::from_elem"
        );
    }

    #[test]
    fn only_names_equal_to_their_system_names_change() {
        let mut p = Profile::default();
        let generic = p.strings.intern("alloc::vec::from_elem<u8>");
        let own = p.strings.intern("mine");
        p.functions.push(Function {
            name: generic,
            system_name: generic,
            ..Default::default()
        });
        p.functions.push(Function {
            name: generic,
            system_name: own,
            ..Default::default()
        });
        demangle_functions(&mut p, Demangle::Simplified, false);
        assert_eq!(p.strings.get(p.functions[0].name), "alloc::vec::from_elem");
        assert_eq!(
            p.strings.get(p.functions[1].name),
            "alloc::vec::from_elem<u8>"
        );
        // Forced: the second is redone from its system name.
        demangle_functions(&mut p, Demangle::Simplified, true);
        assert_eq!(p.strings.get(p.functions[1].name), "mine");
    }
}
