//! The requests that end an engine round and start the next one, shared by
//! the engine, the HTTP API, config reload and the plugin watcher. It is a
//! leaf module, so none of them imports another to reach it.

use crate::config::Config;

/// Requests that end a round and start the next one.
#[derive(Debug)]
pub enum Control {
    /// An operator resumed a halted pipeline (`POST .../resume`).
    Resume(String),
    /// The config file changed in its pipelines or plugin settings.
    Reload(Box<Config>),
    /// A plugin that pipelines wait for arrived in the folder and passed
    /// its checks.
    PluginAppeared(String),
    /// A pipeline lost work in flight that only the reader can send again
    /// (a large transaction whose open target transaction failed).
    Replay(String),
    /// The source stream moved to another server of `[source] url` while
    /// a schema history decodes it (`source::SourceError::Moved`).
    SourceMoved(String),
}
