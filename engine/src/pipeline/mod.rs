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
//! # Group commit
//! Consecutive source transactions already waiting in the queue are
//! gathered into one group, up to `group_max_rows`, `group_max_bytes` or
//! `group_max_ms`, and applied as one target transaction whose checkpoint
//! is the last one's end. A group only ever holds whole source
//! transactions, so the target moves from one source commit to a later one
//! and never shows a transaction half applied; the checkpoint rule above
//! holds unchanged, because every transaction of a committed group ends at
//! or before its checkpoint. The pipeline never waits for a group to fill:
//! an idle source is applied at once.
//!
//! # Large transactions
//! A source transaction larger than the reader's fragment size arrives in
//! pieces (`change::Piece`). It is never grouped: the group before it is
//! committed, then each piece goes through the plugin chain (pinned to one
//! plugin version for the whole transaction) and into one open target
//! transaction (`Target::apply_part`), and its queue share is returned at
//! once, so memory stays bounded by the queue, not the transaction. The
//! last piece commits with the transaction's checkpoint, so the target
//! shows all of it or none, as with any transaction.
//! * The source reconnected in the middle: it sends the transaction again
//!   from its first piece; a first piece while one is open rolls the open
//!   one back.
//! * The target failed in the middle: the open target transaction is gone
//!   and the pieces before are consumed. The pipeline waits for the target,
//!   reads its checkpoint back (a lost reply to the final COMMIT may hide a
//!   success) and otherwise ends with a transient error, on which the
//!   engine restarts the round from the checkpoints, so the reader sends
//!   the transaction again.
//! * A definite error follows `on_error` as usual: `halt` rolls back the
//!   open transaction, so the checkpoint stays before it.
//! * Shutdown in the middle rolls back the open transaction.
//!
//! # After a snapshot
//! A pipeline that copied its tables' rows (`snapshot`) starts streaming
//! at the oldest position a copy was read at; until the stream passes the
//! newest one, each row change is kept only if it ends after its key's
//! copy (`window`), so no change is applied to a row twice or missed.
//!
//! # Schema changes
//! A DDL statement on a copied table closes the group before it (DDL cannot
//! share a target transaction) and follows the pipeline's `ddl` policy:
//! `apply` runs it on the target with the table names mapped and then
//! stores its checkpoint, `ignore` logs and counts it, `halt` stops before
//! it. Between the statement and its checkpoint a crash can leave the
//! statement applied but not recorded; the target then treats "already
//! there" errors on the replay as done.
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
mod checkpoint;
mod ddl;
mod group;
mod large;
mod policy;
mod retry;
mod snapshot;
pub mod window;

use group::Group;
use retry::{Work, apply_with_retry};

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{OwnedSemaphorePermit, mpsc};

pub use chain::Chain;

use crate::backoff::Backoff;
use crate::change::{Ddl, change_json};
use crate::change::{RowChange, TableChanges, TableSchema, Transaction};
use crate::config::{DdlPolicy, GroupLimits, OnError, PipelineConfig, SnapshotMode, TablePattern};
use crate::error::PipelineError;
use crate::metrics as m;
use crate::position::{BinlogPosition, GtidState, MysqlGtid, MysqlGtidSet};
use crate::shutdown::Shutdown;
use crate::source::history::SchemaVersion;
use crate::status::{State, Status, unix_now};
use crate::target::{Checkpoint, DeadLetter, Routed, SchemaChange, Segment, Target};
use window::Window;

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
    ddl: DdlPolicy,
    group: GroupLimits,
    /// The GTID state after the last transaction taken in.
    gtid: GtidState,
    /// MySQL: every GTID up to the last transaction taken in.
    gtid_set: MysqlGtidSet,
    /// The checkpoint came from the target (or a snapshot stored it), so
    /// no configured start applies.
    stored_checkpoint: bool,
    /// The MySQL GTID of the last transaction taken in, for `/status`.
    mysql_gtid: Option<MysqlGtid>,
    snapshot: SnapshotMode,
    /// Rows per snapshot chunk.
    chunk_rows: usize,
    /// Snapshot segments the stream has not passed yet (`window`).
    window: Option<Window>,
    /// The stream passed the window; its segments are deleted from the
    /// target after the next commit.
    forget_window: bool,
    /// The large transaction being applied in pieces, if any.
    open: Option<Open>,
    /// Schema history versions of this pipeline's tables that no durable
    /// checkpoint has carried to the target yet; each checkpoint made
    /// carries all of them (`source::history`).
    unstored: Vec<Arc<SchemaVersion>>,
}

/// A large source transaction being applied piece by piece.
struct Open {
    /// The index of the next piece.
    next: u32,
    /// Whether any piece wrote to the target (which then holds an open
    /// transaction).
    written: bool,
    rows_in: u64,
    rows_out: u64,
    started: Instant,
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
            ddl: config.ddl,
            group: config.group,
            gtid: GtidState::default(),
            gtid_set: MysqlGtidSet::default(),
            stored_checkpoint: false,
            mysql_gtid: None,
            snapshot: config.snapshot,
            chunk_rows: config.snapshot_chunk_rows,
            window: None,
            forget_window: false,
            open: None,
            unstored: Vec::new(),
        }
    }

    fn target_table(&self, t: &TableChanges) -> String {
        match &t.schema.target_table {
            Some(name) => name.clone(),
            None => self.template_table(&t.schema.database, &t.schema.table),
        }
    }

    /// The `target_table` template applied to a source table.
    fn template_table(&self, db: &str, table: &str) -> String {
        self.target_table
            .replace("{db}", db)
            .replace("{table}", table)
    }

    /// Apply transactions until shutdown (`Ok`) or a definite error.
    pub async fn run(
        mut self,
        mut rx: mpsc::Receiver<Queued>,
        mut shutdown: Shutdown,
    ) -> Result<(), PipelineError> {
        self.status
            .update(&self.name, |s| s.state = State::Streaming);
        // A piece of a large transaction met while gathering a group.
        let mut carried: Option<Queued> = None;
        loop {
            let first = match carried.take() {
                Some(q) => q,
                None => tokio::select! {
                    biased;
                    _ = shutdown.wait() => return self.stop().await,
                    t = rx.recv() => match t {
                        Some(t) => t,
                        None => return self.stop().await,
                    },
                },
            };
            if !first.txn.is_whole() || self.open.is_some() {
                self.piece(first, &mut shutdown).await?;
                if shutdown.is_fired() {
                    return self.stop().await;
                }
                continue;
            }
            // Gather what is already queued, up to the group's bounds; never
            // wait for more, so an idle source costs no latency.
            let mut group = Group::new();
            let mut next = Some(first);
            while let Some(q) = next.take() {
                if !q.txn.is_whole() {
                    // Pieces are never grouped: apply the group first.
                    carried = Some(q);
                    break;
                }
                m::queue_bytes(&self.name, -(q.txn.bytes as f64));
                let Queued { txn, permit } = q;
                if let Some(ddl) = self.schema_change(&txn) {
                    self.keep_schema(&txn);
                    // DDL cannot share a target transaction: apply what is
                    // gathered, then the statement on its own.
                    self.commit(&mut group, &mut shutdown).await?;
                    self.follow_ddl(&txn, ddl, &mut shutdown)
                        .await
                        .map_err(|e| e.at(&txn.end))?;
                    break;
                }
                let end = txn.end.clone();
                if let Err(e) = self.add(txn, permit, &mut group) {
                    // Halt: the transactions before this one still apply.
                    self.commit(&mut group, &mut shutdown).await?;
                    return Err(e.at(&end));
                }
                if group.full(&self.group) {
                    break;
                }
                next = rx.try_recv().ok();
            }
            self.commit(&mut group, &mut shutdown).await?;
            if shutdown.is_fired() {
                return Ok(());
            }
        }
    }

    /// Stop between transactions: a large transaction still open is rolled
    /// back (its checkpoint was never written).
    async fn stop(&mut self) -> Result<(), PipelineError> {
        if self.open.take().is_some() {
            self.target.abandon().await;
            tracing::info!(pipeline = %self.name, "stopped in the middle of a large source transaction: rolled back what was applied of it; the next run applies it again from its start");
        }
        Ok(())
    }

    /// Run a transaction through the plugin chain into the group. The
    /// rows are moved, not copied, when this pipeline is the only one
    /// holding the transaction (the usual case), so a group costs its rows
    /// once.
    fn add(
        &mut self,
        txn: Arc<Transaction>,
        permit: OwnedSemaphorePermit,
        group: &mut Group,
    ) -> Result<(), PipelineError> {
        self.keep_schema(&txn);
        if self.applied(&txn) {
            return Ok(());
        }
        if txn.piece.index == 0 {
            // One plugin version per source transaction, pieces included.
            self.chain.pin();
        }
        let (end, gtid, timestamp, bytes) = (txn.end.clone(), txn.gtid, txn.timestamp, txn.bytes);
        if let Some(g) = txn.mysql_gtid {
            self.mysql_gtid = Some(g);
            if txn.piece.last {
                self.gtid_set.add(g);
            }
        }
        let tables = &self.tables;
        let copied = |tc: &TableChanges| {
            tables
                .iter()
                .any(|p| p.follows(&tc.schema.database, &tc.schema.table))
        };
        let changes: Vec<TableChanges> = match Arc::try_unwrap(txn) {
            Ok(own) => own.changes.into_iter().filter(|tc| copied(tc)).collect(),
            Err(shared) => shared
                .changes
                .iter()
                .filter(|tc| copied(tc))
                .cloned()
                .collect(),
        };
        if self.window.as_ref().is_some_and(|w| !w.open_at(&end)) {
            self.window = None;
            self.forget_window = true;
        }
        let (mut routed, mut dead, mut rows_in) = (Vec::new(), Vec::new(), 0);
        for mut tc in changes {
            rows_in += tc.rows.len() as u64;
            if let Some(w) = &self.window {
                w.filter(&mut tc, &end)
                    .map_err(|e| PipelineError::definite(e).at(&end))?;
                if tc.rows.is_empty() {
                    continue;
                }
            }
            self.route(tc, &end, &mut routed, &mut dead)?;
        }
        // Only a whole transaction joins the group.
        group.rows += routed.iter().map(|r| r.rows.len()).sum::<usize>();
        group.rows_in += rows_in;
        group.routed.append(&mut routed);
        group.dead.append(&mut dead);
        group.bytes += bytes;
        if let Some(g) = gtid {
            self.gtid.apply(g);
        }
        let cp = self.checkpoint_at(end);
        group.ends.push((cp, timestamp));
        group.held.push(permit);
        Ok(())
    }

    /// Run one batch through the plugin chain into `routed`; a plugin
    /// fault follows `on_error` (into `dead`, or the error for halt).
    fn route(
        &mut self,
        tc: TableChanges,
        end: &BinlogPosition,
        routed: &mut Vec<Routed>,
        dead: &mut Vec<DeadLetter>,
    ) -> Result<(), PipelineError> {
        let n = tc.rows.len() as u64;
        let schema = tc.schema.clone();
        // Kept for a dead letter only; other policies need the count.
        let kept = (self.on_error == OnError::DeadLetter).then(|| tc.rows.clone());
        match self.chain.run(&self.name, tc) {
            Ok(out) => {
                for b in out {
                    routed.push(Routed {
                        table: self.target_table(&b),
                        schema: b.schema,
                        rows: b.rows,
                        end: end.clone(),
                    });
                }
                Ok(())
            }
            Err(e) => {
                let err = PipelineError::definite(format!(
                    "plugin `{}` failed ({}): {}",
                    e.plugin,
                    e.kind.as_str(),
                    e.message
                ))
                .with_table(|| format!("{}.{}", schema.database, schema.table))
                .at(end);
                let rows = kept.as_deref().unwrap_or_default();
                self.set_aside(err, &schema, n, rows, end, dead)
            }
        }
    }

    /// Apply a group in one target transaction with its last checkpoint.
    /// A row the target rejects under `halt` still lets the transactions
    /// before its own apply; then the error is returned.
    async fn commit(
        &mut self,
        group: &mut Group,
        shutdown: &mut Shutdown,
    ) -> Result<(), PipelineError> {
        let Some((cp, _)) = group.ends.last() else {
            return Ok(());
        };
        let mut cp = cp.clone();
        let rows_in = group.rows_in;
        if group.routed.is_empty()
            && group.dead.is_empty()
            && cp.schema.is_empty()
            && self.last_write.elapsed() < IDLE_CHECKPOINT
        {
            // Nothing to apply; the durable checkpoint may lag, which only
            // means re-reading unrelated transactions after a restart.
            let timestamp = group.ends.last().map_or(0, |e| e.1);
            self.status.update(&self.name, |s| {
                s.rows_in += rows_in;
                s.position = Some(cp.position.to_string());
            });
            self.status.finished(&self.name, &cp.position, timestamp);
            self.checkpoint = Some(cp);
            *group = Group::new();
            return Ok(());
        }
        let started = Instant::now();
        let mut halted = None;
        loop {
            let work = Work::Rows {
                routed: &group.routed,
                dead: &group.dead,
                cp: &cp,
            };
            match apply_with_retry(&mut self.target, &self.name, work, shutdown).await {
                Ok(true) => break,
                Ok(false) => return Ok(()),
                // A row the target rejects: with skip or dead-letter, set it
                // aside and apply the rest of the group again.
                Err(e) if e.row.is_some() && self.on_error != OnError::Halt => {
                    self.set_aside_row(group, e)?;
                }
                Err(e) => {
                    // Name the transaction the rejected row is from, and
                    // apply the ones before it.
                    let Some((b, _)) = e.row else {
                        return Err(e.at(&cp.position));
                    };
                    let failed = group.routed[b].end.clone();
                    let e = e.at(&failed);
                    match group.before(&failed) {
                        Some(prefix) if halted.is_none() => {
                            cp = prefix;
                            halted = Some(e);
                        }
                        _ => return Err(e),
                    }
                }
            }
        }
        let rows_out = group.rows_out();
        self.committed(group, cp, started, rows_out, halted.is_some())
            .await;
        match halted {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Bookkeeping after a group committed with checkpoint `cp`: status,
    /// metrics, and the finished snapshot window. `truncated`: a halt cut
    /// the group short.
    async fn committed(
        &mut self,
        group: &mut Group,
        cp: Checkpoint,
        started: Instant,
        rows_out: u64,
        truncated: bool,
    ) {
        let rows_in = group.rows_in;
        self.stored(&cp);
        self.checkpoint = Some(cp.clone());
        self.last_write = Instant::now();
        if self.forget_window {
            // Only bookkeeping: on failure it is tried again after the next
            // commit, and a restart past the window deletes it too.
            match self.target.forget_snapshot(&self.name).await {
                Ok(()) => self.forget_window = false,
                Err(e) => {
                    tracing::warn!(pipeline = %self.name, error = %e, "cannot delete the finished snapshot progress yet")
                }
            }
        }
        m::target_batch(&self.target_name, started.elapsed());
        m::group(&self.name, group.ends.len());
        let timestamp = group.ends.last().map_or(0, |e| e.1);
        // After a halt's truncation the last MySQL GTID may be later than
        // the checkpoint; `/status` then shows none rather than a wrong one.
        let mysql_gtid = self.mysql_gtid.filter(|_| !truncated);
        let lag = (timestamp > 0).then(|| (unix_now() - f64::from(timestamp)).max(0.0));
        if let Some(lag) = lag {
            m::lag(&self.name, lag);
        }
        self.status.update(&self.name, |s| {
            s.rows_in += rows_in;
            s.rows_out += rows_out;
            s.position = Some(cp.position.to_string());
            s.gtid = match (&cp.gtid, mysql_gtid) {
                (state, _) if !state.is_empty() => Some(state.to_string()),
                (_, Some(g)) => Some(g.to_string()),
                _ => None,
            };
            s.lag_seconds = lag;
            s.checkpointed = Some(Instant::now());
            s.finished = Some(cp.position.clone());
            if timestamp > 0 {
                s.current_until = Some(f64::from(timestamp));
            }
        });
        *group = Group::new();
    }
}

/// A transaction in a pipeline's queue. The permit is its share of the
/// queue's byte budget, returned when the pipeline is done with it, so a
/// slow target stalls the source instead of growing memory.
pub struct Queued {
    pub txn: Arc<Transaction>,
    pub permit: OwnedSemaphorePermit,
}
