//! `#[memdiag::test]`: a `#[test]` whose body runs in a
//! [`memdiag::testing`](https://docs.rs/memdiag) scope with leak and peak
//! limits. Use it through `memdiag::test`; see `memdiag::testing`.

use proc_macro::TokenStream;
use quote::quote;
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::{Expr, ExprLit, ItemFn, Lit, MetaNameValue, Token};

/// A test with memory limits:
///
/// ```ignore
/// #[memdiag::test(max_leak = "0 B", max_peak = "64 MiB")]
/// fn builds_the_index() {
///     build_index(&docs());
/// }
/// ```
///
/// Adds `#[test]` itself (do not add it too); other attributes
/// (`#[ignore]`, `#[should_panic]`) are kept. `max_leak` (default `"0 B"`)
/// bounds the bytes still live when the body returns, `max_peak` (default:
/// none) the highest live bytes during it. Sizes are a whole number and a
/// unit: `B`, `KiB`, `MiB`, `GiB` (powers of 1024) or `kB`, `MB`, `GB`
/// (powers of 1000); a bare integer means bytes.
#[proc_macro_attribute]
pub fn test(attr: TokenStream, item: TokenStream) -> TokenStream {
    match expand(attr.into(), item.into()) {
        Ok(ts) => ts.into(),
        Err(e) => e.to_compile_error().into(),
    }
}

fn expand(
    attr: proc_macro2::TokenStream,
    item: proc_macro2::TokenStream,
) -> syn::Result<proc_macro2::TokenStream> {
    let args = Punctuated::<MetaNameValue, Token![,]>::parse_terminated.parse2(attr)?;
    let mut max_leak = quote!(0);
    let mut max_peak = None;
    for a in &args {
        let bytes = size_arg(&a.value)?;
        if a.path.is_ident("max_leak") {
            max_leak = quote!(#bytes);
        } else if a.path.is_ident("max_peak") {
            max_peak = Some(quote!(.max_peak(#bytes)));
        } else {
            return Err(syn::Error::new_spanned(
                &a.path,
                "unknown memdiag::test option (expected max_leak or max_peak)",
            ));
        }
    }
    let f: ItemFn = syn::parse2(item)?;
    if let Some(a) = &f.sig.asyncness {
        return Err(syn::Error::new_spanned(
            a,
            "memdiag::test does not support async fn",
        ));
    }
    if !f.sig.inputs.is_empty() {
        return Err(syn::Error::new_spanned(
            &f.sig.inputs,
            "a test takes no arguments",
        ));
    }
    let ItemFn {
        attrs,
        vis,
        sig,
        block,
    } = f;
    // The full path: a glob import of `memdiag::*` brings this macro in
    // as `test` too.
    Ok(quote! {
        #[::core::prelude::v1::test]
        #(#attrs)*
        #vis #sig {
            ::memdiag::testing::Limits::new()
                .max_leak(#max_leak)
                #max_peak
                .run(move || #block)
        }
    })
}

/// A size argument: `"64 MiB"` or a bare integer (bytes).
fn size_arg(e: &Expr) -> syn::Result<u64> {
    match e {
        Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }) => parse_size(&s.value()).map_err(|m| syn::Error::new(s.span(), m)),
        Expr::Lit(ExprLit {
            lit: Lit::Int(i), ..
        }) => i.base10_parse(),
        _ => Err(syn::Error::new_spanned(
            e,
            "expected a size such as \"64 MiB\" or an integer number of bytes",
        )),
    }
}

/// Parses `"<integer> <unit>"` (the space is optional).
fn parse_size(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("`{s}`: expected a whole number of bytes before the unit"))?;
    let scale: u64 = match unit.trim() {
        "" | "B" => 1,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        "kB" => 1_000,
        "MB" => 1_000_000,
        "GB" => 1_000_000_000,
        u => {
            return Err(format!(
                "`{s}`: unknown unit `{u}` (use B, KiB, MiB, GiB, kB, MB or GB)"
            ))
        }
    };
    n.checked_mul(scale)
        .ok_or_else(|| format!("`{s}`: too large"))
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("0 B"), Ok(0));
        assert_eq!(parse_size("64 MiB"), Ok(64 * 1024 * 1024));
        assert_eq!(parse_size("3KiB"), Ok(3 * 1024));
        assert_eq!(parse_size("2 GiB"), Ok(2 * 1024 * 1024 * 1024));
        assert_eq!(parse_size("5 kB"), Ok(5_000));
        assert_eq!(parse_size("7 MB"), Ok(7_000_000));
        assert_eq!(parse_size("12"), Ok(12));
    }

    #[test]
    fn bad_sizes() {
        assert!(parse_size("1.5 MiB").is_err());
        assert!(parse_size("MiB").is_err());
        assert!(parse_size("4 mb").is_err());
        assert!(parse_size("99999999999999 GiB").is_err());
    }
}
