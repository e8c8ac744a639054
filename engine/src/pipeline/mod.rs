//! A pipeline: the source transactions that touch its tables, through its
//! plugin chain, into its target.
//!
//! # Exactly-once
//! The pipeline knows its checkpoint (the end position of the last
//! transaction its target committed, read from the target at start). The
//! shared reader may start earlier than that (it starts at the oldest
//! checkpoint of all pipelines), so every transaction ending at or before
//! the checkpoint is skipped. Every other transaction is applied with its
//! end position as the new checkpoint in the same target transaction.
//!
//! After a transient target failure the outcome of the last COMMIT is
//! unknown; the pipeline reads the checkpoint back and re-applies only if the
//! transaction is not there. A transaction is thus applied once, whatever
//! fails when.
//!
//! # Definite errors
//! A definite error (a plugin fault, a row the target rejects) follows the
//! pipeline's `on_error`:
//! * `halt` (the default): `run` returns the error, naming the plugin or
//!   table and the binlog position, and the checkpoint stays before the
//!   failed transaction. Nothing after it is applied; a restart or a resume
//!   continues exactly there.
//! * `skip`: the batch a plugin failed on, or the row the target rejected,
//!   is dropped, logged and counted; the rest of the transaction applies.
//! * `dead-letter`: as skip, but the changes are written to
//!   `sluice_dead_letter` in the same target transaction as the checkpoint,
//!   so a dead letter exists exactly when its transaction counts as done.
//!
//! A rejected row is found by the target (it reports the row's index); the
//! target transaction is rolled back, the row set aside, and the rest
//! applied again, so one bad row never half-applies a transaction.
//!
//! # Shutdown
//! Shutdown is checked between transactions, never inside an apply, so the
//! transaction in flight is finished (or, if its target is down, not
//! started) and the checkpoint is exact.

mod chain;

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

pub use chain::Chain;

use crate::change::{RowChange, TableChanges, TableSchema, Transaction, Value};
use crate::config::{OnError, PipelineConfig, TablePattern};
use crate::error::PipelineError;
use crate::metrics as m;
use crate::position::BinlogPosition;
use crate::shutdown::Shutdown;
use crate::status::{State, Status, unix_now};
use crate::target::{Checkpoint, DeadLetter, Routed, Target};

/// With nothing to apply, the checkpoint is still written this often, so a
/// restart does not re-read a long stretch of unrelated binlog.
const IDLE_CHECKPOINT: Duration = Duration::from_secs(10);

/// One running pipeline.
pub struct Pipeline<T: Target> {
    pub name: String,
    /// The target's name, for metrics.
    target_name: String,
    status: Arc<Status>,
    tables: Vec<TablePattern>,
    target_table: String,
    chain: Chain,
    target: T,
    checkpoint: Option<Checkpoint>,
    last_write: Instant,
    on_error: OnError,
}

impl<T: Target> Pipeline<T> {
    pub fn new(config: &PipelineConfig, chain: Chain, target: T, status: Arc<Status>) -> Self {
        Pipeline {
            name: config.name.clone(),
            target_name: config.target.clone(),
            status,
            tables: config.source_tables.clone(),
            target_table: config.target_table.clone(),
            chain,
            target,
            checkpoint: None,
            last_write: Instant::now(),
            on_error: config.on_error,
        }
    }

    /// Prepare the target and read this pipeline's checkpoint.
    pub async fn start(&mut self) -> Result<Option<Checkpoint>, PipelineError> {
        self.target.prepare().await?;
        self.checkpoint = self.target.checkpoint(&self.name).await?;
        Ok(self.checkpoint.clone())
    }

    /// Set where a pipeline without a checkpoint starts: transactions ending
    /// at or before `start` are skipped.
    pub fn start_after(&mut self, start: BinlogPosition) {
        if self.checkpoint.is_none() {
            self.checkpoint = Some(Checkpoint {
                position: start,
                gtid: None,
            });
        }
    }

    fn target_table(&self, t: &TableChanges) -> String {
        match &t.schema.target_table {
            Some(name) => name.clone(),
            None => self
                .target_table
                .replace("{db}", &t.schema.database)
                .replace("{table}", &t.schema.table),
        }
    }

    /// Apply transactions until shutdown (`Ok`) or a definite error.
    pub async fn run(
        mut self,
        mut rx: mpsc::Receiver<Arc<Transaction>>,
        mut shutdown: Shutdown,
    ) -> Result<(), PipelineError> {
        self.status
            .update(&self.name, |s| s.state = State::Streaming);
        loop {
            let txn = tokio::select! {
                biased;
                _ = shutdown.wait() => return Ok(()),
                t = rx.recv() => match t {
                    Some(t) => t,
                    None => return Ok(()),
                },
            };
            m::queue_bytes(&self.name, -(txn.bytes as f64));
            if shutdown.is_fired() {
                return Ok(());
            }
            self.process(&txn, &mut shutdown)
                .await
                .map_err(|e| e.at(&txn.end))?;
        }
    }

    async fn process(
        &mut self,
        txn: &Transaction,
        shutdown: &mut Shutdown,
    ) -> Result<(), PipelineError> {
        if self
            .checkpoint
            .as_ref()
            .is_some_and(|c| txn.end <= c.position)
        {
            return Ok(());
        }
        if let Some(ddl) = &txn.ddl
            && ddl
                .tables
                .iter()
                .any(|(d, t)| self.tables.iter().any(|p| p.matches(d, t)))
        {
            // Rows keep decoding with the columns of their own table maps;
            // the target table is not changed (DDL apply is not built yet).
            tracing::warn!(pipeline = %self.name, statement = %ddl.statement, position = %txn.end, "schema change on a copied table; the target table is not altered");
        }
        self.chain.pin();
        let mut routed = Vec::new();
        let mut dead = Vec::new();
        let mut rows_in = 0;
        let tables = &self.tables;
        let matched = txn.changes.iter().filter(|tc| {
            tables
                .iter()
                .any(|p| p.matches(&tc.schema.database, &tc.schema.table))
        });
        for tc in matched {
            rows_in += tc.rows.len() as u64;
            match self.chain.run(&self.name, tc.clone()) {
                Ok(out) => {
                    for b in out {
                        routed.push(Routed {
                            table: self.target_table(&b),
                            schema: b.schema,
                            rows: b.rows,
                        });
                    }
                }
                Err(e) => {
                    let err = PipelineError::definite(format!(
                        "plugin `{}` failed ({}): {}",
                        e.plugin, e.kind, e.message
                    ))
                    .with_table(|| format!("{}.{}", tc.schema.database, tc.schema.table))
                    .at(&txn.end);
                    self.set_aside(err, &tc.schema, &tc.rows, &mut dead)?;
                }
            }
        }
        let cp = Checkpoint {
            position: txn.end.clone(),
            gtid: txn.gtid,
        };
        if routed.is_empty() && dead.is_empty() && self.last_write.elapsed() < IDLE_CHECKPOINT {
            // Nothing to apply; the durable checkpoint may lag, which only
            // means re-reading unrelated transactions after a restart.
            self.checkpoint = Some(cp);
            self.status.update(&self.name, |s| {
                s.rows_in += rows_in;
                s.position = Some(txn.end.to_string());
            });
            return Ok(());
        }
        let started = Instant::now();
        loop {
            match self.apply_with_retry(&routed, &dead, &cp, shutdown).await {
                Ok(true) => break,
                Ok(false) => return Ok(()),
                // A row the target rejects: with skip or dead-letter, set it
                // aside and apply the rest of the transaction again.
                Err(e) if e.row.is_some() && self.on_error != OnError::Halt => {
                    let (b, r) = e.row.expect("checked");
                    let row = routed[b].rows.remove(r);
                    let schema = routed[b].schema.clone();
                    self.set_aside(
                        e.at(&txn.end),
                        &schema,
                        std::slice::from_ref(&row),
                        &mut dead,
                    )?;
                }
                Err(e) => return Err(e),
            }
        }
        let rows_out: u64 = routed.iter().map(|r| r.rows.len() as u64).sum();
        m::target_batch(&self.target_name, started.elapsed());
        let lag = (txn.timestamp > 0).then(|| (unix_now() - f64::from(txn.timestamp)).max(0.0));
        if let Some(lag) = lag {
            m::lag(&self.name, lag);
        }
        self.status.update(&self.name, |s| {
            s.rows_in += rows_in;
            s.rows_out += rows_out;
            s.position = Some(txn.end.to_string());
            s.lag_seconds = lag;
            s.checkpointed = Some(Instant::now());
        });
        Ok(())
    }

    /// Apply the pipeline's policy to changes a definite error hit: halt
    /// returns the error; skip logs and counts them; dead-letter adds them
    /// to `dead`, which is written with the transaction's checkpoint.
    fn set_aside(
        &self,
        err: PipelineError,
        schema: &TableSchema,
        rows: &[RowChange],
        dead: &mut Vec<DeadLetter>,
    ) -> Result<(), PipelineError> {
        let n = rows.len() as u64;
        match self.on_error {
            OnError::Halt => return Err(err),
            OnError::Skip => {
                tracing::warn!(pipeline = %self.name, rows = n, error = %err, "changes skipped (on_error = \"skip\")");
                m::pipeline_rows(&self.name, "skipped", n);
            }
            OnError::DeadLetter => {
                tracing::warn!(pipeline = %self.name, rows = n, error = %err, "changes dead-lettered (on_error = \"dead-letter\")");
                m::pipeline_rows(&self.name, "dead_lettered", n);
                let message = err.to_string();
                for row in rows {
                    dead.push(DeadLetter {
                        source_table: format!("{}.{}", schema.database, schema.table),
                        op: row.op,
                        change: change_json(schema, row),
                        error: message.clone(),
                    });
                }
            }
        }
        Ok(())
    }

    /// Apply until it succeeds (`Ok(true)`), shutdown interrupts the
    /// retries (`Ok(false)`: nothing committed) or a definite error.
    async fn apply_with_retry(
        &mut self,
        routed: &[Routed],
        dead: &[DeadLetter],
        cp: &Checkpoint,
        shutdown: &mut Shutdown,
    ) -> Result<bool, PipelineError> {
        let mut backoff = Duration::from_millis(100);
        let mut failing = false;
        loop {
            let result = if failing {
                // The last attempt's COMMIT may have landed; look before re-applying.
                match self.target.checkpoint(&self.name).await {
                    Ok(Some(done)) if done.position >= cp.position => Ok(()),
                    Ok(_) => self.target.apply(&self.name, routed, dead, cp).await,
                    Err(e) => Err(e),
                }
            } else {
                self.target.apply(&self.name, routed, dead, cp).await
            };
            match result {
                Ok(()) => {
                    if failing {
                        tracing::info!(pipeline = %self.name, "target is back; applying again");
                    }
                    self.checkpoint = Some(cp.clone());
                    self.last_write = Instant::now();
                    return Ok(true);
                }
                Err(e) if e.is_transient() => {
                    if !failing {
                        // Logged once per outage, not per retry.
                        tracing::warn!(pipeline = %self.name, error = %e, "target unavailable; retrying with backoff");
                        failing = true;
                    }
                    tokio::select! {
                        _ = tokio::time::sleep(backoff) => {},
                        // Nothing was committed, so stopping here is exact.
                        _ = shutdown.wait() => return Ok(false),
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
                Err(e) => return Err(e),
            }
        }
    }
}

/// A change as JSON for the dead-letter table: column names to values
/// (text as strings, bytes as 0x-hex, temporals as text, DECIMAL exact).
fn change_json(schema: &TableSchema, row: &RowChange) -> String {
    use serde_json::{Map, Value as J};
    let image = |img: &Option<Vec<Value>>| -> J {
        match img {
            None => J::Null,
            Some(values) => J::Object(
                schema
                    .columns
                    .iter()
                    .zip(values)
                    .map(|(c, v)| {
                        let j = match v {
                            Value::Null => J::Null,
                            Value::Int(i) => J::from(*i),
                            Value::UInt(u) => J::from(*u),
                            Value::Double(f) => J::from(*f),
                            Value::Float(f) => J::from(f64::from(*f)),
                            Value::Text(s) | Value::Decimal(s) | Value::Json(s) => {
                                J::String(s.clone())
                            }
                            other => J::String(other.to_string().trim_matches('\'').to_owned()),
                        };
                        (c.clone(), j)
                    })
                    .collect::<Map<_, _>>(),
            ),
        }
    };
    serde_json::json!({ "op": row.op.as_str(), "before": image(&row.before), "after": image(&row.after) }).to_string()
}
