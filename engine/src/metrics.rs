//! Every metric the engine exports, declared in one place with its help
//! text. `http` serves them.
//!
//! Names follow `sluice_<what>_<unit>[_total]`; labels stay low-cardinality
//! (pipeline, table, plugin, target, op, type, kind). Call sites use the small
//! functions below, never a metric name string.

use std::time::Duration;

use metrics::{counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use crate::change::Op;

pub const SOURCE_EVENTS: &str = "sluice_source_events_total";
pub const SOURCE_ROWS: &str = "sluice_source_rows_total";
pub const SOURCE_BYTES: &str = "sluice_source_bytes_total";
pub const SOURCE_POSITION: &str = "sluice_source_position";
pub const SOURCE_FILE: &str = "sluice_source_position_file";
pub const SOURCE_CONNECTED: &str = "sluice_source_connected";
pub const SOURCE_RECONNECTS: &str = "sluice_source_reconnects_total";
pub const LAG: &str = "sluice_replication_lag_seconds";
pub const PIPELINE_ROWS: &str = "sluice_pipeline_rows_total";
pub const PLUGIN_CALLS: &str = "sluice_plugin_calls_total";
pub const PLUGIN_CALL_SECONDS: &str = "sluice_plugin_call_seconds";
pub const PLUGIN_ERRORS: &str = "sluice_plugin_errors_total";
pub const TARGET_ROWS: &str = "sluice_target_rows_total";
pub const TARGET_TRANSACTIONS: &str = "sluice_target_transactions_total";
pub const TARGET_ERRORS: &str = "sluice_target_errors_total";
pub const TARGET_BATCH_SECONDS: &str = "sluice_target_batch_seconds";
pub const PLUGIN_INFO: &str = "sluice_plugin_info";
pub const CHECKPOINT_AGE: &str = "sluice_checkpoint_age_seconds";
pub const QUEUE_BYTES: &str = "sluice_queue_bytes";
pub const PLUGIN_RELOADS: &str = "sluice_plugin_reloads_total";
pub const SOURCE_DDL_UNPARSED: &str = "sluice_source_ddl_unparsed_total";
pub const SOURCE_LARGE_TRANSACTIONS: &str = "sluice_source_large_transactions_total";
pub const CONFIG_RELOAD_FAILURES: &str = "sluice_config_reload_failures_total";
pub const SCHEMA_CHANGES: &str = "sluice_schema_changes_total";
pub const GROUP_TRANSACTIONS: &str = "sluice_group_transactions";
pub const SNAPSHOT_ROWS: &str = "sluice_snapshot_rows_total";
pub const SNAPSHOT_TABLES_REMAINING: &str = "sluice_snapshot_tables_remaining";
pub const SNAPSHOT_LOCK_SECONDS: &str = "sluice_snapshot_lock_seconds";

/// Every metric name above, for the tests that keep the docs and the
/// dashboard honest.
pub const ALL: &[&str] = &[
    SOURCE_EVENTS,
    SOURCE_ROWS,
    SOURCE_BYTES,
    SOURCE_POSITION,
    SOURCE_FILE,
    SOURCE_CONNECTED,
    SOURCE_RECONNECTS,
    LAG,
    PIPELINE_ROWS,
    PLUGIN_CALLS,
    PLUGIN_CALL_SECONDS,
    PLUGIN_ERRORS,
    PLUGIN_INFO,
    TARGET_ROWS,
    TARGET_TRANSACTIONS,
    TARGET_BATCH_SECONDS,
    TARGET_ERRORS,
    CHECKPOINT_AGE,
    QUEUE_BYTES,
    PLUGIN_RELOADS,
    SOURCE_DDL_UNPARSED,
    SOURCE_LARGE_TRANSACTIONS,
    CONFIG_RELOAD_FAILURES,
    SCHEMA_CHANGES,
    GROUP_TRANSACTIONS,
    SNAPSHOT_ROWS,
    SNAPSHOT_TABLES_REMAINING,
    SNAPSHOT_LOCK_SECONDS,
];

static HANDLE: std::sync::OnceLock<PrometheusHandle> = std::sync::OnceLock::new();

/// Install the recorder (once per process) and describe every metric.
/// Returns the handle that renders the Prometheus text.
pub fn install() -> Result<PrometheusHandle, String> {
    if let Some(h) = HANDLE.get() {
        return Ok(h.clone());
    }
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(
            metrics_exporter_prometheus::Matcher::Full(GROUP_TRANSACTIONS.to_owned()),
            &[1.0, 2.0, 5.0, 10.0, 50.0, 100.0, 500.0, 1000.0, 5000.0],
        )
        .map_err(|e| e.to_string())?
        .set_buckets(&[
            0.000_01, 0.000_05, 0.000_1, 0.000_5, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0,
        ])
        .map_err(|e| e.to_string())?
        .install_recorder()
        .map_err(|e| format!("cannot install the metrics recorder: {e}"))?;
    describe_counter!(SOURCE_EVENTS, "Binlog events read, by event type.");
    describe_counter!(
        SOURCE_ROWS,
        "Row changes decoded from the binlog, by table and op."
    );
    describe_counter!(SOURCE_BYTES, "Binlog bytes read.");
    describe_gauge!(
        SOURCE_POSITION,
        "Byte offset in the current binlog file of the last complete transaction."
    );
    describe_gauge!(SOURCE_FILE, "Numeric suffix of the binlog file being read.");
    describe_gauge!(
        SOURCE_CONNECTED,
        "1 while the binlog dump connection is up."
    );
    describe_counter!(
        SOURCE_RECONNECTS,
        "Times the source reconnected after a disconnect."
    );
    describe_gauge!(
        LAG,
        "Seconds between the source commit of the last applied transaction and its apply."
    );
    describe_counter!(
        PIPELINE_ROWS,
        "Rows through a pipeline, by outcome (kept, dropped)."
    );
    describe_counter!(PLUGIN_CALLS, "Plugin calls (one per batch).");
    describe_histogram!(PLUGIN_CALL_SECONDS, "Time per plugin call.");
    describe_counter!(
        PLUGIN_ERRORS,
        "Plugin failures, by kind (trap, error, timeout, bad_output)."
    );
    describe_counter!(TARGET_ROWS, "Rows written to a target, by op.");
    describe_counter!(TARGET_TRANSACTIONS, "Target transactions committed.");
    describe_counter!(
        TARGET_ERRORS,
        "Target errors, by kind (transient, definite)."
    );
    describe_histogram!(
        TARGET_BATCH_SECONDS,
        "Time to apply one target transaction, checkpoint included."
    );
    describe_gauge!(
        PLUGIN_INFO,
        "1 for each loaded plugin, labelled with its version (content hash prefix)."
    );
    describe_gauge!(
        CHECKPOINT_AGE,
        "Seconds since the pipeline's checkpoint was last written."
    );
    describe_gauge!(
        QUEUE_BYTES,
        "Binlog bytes of the transactions queued for a pipeline (stage=pipeline)."
    );
    describe_counter!(
        PLUGIN_RELOADS,
        "Hot reloads of a plugin, by result (ok, failed)."
    );
    describe_counter!(
        SOURCE_DDL_UNPARSED,
        "DDL statements in the binlog that Sluice could not parse (logged; decoding is unaffected)."
    );
    describe_counter!(
        SOURCE_LARGE_TRANSACTIONS,
        "Source transactions larger than the fragment size, handed to the pipelines in pieces."
    );
    describe_counter!(
        CONFIG_RELOAD_FAILURES,
        "Config file changes refused (invalid, or needing a restart); the running config stays."
    );
    describe_counter!(
        SCHEMA_CHANGES,
        "Schema changes on copied tables, by outcome (applied, ignored)."
    );
    describe_histogram!(
        GROUP_TRANSACTIONS,
        "Source transactions per target transaction (group commit)."
    );
    describe_counter!(
        SNAPSHOT_ROWS,
        "Rows copied by the initial snapshot, read from the source (before the plugins)."
    );
    describe_gauge!(
        SNAPSHOT_TABLES_REMAINING,
        "Tables the initial snapshot has still to copy (0 once it is done)."
    );
    describe_gauge!(
        SNAPSHOT_LOCK_SECONDS,
        "How long the last snapshot's global read lock blocked writers on the source (MySQL only)."
    );
    Ok(HANDLE.get_or_init(|| handle).clone())
}

pub fn source_event(kind: &'static str, bytes: u64) {
    counter!(SOURCE_EVENTS, "type" => kind).increment(1);
    counter!(SOURCE_BYTES).increment(bytes);
}

/// Count `n` decoded rows of one rows event (called per event, not per row).
pub fn source_rows(database: &str, table: &str, op: Op, n: u64) {
    counter!(SOURCE_ROWS, "table" => format!("{database}.{table}"), "op" => op.as_str())
        .increment(n);
}

pub fn source_offset(pos: u64) {
    gauge!(SOURCE_POSITION).set(pos as f64);
}

pub fn source_file(index: u64) {
    gauge!(SOURCE_FILE).set(index as f64);
}

pub fn source_connected(up: bool) {
    gauge!(SOURCE_CONNECTED).set(if up { 1.0 } else { 0.0 });
}

pub fn config_reload_failure() {
    counter!(CONFIG_RELOAD_FAILURES).increment(1);
}

pub fn source_ddl_unparsed() {
    counter!(SOURCE_DDL_UNPARSED).increment(1);
}

pub fn source_large_transaction() {
    counter!(SOURCE_LARGE_TRANSACTIONS).increment(1);
}

pub fn source_reconnect() {
    counter!(SOURCE_RECONNECTS).increment(1);
}

pub fn lag(pipeline: &str, seconds: f64) {
    gauge!(LAG, "pipeline" => pipeline.to_owned()).set(seconds);
}

pub fn pipeline_rows(pipeline: &str, outcome: &'static str, n: u64) {
    if n > 0 {
        counter!(PIPELINE_ROWS, "pipeline" => pipeline.to_owned(), "outcome" => outcome)
            .increment(n);
    }
}

pub fn plugin_call(plugin: &str, took: Duration) {
    counter!(PLUGIN_CALLS, "plugin" => plugin.to_owned()).increment(1);
    histogram!(PLUGIN_CALL_SECONDS, "plugin" => plugin.to_owned()).record(took.as_secs_f64());
}

pub fn plugin_error(plugin: &str, kind: &'static str) {
    counter!(PLUGIN_ERRORS, "plugin" => plugin.to_owned(), "kind" => kind).increment(1);
}

pub fn target_rows(target: &str, op: Op, n: u64) {
    counter!(TARGET_ROWS, "target" => target.to_owned(), "op" => op.as_str()).increment(n);
}

pub fn target_transaction(target: &str) {
    counter!(TARGET_TRANSACTIONS, "target" => target.to_owned()).increment(1);
}

/// A hot reload of a plugin, by result (ok, failed).
pub fn plugin_reload(plugin: &str, result: &'static str) {
    counter!(PLUGIN_RELOADS, "plugin" => plugin.to_owned(), "result" => result).increment(1);
}

/// A plugin's loaded version changed: the old info series drops to 0.
pub fn plugin_version_swapped(plugin: &str, old: &str, new: &str) {
    gauge!(PLUGIN_INFO, "plugin" => plugin.to_owned(), "version" => old.to_owned()).set(0.0);
    plugin_info(plugin, new);
}

/// Add (or, negative, remove) bytes queued for a pipeline.
pub fn queue_bytes(pipeline: &str, delta: f64) {
    gauge!(QUEUE_BYTES, "stage" => "pipeline", "pipeline" => pipeline.to_owned()).increment(delta);
}

/// Make a pipeline's series exist from the start, at zero, so dashboards
/// and alerts see 0 rather than nothing.
pub fn register(pipeline: &str, target: &str, plugins: &[String]) {
    counter!(SOURCE_RECONNECTS).increment(0);
    counter!(SOURCE_DDL_UNPARSED).increment(0);
    counter!(SOURCE_LARGE_TRANSACTIONS).increment(0);
    counter!(CONFIG_RELOAD_FAILURES).increment(0);
    gauge!(QUEUE_BYTES, "stage" => "pipeline", "pipeline" => pipeline.to_owned()).increment(0.0);
    counter!(SNAPSHOT_ROWS, "pipeline" => pipeline.to_owned()).increment(0);
    gauge!(SNAPSHOT_TABLES_REMAINING, "pipeline" => pipeline.to_owned()).increment(0.0);
    gauge!(SNAPSHOT_LOCK_SECONDS).increment(0.0);
    for outcome in ["applied", "ignored"] {
        counter!(SCHEMA_CHANGES, "pipeline" => pipeline.to_owned(), "outcome" => outcome)
            .increment(0);
    }
    for kind in ["transient", "definite"] {
        counter!(TARGET_ERRORS, "target" => target.to_owned(), "kind" => kind).increment(0);
    }
    for plugin in plugins {
        for result in ["ok", "failed"] {
            counter!(PLUGIN_RELOADS, "plugin" => plugin.clone(), "result" => result).increment(0);
        }
        for kind in ["trap", "timeout", "error", "init", "bad_output"] {
            counter!(PLUGIN_ERRORS, "plugin" => plugin.clone(), "kind" => kind).increment(0);
        }
    }
}

/// A schema change on a copied table, by outcome (applied, ignored).
pub fn pipeline_ddl(pipeline: &str, outcome: &'static str) {
    counter!(SCHEMA_CHANGES, "pipeline" => pipeline.to_owned(), "outcome" => outcome).increment(1);
}

/// A group of `n` source transactions was applied as one.
pub fn group(pipeline: &str, n: usize) {
    histogram!(GROUP_TRANSACTIONS, "pipeline" => pipeline.to_owned()).record(n as f64);
}

pub fn checkpoint_age(pipeline: &str, seconds: f64) {
    gauge!(CHECKPOINT_AGE, "pipeline" => pipeline.to_owned()).set(seconds);
}

pub fn target_error(target: &str, kind: &'static str) {
    counter!(TARGET_ERRORS, "target" => target.to_owned(), "kind" => kind).increment(1);
}

pub fn target_batch(target: &str, took: Duration) {
    histogram!(TARGET_BATCH_SECONDS, "target" => target.to_owned()).record(took.as_secs_f64());
}

pub fn plugin_info(plugin: &str, version: &str) {
    gauge!(PLUGIN_INFO, "plugin" => plugin.to_owned(), "version" => version.to_owned()).set(1.0);
}

/// Rows copied by a snapshot.
pub fn snapshot_rows(pipeline: &str, n: u64) {
    counter!(SNAPSHOT_ROWS, "pipeline" => pipeline.to_owned()).increment(n);
}

/// How long a snapshot's global read lock was held (MySQL).
pub fn snapshot_lock(held: Duration) {
    gauge!(SNAPSHOT_LOCK_SECONDS).set(held.as_secs_f64());
}

pub fn snapshot_tables_remaining(pipeline: &str, n: usize) {
    gauge!(SNAPSHOT_TABLES_REMAINING, "pipeline" => pipeline.to_owned()).set(n as f64);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo_file(path: &str) -> String {
        std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("..")
                .join(path),
        )
        .unwrap()
    }

    /// `sluice_...` names in a text; histogram series map to their metric.
    fn names_in(text: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut rest = text;
        while let Some(i) = rest.find("sluice_") {
            let name: String = rest[i..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            rest = &rest[i + name.len()..];
            let base = ["_bucket", "_count", "_sum"]
                .iter()
                .find_map(|s| name.strip_suffix(s))
                .unwrap_or(&name);
            out.push(base.to_owned());
        }
        out
    }

    #[test]
    fn every_dashboard_query_names_a_metric_that_exists() {
        let dash: serde_json::Value =
            serde_json::from_str(&repo_file("examples/grafana/sluice.json")).unwrap();
        let mut queries = 0;
        for panel in dash["panels"].as_array().unwrap() {
            for target in panel["targets"].as_array().unwrap() {
                let expr = target["expr"].as_str().unwrap();
                let names = names_in(expr);
                assert!(!names.is_empty(), "query names no sluice metric: {expr}");
                for n in names {
                    assert!(
                        ALL.contains(&n.as_str()),
                        "dashboard query uses unknown metric {n}: {expr}"
                    );
                }
                queries += 1;
            }
        }
        assert!(queries >= 10);
    }

    #[test]
    fn the_metrics_doc_lists_every_metric_and_no_other() {
        let doc = repo_file("docs/metrics.md");
        let mut documented: Vec<String> = doc
            .lines()
            .filter(|l| l.starts_with("| `"))
            .flat_map(names_in)
            .collect();
        documented.sort();
        let mut all: Vec<String> = ALL.iter().map(|s| s.to_string()).collect();
        all.sort();
        assert_eq!(documented, all);
    }
}
