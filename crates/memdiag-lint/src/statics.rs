//! Statics of a file, including those declared inside `thread_local!` and
//! `lazy_static!`, whose bodies syn leaves as raw tokens.

use syn::parse::{ParseStream, Parser};
use syn::visit::{self, Visit};

pub(crate) struct Static {
    pub ident: syn::Ident,
    pub ty: syn::Type,
}

pub(crate) fn statics(file: &syn::File) -> Vec<Static> {
    let mut v = Collect(Vec::new());
    v.visit_file(file);
    v.0
}

struct Collect(Vec<Static>);

impl<'ast> Visit<'ast> for Collect {
    fn visit_item_static(&mut self, s: &'ast syn::ItemStatic) {
        self.0.push(Static {
            ident: s.ident.clone(),
            ty: (*s.ty).clone(),
        });
    }

    fn visit_macro(&mut self, m: &'ast syn::Macro) {
        let is_static_macro = m
            .path
            .segments
            .last()
            .is_some_and(|s| s.ident == "thread_local" || s.ident == "lazy_static");
        if is_static_macro {
            // A body that does not parse is simply not seen.
            if let Ok(found) = parse_decls.parse2(m.tokens.clone()) {
                self.0.extend(found);
            }
        }
        visit::visit_macro(self, m);
    }
}

/// `[attrs] [vis] static [ref] NAME: Type = expr;` repeated.
fn parse_decls(input: ParseStream) -> syn::Result<Vec<Static>> {
    let mut out = Vec::new();
    while !input.is_empty() {
        input.call(syn::Attribute::parse_outer)?;
        input.parse::<syn::Visibility>()?;
        input.parse::<syn::Token![static]>()?;
        if input.peek(syn::Token![ref]) {
            input.parse::<syn::Token![ref]>()?;
        }
        let ident: syn::Ident = input.parse()?;
        input.parse::<syn::Token![:]>()?;
        let ty: syn::Type = input.parse()?;
        input.parse::<syn::Token![=]>()?;
        input.parse::<syn::Expr>()?;
        if !input.is_empty() {
            input.parse::<syn::Token![;]>()?;
        }
        out.push(Static { ident, ty });
    }
    Ok(out)
}
