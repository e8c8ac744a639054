//! `#[sluice::filter]` and `#[sluice::mapper]`.
//!
//! Each attribute keeps the author's function and generates, next to it,
//! the guest bindings for its world (from `wit/sluice.wit`, embedded at
//! build time), the glue between those bindings and the SDK, and the
//! component export. Bindings are generated in the plugin crate, not in the
//! SDK, so a plugin's component declares exactly one world.

use proc_macro::TokenStream;
use proc_macro2::TokenStream as Tokens;
use quote::quote;
use syn::parse::Parser;
use syn::{FnArg, ItemFn, Path, ReturnType, Type, parse_macro_input};

const WIT: &str = include_str!("../../../wit/sluice.wit");

/// A filter: `fn name(row: &sluice::Row) -> bool`; true keeps the change.
///
/// Optional: `#[sluice::filter(init = setup)]` with
/// `fn setup(config: &str) -> Result<(), String>` run once with the plugin's
/// config section (JSON).
#[proc_macro_attribute]
pub fn filter(attr: TokenStream, item: TokenStream) -> TokenStream {
    let func = parse_macro_input!(item as ItemFn);
    expand(attr.into(), func, World::Filter)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// A mapper: `fn name(row: &mut sluice::RowMut)`; edit the row through it.
///
/// Optional: `#[sluice::mapper(init = setup)]`, as for filters.
#[proc_macro_attribute]
pub fn mapper(attr: TokenStream, item: TokenStream) -> TokenStream {
    let func = parse_macro_input!(item as ItemFn);
    expand(attr.into(), func, World::Mapper)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// `#[sluice::init] fn setup(config: &str) -> Result<(), String>`: run once
/// with the plugin's config section as JSON before any batch. Put it in the
/// same module as the `#[sluice::filter]` or `#[sluice::mapper]` function.
#[proc_macro_attribute]
pub fn init(attr: TokenStream, item: TokenStream) -> TokenStream {
    let func = parse_macro_input!(item as ItemFn);
    if !attr.is_empty() {
        return syn::Error::new_spanned(Tokens::from(attr), "#[sluice::init] takes no arguments")
            .into_compile_error()
            .into();
    }
    let sig = &func.sig;
    let ok = sig.inputs.len() == 1
        && matches!(&sig.output, ReturnType::Type(..))
        && sig.asyncness.is_none()
        && sig.generics.params.is_empty();
    if !ok {
        return syn::Error::new_spanned(
            sig,
            "expected `fn name(config: &str) -> Result<(), String>`",
        )
        .into_compile_error()
        .into();
    }
    let name = &sig.ident;
    quote! {
        #func

        #[doc(hidden)]
        const __SLUICE_INIT: Option<::sluice::__rt::InitFn> = Some(#name);
    }
    .into()
}

#[derive(Clone, Copy, PartialEq)]
enum World {
    Filter,
    Mapper,
}

fn parse_init(attr: Tokens) -> syn::Result<Option<Path>> {
    let mut init = None;
    let parser = syn::meta::parser(|meta| {
        if meta.path.is_ident("init") {
            init = Some(meta.value()?.parse::<Path>()?);
            Ok(())
        } else {
            Err(meta.error("unknown argument; the only one is `init = function`"))
        }
    });
    parser.parse2(attr)?;
    Ok(init)
}

fn check_signature(func: &ItemFn, world: World) -> syn::Result<()> {
    let sig = &func.sig;
    let (want_arg, want_ret) = match world {
        World::Filter => ("`row: &sluice::Row`", "`-> bool`"),
        World::Mapper => ("`row: &mut sluice::RowMut`", "no return value"),
    };
    if sig.inputs.len() != 1 {
        return Err(syn::Error::new_spanned(
            &sig.inputs,
            format!("a {} takes exactly one argument, {want_arg}", name(world)),
        ));
    }
    if let Some(FnArg::Receiver(r)) = sig.inputs.first() {
        return Err(syn::Error::new_spanned(
            r,
            format!("a {} is a free function taking {want_arg}", name(world)),
        ));
    }
    if let Some(FnArg::Typed(t)) = sig.inputs.first() {
        let ok = match (&*t.ty, world) {
            (Type::Reference(r), World::Filter) => r.mutability.is_none(),
            (Type::Reference(r), World::Mapper) => r.mutability.is_some(),
            _ => false,
        };
        if !ok {
            return Err(syn::Error::new_spanned(
                &t.ty,
                format!("expected {want_arg}"),
            ));
        }
    }
    let ret_ok = match (&sig.output, world) {
        (ReturnType::Type(_, ty), World::Filter) => {
            matches!(&**ty, Type::Path(p) if p.path.is_ident("bool"))
        }
        (ReturnType::Default, World::Mapper) => true,
        _ => false,
    };
    if !ret_ok {
        return Err(syn::Error::new_spanned(
            &sig.output,
            format!("a {} returns {want_ret}", name(world)),
        ));
    }
    if sig.asyncness.is_some() || !sig.generics.params.is_empty() {
        return Err(syn::Error::new_spanned(
            &sig.ident,
            "plugins are plain, non-generic, non-async functions",
        ));
    }
    Ok(())
}

fn name(world: World) -> &'static str {
    match world {
        World::Filter => "filter",
        World::Mapper => "mapper",
    }
}

fn expand(attr: Tokens, func: ItemFn, world: World) -> syn::Result<Tokens> {
    let init = parse_init(attr)?;
    check_signature(&func, world)?;
    let user = &func.sig.ident;
    let world_name = name(world);
    // Without `init = f`, use the module's `#[sluice::init]` function if it
    // has one: it defines `__SLUICE_INIT`, which shadows the glob-imported
    // `None` below.
    let init_arg = match init {
        Some(p) => quote!(Some(#p as ::sluice::__rt::InitFn)),
        None => quote!(__SLUICE_INIT),
    };
    let types = quote!(__sluice_bindings::sluice::plugin::types);
    let host = quote!(__sluice_bindings::sluice::plugin::host);
    let export = match world {
        World::Filter => quote! {
            fn filter(batch: &#types::Batch) -> Result<Vec<bool>, String> {
                ::sluice::__rt::filter(batch, #user)
            }
        },
        World::Mapper => quote! {
            fn map(batch: &#types::Batch) -> Result<Vec<#types::Edit>, String> {
                ::sluice::__rt::map(batch, #user).map(|edits| edits.into_iter().map(__sluice_edit).collect())
            }
        },
    };
    let edit_fn = if world == World::Mapper {
        quote! {
            fn __sluice_edit(e: ::sluice::Edit) -> #types::Edit {
                use ::sluice::Edit as E;
                match e {
                    E::SetCells { column, image, cells } => #types::Edit::SetCells(#types::SetCells { column, image: __sluice_image(image), cells }),
                    E::RenameColumn { column, name } => #types::Edit::RenameColumn(#types::RenameColumn { column, name }),
                    E::DropColumn(c) => #types::Edit::DropColumn(c),
                    E::AddColumn { name, before, after } => #types::Edit::AddColumn(#types::AddColumn { name, before, after }),
                    E::DropRow(r) => #types::Edit::DropRow(r),
                    E::EmitRows { table, columns, key, ops, before, after } => #types::Edit::EmitRows(#types::ExtraRows {
                        table,
                        columns,
                        key,
                        ops: ops.into_iter().map(::sluice::Op::code).collect(),
                        before,
                        after,
                    }),
                    E::SetTargetTable(t) => #types::Edit::SetTargetTable(t),
                }
            }
        }
    } else {
        quote!()
    };
    Ok(quote! {
        #func

        #[allow(unused_imports)]
        use ::sluice::__rt::no_init::*;

        #[doc(hidden)]
        #[allow(warnings, clippy::all)]
        mod __sluice_bindings {
            ::sluice::__wit_bindgen::generate!({
                inline: #WIT,
                world: #world_name,
                runtime_path: "::sluice::__wit_bindgen::rt",
            });
        }

        #[doc(hidden)]
        struct __SluicePlugin;

        #[doc(hidden)]
        fn __sluice_image(i: ::sluice::Image) -> #types::Image {
            match i {
                ::sluice::Image::Before => #types::Image::Before,
                ::sluice::Image::After => #types::Image::After,
            }
        }

        #[doc(hidden)]
        fn __sluice_log(level: ::sluice::Level, message: &str) {
            let level = match level {
                ::sluice::Level::Trace => #host::Level::Trace,
                ::sluice::Level::Debug => #host::Level::Debug,
                ::sluice::Level::Info => #host::Level::Info,
                ::sluice::Level::Warn => #host::Level::Warn,
                ::sluice::Level::Error => #host::Level::Error,
            };
            #host::log(level, message);
        }

        #edit_fn

        impl ::sluice::BatchAccess for #types::Batch {
            fn fetch_columns(&self) -> Vec<String> {
                #types::Batch::columns(self)
            }
            fn fetch_ops(&self) -> Vec<::sluice::Op> {
                #types::Batch::ops(self)
                    .into_iter()
                    .map(::sluice::Op::from_code)
                    .collect()
            }
            fn fetch_column(&self, column: u32, image: ::sluice::Image) -> Vec<u8> {
                #types::Batch::column_bytes(self, column, __sluice_image(image))
            }
        }

        impl __sluice_bindings::Guest for __SluicePlugin {
            fn init(config: String) -> Result<(), String> {
                ::sluice::__rt::init(&config, __sluice_log, #init_arg)
            }
            #export
        }

        __sluice_bindings::export!(__SluicePlugin with_types_in __sluice_bindings);
    })
}
