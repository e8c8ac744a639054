//! The WebAssembly plugin host.
//!
//! # Layout
//! * `bindings`: host bindings generated from `wit/sluice.wit`.
//! * `host`: the per-store state, the `batch` resource and `log`.
//! * `registry`: the wasmtime engine (epoch interruption, no WASI) and the
//!   plugins loaded from the folder, each behind a swappable handle.
//! * `instance`: a pipeline's instance of a plugin and the calls into it.
//! * `edits`: a mapper's edits applied natively to a batch.
//! * `build`: `sluice plugin build`, turning a plugin crate into a component.
//! * `watch`: hot reload of the plugin folder.
//!
//! # Sandbox
//! Plugins are components that import only `sluice:plugin/host` and
//! `sluice:plugin/types`; nothing else is linked, so a plugin has no WASI,
//! no filesystem, network or clock. Every instance runs under one memory
//! cap for all its memories (`limits`) and every call under an epoch deadline ticked every millisecond.
//! A trap drops the Store; the next call instantiates afresh.

pub mod bindings;
pub mod build;
pub mod cache;
pub mod edits;
pub mod host;
pub mod instance;
pub mod limits;
pub mod new;
pub mod registry;
pub mod sample;
pub mod watch;

pub use instance::{Instance, PluginFailure};
pub use registry::{Limits, PluginHandle, Registry, Runtime};

/// Which world a plugin implements.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PluginKind {
    Filter,
    Mapper,
}

impl PluginKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PluginKind::Filter => "filter",
            PluginKind::Mapper => "mapper",
        }
    }

    /// The pipeline config key that lists plugins of this kind.
    pub fn list_key(self) -> &'static str {
        match self {
            PluginKind::Filter => "filters",
            PluginKind::Mapper => "mappers",
        }
    }
}
