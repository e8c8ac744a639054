//! The wasmtime engine, and the plugins loaded from the plugin folder.
//!
//! # Swappable handles
//! Each plugin is a [`PluginHandle`]: its name and an `ArcSwap` of the
//! currently loaded version (the type-checked `InstancePre`, its content
//! hash and config). Pipelines hold the handle, not the version; at the
//! start of each source transaction an instance pins the handle's current
//! version (`Instance::pin`) and re-instantiates if it changed. A reload
//! therefore only has to build a new [`Loaded`] off the hot path and store
//! it; it takes effect between source transactions, never inside one, so
//! every batch of a transaction sees the same version.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{Config, Engine, Store};

use super::PluginKind;
use super::bindings::filter::{Filter, FilterPre};
use super::bindings::mapper::{Mapper, MapperPre};
use super::cache::Cache;
use super::host::HostState;

/// Epoch tick: a call overruns its deadline by at most about this much.
const TICK: Duration = Duration::from_millis(1);

/// Limits every plugin instance runs under.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub memory_bytes: usize,
    pub deadline: Duration,
}

impl Limits {
    /// The deadline in epoch ticks.
    pub fn deadline_ticks(&self) -> u64 {
        (self.deadline.as_millis() / TICK.as_millis()).max(1) as u64
    }
}

/// The shared wasmtime engine and linkers.
pub struct Runtime {
    pub engine: Engine,
    linker: Linker<HostState>,
    pub limits: Limits,
    /// Compiled plugins on disk, when configured.
    cache: Option<Cache>,
}

/// A type-checked, ready-to-instantiate plugin.
pub enum Pre {
    Filter(FilterPre<HostState>),
    Mapper(MapperPre<HostState>),
}

/// One loaded version of a plugin.
pub struct Loaded {
    pub pre: Pre,
    /// First 12 hex digits of the FNV-1a hash of the file: the version.
    pub version: String,
    /// The JSON handed to `init`.
    pub config: String,
}

/// A plugin by name, whose loaded version can be swapped.
pub struct PluginHandle {
    pub name: Arc<str>,
    pub kind: PluginKind,
    pub current: ArcSwap<Loaded>,
}

impl Runtime {
    /// Build the engine (epoch interruption on, no WASI) and start the
    /// epoch ticker thread.
    /// `cache`: the folder for compiled plugins (see `cache`), or none.
    pub fn new(limits: Limits, cache: Option<PathBuf>) -> anyhow::Result<Arc<Runtime>> {
        let mut config = Config::new();
        config.epoch_interruption(true);
        config.wasm_component_model(true);
        // For profiling plugin code with `perf` (docs/benchmarks.md): a
        // perf map names the compiled wasm functions. Off by default.
        if std::env::var_os("SLUICE_WASM_PERFMAP").is_some() {
            config.profiler(wasmtime::ProfilingStrategy::PerfMap);
        }
        let engine = Engine::new(&config)?;
        let mut linker = Linker::new(&engine);
        // Both worlds import the same interfaces; adding them once serves both.
        Filter::add_to_linker::<HostState, wasmtime::component::HasSelf<HostState>>(
            &mut linker,
            |s| s,
        )?;
        let weak = engine.weak();
        std::thread::Builder::new()
            .name("sluice-epoch".into())
            .spawn(move || {
                while let Some(engine) = weak.upgrade() {
                    engine.increment_epoch();
                    drop(engine);
                    std::thread::sleep(TICK);
                }
            })?;
        let cache = cache.and_then(|dir| match Cache::open(dir, &engine) {
            Ok(c) => Some(c),
            Err(e) => {
                tracing::warn!(error = %e, "the compiled-plugin cache is off; plugins are compiled at every start");
                None
            }
        });
        Ok(Arc::new(Runtime {
            engine,
            linker,
            limits,
            cache,
        }))
    }

    /// A fresh store with the memory cap and host state.
    pub fn store(&self, plugin: Arc<str>) -> Store<HostState> {
        let limits = super::limits::InstanceLimits::new(self.limits.memory_bytes);
        let mut store = Store::new(
            &self.engine,
            HostState {
                table: ResourceTable::new(),
                limits,
                plugin,
                last_error: None,
            },
        );
        store.limiter(|s| &mut s.limits);
        store.epoch_deadline_trap();
        store
    }

    /// Compile and type-check one component file. Blocking (tens of ms):
    /// call it off the async runtime.
    pub fn load(&self, name: &str, path: &Path, config: String) -> Result<Loaded, String> {
        let bytes = std::fs::read(path)
            .map_err(|e| format!("plugin `{name}`: cannot read {}: {e}", path.display()))?;
        self.load_bytes(name, &bytes, path, config)
    }

    /// Compile and type-check a component from its bytes (`path` is for
    /// messages). Blocking.
    pub fn load_bytes(
        &self,
        name: &str,
        bytes: &[u8],
        path: &Path,
        config: String,
    ) -> Result<Loaded, String> {
        let started = std::time::Instant::now();
        let compiled = match &self.cache {
            Some(cache) => cache.component(&self.engine, bytes),
            None => Component::new(&self.engine, bytes).map(|c| (c, false)),
        };
        let (component, cached) = compiled.map_err(|e| {
            format!(
                "plugin `{name}` ({}) is not a valid WebAssembly component: {e:#}; build it with `sluice plugin build` so it is made into a component",
                path.display()
            )
        })?;
        tracing::debug!(plugin = %name, cached, took_ms = started.elapsed().as_secs_f64() * 1e3, "plugin compiled");
        let pre = self.linker.instantiate_pre(&component).map_err(|e| {
            let e = format!("{e:#}");
            if e.contains("wasi") {
                format!("plugin `{name}` imports WASI ({e}); plugins get no WASI: build it for wasm32-unknown-unknown with the Sluice SDK")
            } else if let Some(theirs) = interface_version(&e).filter(|v| *v != INTERFACE_VERSION) {
                format!(
                    "plugin `{name}` was built for the plugin interface sluice:plugin@{theirs}, but this engine offers sluice:plugin@{INTERFACE_VERSION}: rebuild it against this release's SDK with `sluice plugin build` ({e})"
                )
            } else {
                format!("plugin `{name}` imports something the host does not offer: {e}")
            }
        })?;
        let pre = match FilterPre::new(pre.clone()) {
            Ok(f) => Pre::Filter(f),
            Err(fe) => match MapperPre::new(pre) {
                Ok(m) => Pre::Mapper(m),
                Err(me) => {
                    return Err(format!(
                        "plugin `{name}` exports neither the filter world ({fe:#}) nor the mapper world ({me:#})"
                    ));
                }
            },
        };
        Ok(Loaded {
            pre,
            version: version_of(bytes),
            config,
        })
    }
}

/// The version of `wit/sluice.wit` this engine implements.
pub const INTERFACE_VERSION: &str = "0.2.0";

/// The `sluice:plugin` version named in a link error, e.g. `0.1.0` in
/// "... `sluice:plugin/types@0.1.0` ...".
fn interface_version(link_error: &str) -> Option<&str> {
    let rest = &link_error[link_error.find("sluice:plugin/")?..];
    let version = &rest[rest.find('@')? + 1..];
    let end = version
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '-'))
        .unwrap_or(version.len());
    Some(&version[..end])
}

impl Runtime {
    /// Prove a freshly loaded version works before it replaces anything:
    /// instantiate it, call `init` with its config, and make one call on an
    /// empty batch, all under the usual limits. Blocking.
    pub fn validate(&self, name: &str, loaded: &Loaded) -> Result<(), String> {
        let mut store = self.store(Arc::from(name));
        store.set_epoch_deadline(self.limits.deadline_ticks());
        let empty = || super::host::BatchRes {
            changes: crate::change::TableChanges {
                schema: Arc::new(crate::change::TableSchema {
                    database: String::new(),
                    table: String::new(),
                    columns: Vec::new(),
                    key: Vec::new(),
                    target_table: None,
                }),
                rows: Vec::new(),
            },
        };
        let fail = |what: &str, e: wasmtime::Error| {
            format!("plugin `{name}` version {}: {what}: {e:#}", loaded.version)
        };
        let batch = store
            .data_mut()
            .table
            .push(empty())
            .map_err(|e| fail("host", e.into()))?;
        let borrow =
            wasmtime::component::Resource::<super::host::BatchRes>::new_borrow(batch.rep());
        let refused = |what: &str, msg: String| {
            format!("plugin `{name}` version {}: {what}: {msg}", loaded.version)
        };
        match &loaded.pre {
            Pre::Filter(pre) => {
                let f = pre
                    .instantiate(&mut store)
                    .map_err(|e| fail("instantiate", e))?;
                f.call_init(&mut store, &loaded.config)
                    .map_err(|e| fail("init", e))?
                    .map_err(|m| refused("init", m))?;
                store.set_epoch_deadline(self.limits.deadline_ticks());
                f.call_filter(&mut store, borrow)
                    .map_err(|e| fail("test call", e))?
                    .map_err(|m| refused("test call", m))?;
            }
            Pre::Mapper(pre) => {
                let mp = pre
                    .instantiate(&mut store)
                    .map_err(|e| fail("instantiate", e))?;
                mp.call_init(&mut store, &loaded.config)
                    .map_err(|e| fail("init", e))?
                    .map_err(|m| refused("init", m))?;
                store.set_epoch_deadline(self.limits.deadline_ticks());
                mp.call_map(&mut store, borrow)
                    .map_err(|e| fail("test call", e))?
                    .map_err(|m| refused("test call", m))?;
            }
        }
        Ok(())
    }
}

/// FNV-1a 64 of the file, as 12 hex digits: stable and dependency-free.
pub fn version_of(bytes: &[u8]) -> String {
    format!("{:016x}", super::cache::fnv64(bytes))[..12].to_owned()
}

impl Loaded {
    pub fn kind(&self) -> PluginKind {
        match self.pre {
            Pre::Filter(_) => PluginKind::Filter,
            Pre::Mapper(_) => PluginKind::Mapper,
        }
    }
}

/// Every plugin the pipelines name, loaded from `dir`.
pub struct Registry {
    pub runtime: Arc<Runtime>,
    pub plugins: BTreeMap<String, Arc<PluginHandle>>,
}

impl Registry {
    /// Load every plugin in `wanted` (name -> kind the pipelines use it as)
    /// from `dir`. All problems are returned at once.
    pub fn load(
        runtime: Arc<Runtime>,
        dir: &Path,
        wanted: &BTreeMap<String, PluginKind>,
        configs: &BTreeMap<String, serde_json::Value>,
    ) -> Result<Registry, Vec<String>> {
        let mut plugins = BTreeMap::new();
        let mut errors = Vec::new();
        for (name, kind) in wanted {
            let path: PathBuf = dir.join(format!("{name}.wasm"));
            let config = configs
                .get(name)
                .map_or_else(|| "{}".to_owned(), |v| v.to_string());
            // Loaded, the right world, and working: init with its config and
            // one test call succeed, so a bad config fails at start-up (and in
            // `sluice check`), not at the first row.
            let checked = runtime.load(name, &path, config).and_then(|loaded| {
                if loaded.kind() == *kind {
                    runtime.validate(name, &loaded)?;
                }
                Ok(loaded)
            });
            match checked {
                Ok(loaded) if loaded.kind() != *kind => errors.push(format!(
                    "plugin `{name}` is a {} but a pipeline lists it under {}",
                    loaded.kind().as_str(),
                    kind.list_key()
                )),
                Ok(loaded) => {
                    tracing::info!(plugin = %name, version = %loaded.version, kind = kind.as_str(), "plugin loaded");
                    crate::metrics::plugin_info(name, &loaded.version);
                    plugins.insert(
                        name.clone(),
                        Arc::new(PluginHandle {
                            name: Arc::from(name.as_str()),
                            kind: *kind,
                            current: ArcSwap::from_pointee(loaded),
                        }),
                    );
                }
                Err(e) => errors.push(e),
            }
        }
        if errors.is_empty() {
            Ok(Registry { runtime, plugins })
        } else {
            Err(errors)
        }
    }
}

/// A live instance of one loaded version.
pub enum Bound {
    Filter(Filter),
    Mapper(Mapper),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_interface_version_is_the_wit_packages() {
        let wit = include_str!("../../../wit/sluice.wit");
        let package = format!("package sluice:plugin@{INTERFACE_VERSION};");
        assert!(
            wit.lines().any(|l| l == package),
            "wit/sluice.wit is not {package}"
        );
    }

    #[test]
    fn the_version_a_link_error_names_is_found() {
        let e = "component imports instance `sluice:plugin/types@0.1.0`, but a matching implementation was not found in the linker";
        assert_eq!(interface_version(e), Some("0.1.0"));
        assert_eq!(interface_version("no such thing"), None);
        assert_eq!(
            interface_version("x sluice:plugin/host@1.0.0-rc1"),
            Some("1.0.0-rc1")
        );
    }
}
