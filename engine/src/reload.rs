//! Hot reload of the config file (mapping rules).
//!
//! The folder holding the config is watched for the file being written or
//! renamed into place; a burst of events is debounced. The new file is
//! validated as a whole: if it has any error, none of it is applied, every
//! error is logged and `sluice_config_reload_failures_total` counts it. A
//! change to the source, a target's connection, the metrics listener, the
//! admin token or the plugin folder and limits needs a restart: it is
//! reported and nothing is applied half-way. A change to the pipelines or
//! the plugins' settings ends the engine's round and starts the next one
//! with the new rules. Between rounds every pipeline stops between
//! transactions and resumes from its checkpoint, so a reload loses and
//! repeats nothing. (All pipelines pause briefly, not only the changed
//! ones: simpler, and just as exact.)

use std::path::PathBuf;
use std::time::Duration;

use notify::event::{AccessKind, AccessMode, ModifyKind, RenameMode};
use notify::{EventKind, RecursiveMode, Watcher};
use tokio::sync::mpsc;

use crate::config::Config;
use crate::control::Control;
use crate::metrics as m;
use crate::shutdown::Shutdown;

const DEBOUNCE: Duration = Duration::from_millis(100);

/// The parts of a config that only a restart can change, with their names.
fn restart_only(a: &Config, b: &Config) -> Vec<&'static str> {
    let mut changed = Vec::new();
    if a.source != b.source {
        changed.push("[source]");
    }
    if a.targets != b.targets {
        changed.push("[targets]");
    }
    if a.metrics != b.metrics {
        changed.push("[metrics]");
    }
    if a.admin != b.admin {
        changed.push("[admin]");
    }
    if (&a.plugins.dir, a.plugins.memory_mib, a.plugins.deadline_ms)
        != (&b.plugins.dir, b.plugins.memory_mib, b.plugins.deadline_ms)
    {
        changed.push("[plugins] dir/memory_mib/deadline_ms");
    }
    changed
}

/// Watch `config.path` until shutdown; send `Control::Reload` for every
/// valid change of the pipelines or plugin settings.
pub fn watch(
    config: Config,
    control: mpsc::UnboundedSender<Control>,
    mut shutdown: Shutdown,
) -> Result<(), String> {
    let path: PathBuf = config.path.clone();
    let file_name = path
        .file_name()
        .map(|n| n.to_owned())
        .ok_or("the config path names no file")?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
        _ => PathBuf::from("."),
    };
    let (tx, mut rx) = mpsc::unbounded_channel();
    let mut watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
        if let Ok(ev) = res {
            let relevant = matches!(
                ev.kind,
                EventKind::Access(AccessKind::Close(AccessMode::Write))
                    | EventKind::Modify(ModifyKind::Name(RenameMode::To | RenameMode::Both))
            );
            if relevant
                && ev
                    .paths
                    .iter()
                    .any(|p| p.file_name() == Some(file_name.as_os_str()))
            {
                let _ = tx.send(());
            }
        }
    })
    .map_err(|e| format!("cannot watch the config file: {e}"))?;
    watcher
        .watch(&dir, RecursiveMode::NonRecursive)
        .map_err(|e| format!("cannot watch {}: {e}", dir.display()))?;
    tokio::spawn(async move {
        let _watcher = watcher;
        let mut current = config;
        loop {
            tokio::select! {
                ev = rx.recv() => if ev.is_none() { return },
                _ = shutdown.wait() => return,
            }
            while let Ok(Some(())) = tokio::time::timeout(DEBOUNCE, rx.recv()).await {}
            let new = match Config::load(&path) {
                Ok(c) => c,
                Err(errors) => {
                    m::config_reload_failure();
                    tracing::warn!("config reload refused, the running config stays:\n{errors}");
                    continue;
                }
            };
            let needs_restart = restart_only(&current, &new);
            if !needs_restart.is_empty() {
                m::config_reload_failure();
                tracing::warn!(changed = %needs_restart.join(", "), "config change needs a restart; nothing of it was applied");
                continue;
            }
            if new.pipelines == current.pipelines && new.plugins.config == current.plugins.config {
                continue;
            }
            current = new.clone();
            if control.send(Control::Reload(Box::new(new))).is_err() {
                return;
            }
        }
    });
    Ok(())
}
