//! Sluice: change-data-capture from a MySQL/MariaDB binlog, through
//! sandboxed WebAssembly plugins, into MySQL with exactly-once delivery.
//!
//! # Layout
//! * [`config`]: the TOML config, validated with every error at once.
//! * [`position`]: binlog positions and GTIDs as types.
//! * [`change`]: the record model (transactions of typed row changes).
//! * [`source`]: the binlog reader: server checks, decoding, reconnects.
//! * [`plugin`]: the wasmtime host for filter and mapper components.
//! * [`pipeline`]: routing, the plugin chain, checkpoints and retries.
//! * [`target`]: where changes are applied (one folder per kind).
//! * [`metrics`]: every metric, and the HTTP listener.
//! * [`status`]: what `/readyz` and `/status` report.
//! * [`http`]: the HTTP listener (metrics, health, status, admin).
//! * [`engine`]: wiring it all together; `run` is what `sluice run` calls.
//! * [`reload`]: hot reload of the config file.
//! * [`control`]: requests that restart an engine round (resume, reload,
//!   a plugin that arrived, a replay).
//! * [`backoff`]: the one retry schedule.
//! * [`error`], [`shutdown`]: cross-cutting types.

pub mod backoff;
pub mod change;
pub mod check;
pub mod config;
pub mod control;
pub mod engine;
pub mod error;
#[doc(hidden)]
pub mod fuzz;
pub mod http;
pub mod metrics;
pub mod pipeline;
pub mod plugin;
pub mod position;
pub mod reload;
pub mod server_error;
pub mod shutdown;
pub mod source;
pub mod start;
pub mod status;
pub mod target;
pub mod verify;

/// Install the TLS crypto provider (ring) for the whole process, once.
/// mysql_async's rustls panics on the first TLS handshake without one, so
/// `main` calls this before any connection.
pub fn install_crypto() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // Err means another provider is installed already; that one serves.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}
