//! What `/readyz` and `/status` report: the source connection and each
//! pipeline's state, position, lag, rows and plugins.
//!
//! The source and the pipelines write here as they go (a short mutex hold
//! per transaction, never per row); the HTTP listener reads a snapshot.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use serde::Serialize;

/// A pipeline's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    Starting,
    /// Copying existing rows (initial snapshot).
    Snapshotting,
    /// Not started: a plugin it names is not in the plugin folder yet.
    Waiting,
    Streaming,
    Halted,
    Stopped,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Starting => "starting",
            State::Snapshotting => "snapshotting",
            State::Waiting => "waiting",
            State::Streaming => "streaming",
            State::Halted => "halted",
            State::Stopped => "stopped",
        }
    }
}

/// A plugin a pipeline runs, with its version (content hash prefix).
#[derive(Clone, Debug, Serialize)]
pub struct PluginInfo {
    pub name: String,
    pub kind: &'static str,
    pub version: String,
    /// When this version was loaded, seconds since the epoch.
    pub loaded_at: f64,
}

/// The initial snapshot of a pipeline, as `/status` shows it.
#[derive(Clone, Debug, Default, Serialize)]
pub struct SnapshotStatus {
    /// "copying" or "done".
    pub state: &'static str,
    /// The binlog position the current consistent read sees.
    pub position: String,
    /// The table being copied.
    pub table: Option<String>,
    pub tables_total: usize,
    pub tables_remaining: usize,
    /// Rows read from the source so far (this run).
    pub rows_copied: u64,
    /// InnoDB's estimate of the rows to copy.
    pub rows_estimated: u64,
    pub rows_per_second: f64,
}

/// One pipeline, as `/status` shows it.
#[derive(Clone, Debug, Serialize)]
pub struct PipelineStatus {
    pub state: State,
    /// Why it halted.
    pub error: Option<String>,
    /// End position of the last transaction applied (or skipped as unrelated).
    pub position: Option<String>,
    pub lag_seconds: Option<f64>,
    /// GTID of the last transaction applied: the MariaDB GTID state, or
    /// the MySQL GTID (`uuid:n`).
    pub gtid: Option<String>,
    /// Row changes of matching tables read from the source.
    pub rows_in: u64,
    /// Row changes written to the target.
    pub rows_out: u64,
    pub plugins: Vec<PluginInfo>,
    /// The initial snapshot, while it runs and after it finished.
    pub snapshot: Option<SnapshotStatus>,
    /// When the checkpoint was last written, for its age.
    #[serde(skip)]
    pub checkpointed: Option<Instant>,
    /// End of the last transaction finished (applied or passed over), for
    /// lag: the pipeline is caught up when this is the source's last read.
    #[serde(skip)]
    pub finished: Option<crate::position::BinlogPosition>,
    /// Source time (seconds since the epoch) up to which the target holds
    /// every change, while the pipeline is behind the source's reads.
    #[serde(skip)]
    pub current_until: Option<f64>,
}

#[derive(Default)]
struct Inner {
    source_connected: bool,
    pipelines: BTreeMap<String, PipelineStatus>,
    /// End of the last transaction the source handed to the pipelines.
    read: Option<crate::position::BinlogPosition>,
    /// The heartbeat period the source asked for, in seconds.
    heartbeat_secs: f64,
}

/// Shared status of the running engine.
#[derive(Default)]
pub struct Status {
    inner: Mutex<Inner>,
    /// When the source last sent anything, event or heartbeat (unix ms):
    /// an atomic, since it is set for every event.
    heard_ms: AtomicU64,
}

/// A serializable snapshot, the body of `/status`.
#[derive(Serialize)]
pub struct Snapshot {
    pub source_connected: bool,
    pub pipelines: BTreeMap<String, PipelineStatus>,
}

impl Status {
    fn with<R>(&self, f: impl FnOnce(&mut Inner) -> R) -> R {
        let mut guard = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut guard)
    }

    pub fn set_source_connected(&self, up: bool) {
        self.with(|i| i.source_connected = up);
    }

    /// Register a pipeline as starting, with its plugins.
    pub fn add_pipeline(&self, name: &str, plugins: Vec<PluginInfo>) {
        self.with(|i| {
            i.pipelines.insert(
                name.to_owned(),
                PipelineStatus {
                    state: State::Starting,
                    error: None,
                    position: None,
                    lag_seconds: None,
                    gtid: None,
                    rows_in: 0,
                    rows_out: 0,
                    plugins,
                    snapshot: None,
                    checkpointed: None,
                    finished: None,
                    current_until: None,
                },
            );
        });
    }

    /// Update a pipeline.
    pub fn update(&self, name: &str, f: impl FnOnce(&mut PipelineStatus)) {
        self.with(|i| {
            if let Some(p) = i.pipelines.get_mut(name) {
                f(p);
            }
        });
    }

    /// A plugin's loaded version changed (hot reload).
    pub fn plugin_swapped(&self, plugin: &str, version: &str) {
        self.with(|i| {
            for p in i.pipelines.values_mut() {
                for info in p.plugins.iter_mut().filter(|info| info.name == plugin) {
                    info.version = version.to_owned();
                    info.loaded_at = unix_now();
                }
            }
        });
    }

    /// A copy of everything, for `/status`, with each pipeline's lag as of
    /// now.
    pub fn snapshot(&self) -> Snapshot {
        let heard = self.heard();
        self.with(|i| {
            let mut pipelines = i.pipelines.clone();
            for p in pipelines.values_mut() {
                if let Some(lag) = live_lag(i, p, heard) {
                    p.lag_seconds = Some(lag);
                }
            }
            Snapshot {
                source_connected: i.source_connected,
                pipelines,
            }
        })
    }

    /// The source sent something (any event, or a heartbeat).
    pub fn heard_from_source(&self) {
        self.heard_ms
            .store((unix_now() * 1e3) as u64, Ordering::Relaxed);
    }

    fn heard(&self) -> f64 {
        self.heard_ms.load(Ordering::Relaxed) as f64 / 1e3
    }

    /// The heartbeat period the source asked the server for.
    pub fn set_heartbeat(&self, secs: u64) {
        self.with(|i| i.heartbeat_secs = secs as f64);
    }

    /// The source hands the pipelines a transaction ending at `end`,
    /// committed at `timestamp`: each pipeline that had finished everything
    /// before it held every change up to that moment.
    pub fn source_read(&self, end: &crate::position::BinlogPosition, timestamp: u32) {
        self.with(|i| {
            let read = i.read.clone();
            for p in i.pipelines.values_mut() {
                if caught_up(&read, p) {
                    p.current_until = Some(f64::from(timestamp));
                }
            }
            i.read = Some(end.clone());
        });
    }

    /// A pipeline finished the transactions up to `end`, the last of them
    /// committed at `timestamp`.
    pub fn finished(&self, name: &str, end: &crate::position::BinlogPosition, timestamp: u32) {
        self.with(|i| {
            if let Some(p) = i.pipelines.get_mut(name) {
                p.finished = Some(end.clone());
                if timestamp > 0 {
                    p.current_until = Some(f64::from(timestamp));
                }
            }
        });
    }

    /// Each pipeline's replication lag now, in seconds (module doc of
    /// docs/metrics.md: how lag is computed).
    pub fn lags(&self) -> Vec<(String, f64)> {
        let heard = self.heard();
        self.with(|i| {
            i.pipelines
                .iter()
                .filter_map(|(n, p)| live_lag(i, p, heard).map(|l| (n.clone(), l)))
                .collect()
        })
    }

    /// `None` when ready (source connected, every pipeline streaming), else
    /// every reason it is not.
    pub fn not_ready(&self) -> Option<String> {
        self.with(|i| {
            let mut reasons = Vec::new();
            if !i.source_connected {
                reasons.push("source not connected".to_owned());
            }
            for (name, p) in &i.pipelines {
                if p.state != State::Streaming {
                    let why = p
                        .error
                        .as_deref()
                        .map(|e| format!(": {e}"))
                        .unwrap_or_default();
                    reasons.push(format!("pipeline {name} is {}{why}", p.state.as_str()));
                }
            }
            (!reasons.is_empty()).then(|| reasons.join("\n"))
        })
    }

    /// Seconds since each pipeline's checkpoint was last written.
    pub fn checkpoint_ages(&self) -> Vec<(String, f64)> {
        self.with(|i| {
            i.pipelines
                .iter()
                .filter_map(|(n, p)| {
                    p.checkpointed
                        .map(|t| (n.clone(), t.elapsed().as_secs_f64()))
                })
                .collect()
        })
    }
}

fn caught_up(read: &Option<crate::position::BinlogPosition>, p: &PipelineStatus) -> bool {
    match (read, &p.finished) {
        (Some(r), Some(f)) => f >= r,
        (None, _) => true,
        (Some(_), None) => false,
    }
}

/// The lag of `p`: when it has finished everything the source read, the
/// target is as current as the source connection, which is silent for at
/// most one heartbeat period when healthy, so lag is the silence beyond
/// that; when it is behind, lag is the age of the newest change it holds
/// everything up to. `None` before the pipeline finished anything.
fn live_lag(i: &Inner, p: &PipelineStatus, heard: f64) -> Option<f64> {
    p.finished.as_ref()?;
    let now = unix_now();
    if caught_up(&i.read, p) {
        if heard == 0.0 {
            return Some(0.0);
        }
        Some((now - heard - i.heartbeat_secs).max(0.0))
    } else {
        p.current_until.map(|t| (now - t).max(0.0))
    }
}

/// Seconds since the epoch, now.
pub fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}
