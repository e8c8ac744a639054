//! One pipeline's instance of one plugin, and the calls into it.
//!
//! # Faults
//! Every call runs under the epoch deadline and the memory cap. Any failure
//! (trap, deadline, memory, an error the plugin returns, output that makes no
//! sense) is reported as a [`PluginFailure`] naming the plugin and its kind,
//! and the Store is dropped: a trapped instance cannot be entered again, so
//! the next call instantiates afresh from the cached `InstancePre`.

use std::sync::Arc;
use std::time::Instant;

use wasmtime::Store;
use wasmtime::component::Resource;

use super::bindings::Edit;
use super::host::{BatchRes, HostState};
use super::registry::{Bound, Loaded, PluginHandle, Pre, Runtime};
use crate::change::TableChanges;
use crate::metrics as m;

/// What kind of fault a plugin made; the `kind` label of
/// `sluice_plugin_errors_total`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// The guest trapped (a panic, an out-of-bounds access, the memory cap).
    Trap,
    /// A call ran past `[plugins] deadline_ms`.
    Timeout,
    /// The plugin returned an error itself.
    Error,
    /// Instantiation or `init` failed.
    Init,
    /// The plugin returned output the host cannot use (verdicts of the
    /// wrong length, edits out of range, bad cells).
    BadOutput,
}

impl Fault {
    pub fn as_str(self) -> &'static str {
        match self {
            Fault::Trap => "trap",
            Fault::Timeout => "timeout",
            Fault::Error => "error",
            Fault::Init => "init",
            Fault::BadOutput => "bad_output",
        }
    }
}

impl std::fmt::Display for Fault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a plugin call failed.
#[derive(Debug)]
pub struct PluginFailure {
    pub plugin: Arc<str>,
    pub kind: Fault,
    pub message: String,
}

impl std::fmt::Display for PluginFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "plugin `{}` failed ({}): {}",
            self.plugin,
            self.kind.as_str(),
            self.message
        )
    }
}

/// A pipeline's own instance of a plugin.
pub struct Instance {
    runtime: Arc<Runtime>,
    pub handle: Arc<PluginHandle>,
    /// The version this transaction uses (see [`Instance::pin`]).
    pinned: Option<Arc<Loaded>>,
    live: Option<Live>,
}

struct Live {
    loaded: Arc<Loaded>,
    store: Store<HostState>,
    bound: Bound,
}

impl Instance {
    pub fn new(runtime: Arc<Runtime>, handle: Arc<PluginHandle>) -> Self {
        Instance {
            runtime,
            handle,
            pinned: None,
            live: None,
        }
    }

    fn fail(&mut self, kind: Fault, message: String) -> PluginFailure {
        self.live = None;
        m::plugin_error(&self.handle.name, kind.as_str());
        PluginFailure {
            plugin: self.handle.name.clone(),
            kind,
            message,
        }
    }

    /// Take the handle's current version for the transaction about to be
    /// processed: a hot reload swaps the handle at any moment, but a
    /// transaction sees one version of each plugin from start to end.
    pub fn pin(&mut self) {
        self.pinned = Some(self.handle.current.load_full());
    }

    /// The live instance of the pinned version, instantiating (and calling
    /// `init`) when there is none or the version changed.
    fn live(&mut self) -> Result<&mut Live, PluginFailure> {
        let current = self
            .pinned
            .clone()
            .unwrap_or_else(|| self.handle.current.load_full());
        let stale = self
            .live
            .as_ref()
            .is_none_or(|l| !Arc::ptr_eq(&l.loaded, &current));
        if stale {
            let mut store = self.runtime.store(self.handle.name.clone());
            store.set_epoch_deadline(self.runtime.limits.deadline_ticks());
            let bound = match &current.pre {
                Pre::Filter(pre) => pre.instantiate(&mut store).map(Bound::Filter),
                Pre::Mapper(pre) => pre.instantiate(&mut store).map(Bound::Mapper),
            }
            .map_err(|e| {
                self.fail(
                    Fault::Init,
                    format!("cannot instantiate version {}: {e:#}", current.version),
                )
            })?;
            store.set_epoch_deadline(self.runtime.limits.deadline_ticks());
            let init = match &bound {
                Bound::Filter(f) => f.call_init(&mut store, &current.config),
                Bound::Mapper(mp) => mp.call_init(&mut store, &current.config),
            };
            match init {
                Ok(Ok(())) => {}
                Ok(Err(msg)) => {
                    return Err(self.fail(
                        Fault::Init,
                        format!("init refused its config {}: {msg}", current.config),
                    ));
                }
                Err(e) => {
                    return Err(self.fail(Fault::Init, format!("init trapped: {}", describe(&e))));
                }
            }
            self.live = Some(Live {
                loaded: current,
                store,
                bound,
            });
        }
        Ok(self.live.as_mut().expect("set above"))
    }

    /// Call a filter on `batch`; returns the batch and one verdict per row.
    pub fn filter(
        &mut self,
        batch: TableChanges,
    ) -> Result<(TableChanges, Vec<bool>), PluginFailure> {
        let rows = batch.rows.len();
        let (batch, out) = self.call(batch, |bound, store, res| match bound {
            Bound::Filter(f) => f.call_filter(store, res),
            Bound::Mapper(_) => unreachable!("kind checked at load"),
        })?;
        if out.len() != rows {
            return Err(self.fail(
                Fault::BadOutput,
                format!("returned {} verdicts for {rows} rows", out.len()),
            ));
        }
        Ok((batch, out))
    }

    /// Call a mapper on `batch`; returns the batch and the edits.
    pub fn map(&mut self, batch: TableChanges) -> Result<(TableChanges, Vec<Edit>), PluginFailure> {
        self.call(batch, |bound, store, res| match bound {
            Bound::Mapper(mp) => mp.call_map(store, res),
            Bound::Filter(_) => unreachable!("kind checked at load"),
        })
    }

    fn call<T>(
        &mut self,
        batch: TableChanges,
        f: impl FnOnce(
            &Bound,
            &mut Store<HostState>,
            Resource<BatchRes>,
        ) -> wasmtime::Result<Result<T, String>>,
    ) -> Result<(TableChanges, T), PluginFailure> {
        let deadline = self.runtime.limits.deadline_ticks();
        let live = self.live()?;
        let res = live
            .store
            .data_mut()
            .table
            .push(BatchRes { changes: batch })
            .map_err(|e| PluginFailure {
                plugin: "host".into(),
                kind: Fault::Trap,
                message: e.to_string(),
            })?;
        let borrow = Resource::<BatchRes>::new_borrow(res.rep());
        live.store.set_epoch_deadline(deadline);
        let started = Instant::now();
        let result = f(&live.bound, &mut live.store, borrow);
        m::plugin_call(&self.handle.name, started.elapsed());
        let out = match result {
            Ok(Ok(out)) => out,
            Ok(Err(msg)) => return Err(self.fail(Fault::Error, msg)),
            Err(e) => {
                let kind = if matches!(
                    e.downcast_ref::<wasmtime::Trap>(),
                    Some(wasmtime::Trap::Interrupt)
                ) {
                    Fault::Timeout
                } else {
                    Fault::Trap
                };
                let mut msg = describe(&e);
                if let Some(said) = self
                    .live
                    .as_mut()
                    .and_then(|l| l.store.data_mut().last_error.take())
                {
                    msg = format!("{msg}; the plugin logged: {said}");
                }
                return Err(self.fail(kind, msg));
            }
        };
        let live = self
            .live
            .as_mut()
            .expect("still live after a successful call");
        let batch = live
            .store
            .data_mut()
            .table
            .delete(res)
            .map_err(|e| PluginFailure {
                plugin: self.handle.name.clone(),
                kind: Fault::Trap,
                message: e.to_string(),
            })?;
        Ok((batch.changes, out))
    }
}

fn describe(e: &wasmtime::Error) -> String {
    match e.downcast_ref::<wasmtime::Trap>() {
        Some(wasmtime::Trap::Interrupt) => {
            "ran past its deadline ([plugins] deadline_ms)".to_owned()
        }
        Some(t) => format!("trapped: {t}"),
        // Not a wasm trap: a host error, or the limiter refusing memory.
        // The root cause says what happened; the rest is a wasm backtrace.
        None => {
            let root = e.root_cause().to_string();
            if root.contains("memory") {
                format!("{root} (the memory cap is [plugins] memory_mib)")
            } else {
                root
            }
        }
    }
}
