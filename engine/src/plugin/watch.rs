//! Hot reload: watch the plugin folder and swap in new versions.
//!
//! # Why no event is lost and nothing half-written is ever loaded
//! * The folder itself is watched (not the files), for close-after-write
//!   and moved-in events only; a burst of events is debounced (100 ms of
//!   quiet) and then each changed file is handled once.
//! * A file whose content hash equals the loaded version is skipped.
//! * A new version is compiled, type-checked against the world the plugin
//!   already serves, instantiated, given its `init` and one test call, all
//!   on a blocking thread, away from the async runtime. Only if every step
//!   succeeds is it stored in the plugin's handle. A partial, broken or
//!   wrong-world file fails a step and never replaces the working version;
//!   it is logged with the reason and counted.
//! * Pipelines pin a version per transaction (`Instance::pin`), so the swap
//!   takes effect between transactions; the rows in flight are unaffected.
//! * A removed file is reported and ignored: the loaded version keeps
//!   running until a new file arrives.
//! * A plugin a pipeline names but that was missing at start (`Missing`)
//!   is checked the same way when its file appears; only a file that
//!   passes every step asks the engine to start the waiting pipelines
//!   (`Control::PluginAppeared`), so a partial or broken new file keeps
//!   them waiting and is counted like a refused reload.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use notify::event::{AccessKind, AccessMode, ModifyKind, RenameMode};
use notify::{EventKind, RecursiveMode, Watcher};
use tokio::sync::mpsc;

use super::PluginKind;
use super::registry::{Registry, version_of};
use crate::control::Control;
use crate::metrics as m;
use crate::shutdown::Shutdown;
use crate::status::Status;

/// Quiet time that ends a burst of file events.
const DEBOUNCE: Duration = Duration::from_millis(100);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Change {
    Written,
    Removed,
}

/// The change an event reports for a path, if it is one we act on.
fn changes(ev: &notify::Event) -> Vec<(PathBuf, Change)> {
    let at = |i: usize, c| {
        ev.paths
            .get(i)
            .map(|p| (p.clone(), c))
            .into_iter()
            .collect()
    };
    match ev.kind {
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => at(0, Change::Written),
        EventKind::Modify(ModifyKind::Name(RenameMode::To)) => at(0, Change::Written),
        EventKind::Modify(ModifyKind::Name(RenameMode::Both)) => {
            let mut v: Vec<_> = at(0, Change::Removed);
            v.extend(at(1, Change::Written));
            v
        }
        EventKind::Modify(ModifyKind::Name(RenameMode::From)) | EventKind::Remove(_) => {
            at(0, Change::Removed)
        }
        _ => Vec::new(),
    }
}

/// The plugin a path names: `NAME.wasm`, not hidden (temp files start with `.`).
fn plugin_name(path: &Path) -> Option<String> {
    let name = path.file_name()?.to_str()?;
    let stem = name.strip_suffix(".wasm")?;
    (!stem.is_empty() && !name.starts_with('.')).then(|| stem.to_owned())
}

/// Plugins the pipelines name whose files were missing at start: the kind
/// they are used as and their config (JSON text for `init`).
pub type Missing = BTreeMap<String, (PluginKind, String)>;

/// Start watching `dir` for the plugins in `registry`, and for the
/// `missing` ones, until shutdown.
pub fn spawn(
    registry: Arc<Registry>,
    dir: PathBuf,
    status: Arc<Status>,
    missing: Missing,
    control: mpsc::UnboundedSender<Control>,
    mut shutdown: Shutdown,
) -> Result<(), String> {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let mut watcher =
        notify::recommended_watcher(move |res: notify::Result<notify::Event>| match res {
            Ok(ev) => {
                let _ = tx.send(ev);
            }
            Err(e) => tracing::warn!(error = %e, "plugin folder watch error"),
        })
        .map_err(|e| format!("cannot watch the plugin folder: {e}"))?;
    watcher
        .watch(&dir, RecursiveMode::NonRecursive)
        .map_err(|e| format!("cannot watch the plugin folder {}: {e}", dir.display()))?;
    tokio::spawn(async move {
        let _watcher = watcher; // dropped (unwatched) when this task ends
        loop {
            let first = tokio::select! {
                ev = rx.recv() => ev,
                _ = shutdown.wait() => return,
            };
            let Some(first) = first else { return };
            let mut pending: BTreeMap<PathBuf, Change> = changes(&first).into_iter().collect();
            while let Ok(Some(ev)) = tokio::time::timeout(DEBOUNCE, rx.recv()).await {
                pending.extend(changes(&ev));
            }
            for (path, change) in pending {
                let Some(name) = plugin_name(&path) else {
                    continue;
                };
                match missing.get(&name) {
                    Some(want) if change == Change::Written => {
                        if appeared(&registry, &name, &path, want).await {
                            let _ = control.send(Control::PluginAppeared(name));
                        }
                    }
                    Some(_) => {}
                    None => reload(&registry, &status, &name, &path, change).await,
                }
            }
        }
    });
    Ok(())
}

async fn reload(
    registry: &Arc<Registry>,
    status: &Status,
    name: &str,
    path: &Path,
    change: Change,
) {
    let Some(handle) = registry.plugins.get(name).cloned() else {
        tracing::debug!(plugin = name, "a plugin no pipeline uses changed; ignored");
        return;
    };
    if change == Change::Removed {
        tracing::warn!(plugin = name, version = %handle.current.load().version, "plugin file removed; the loaded version keeps running");
        return;
    }
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        // Renamed away or removed again since the event: nothing to load.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return,
        Err(e) => {
            fail(name, &format!("cannot read {}: {e}", path.display()));
            return;
        }
    };
    let old = handle.current.load_full();
    if version_of(&bytes) == old.version {
        return;
    }
    let config = old.config.clone();
    let loaded = check(registry, name, bytes, path, handle.kind, config).await;
    match loaded {
        Ok(loaded) => {
            let version = loaded.version.clone();
            handle.current.store(Arc::new(loaded));
            m::plugin_reload(name, "ok");
            m::plugin_version_swapped(name, &old.version, &version);
            status.plugin_swapped(name, &version);
            tracing::info!(plugin = name, from = %old.version, to = %version, "plugin reloaded");
        }
        Err(reason) => fail(name, &reason),
    }
}

/// Whether a newly written file of a missing plugin loads, is of the kind
/// the pipelines use it as, and passes `init` and a test call.
async fn appeared(
    registry: &Registry,
    name: &str,
    path: &Path,
    want: &(PluginKind, String),
) -> bool {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(_) => return false,
    };
    let (kind, config) = want.clone();
    let checked = check(registry, name, bytes, path, kind, config).await;
    match checked {
        Ok(_) => {
            tracing::info!(
                plugin = name,
                "a missing plugin arrived; starting the pipelines that wait for it"
            );
            true
        }
        Err(reason) => {
            m::plugin_reload(name, "failed");
            tracing::warn!(
                plugin = name,
                reason,
                "new plugin file refused; its pipelines keep waiting"
            );
            false
        }
    }
}

/// Compile a plugin file, check it is of the `kind` its pipelines use it
/// as, instantiate it and call `init` and one test call, on a blocking
/// thread.
async fn check(
    registry: &Registry,
    name: &str,
    bytes: Vec<u8>,
    path: &Path,
    kind: PluginKind,
    config: String,
) -> Result<super::registry::Loaded, String> {
    let (runtime, name, path) = (registry.runtime.clone(), name.to_owned(), path.to_owned());
    tokio::task::spawn_blocking(move || {
        let loaded = runtime.load_bytes(&name, &bytes, &path, config)?;
        if loaded.kind() != kind {
            return Err(format!(
                "plugin `{name}` is a {} but pipelines use it as a {}",
                loaded.kind().as_str(),
                kind.as_str()
            ));
        }
        runtime.validate(&name, &loaded)?;
        Ok(loaded)
    })
    .await
    .unwrap_or_else(|e| Err(format!("validation panicked: {e}")))
}

fn fail(name: &str, reason: &str) {
    m::plugin_reload(name, "failed");
    tracing::warn!(
        plugin = name,
        reason,
        "plugin reload refused; the loaded version keeps running"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_visible_wasm_files_name_plugins() {
        assert_eq!(
            plugin_name(Path::new("/p/active_only.wasm")).as_deref(),
            Some("active_only")
        );
        assert_eq!(plugin_name(Path::new("/p/.active_only.wasm.tmp")), None);
        assert_eq!(plugin_name(Path::new("/p/.x.wasm")), None);
        assert_eq!(plugin_name(Path::new("/p/readme.md")), None);
    }
}
