//! Targets: where a pipeline's changes are applied.
//!
//! A target is one folder (`target/<kind>/`), switched on by a Cargo feature.
//! Every target implements the small [`Target`] trait; each method must be
//! implemented, so a target cannot silently ignore a checkpoint.
//!
//! # Exactly-once
//! `apply` writes the changes of a group of whole source transactions *and*
//! the pipeline's checkpoint (the last transaction's end position) in one
//! target transaction.
//! Either both are durable or neither is. On start, and after any failure
//! whose outcome is unknown (a lost commit reply), the pipeline reads the
//! checkpoint back and skips every transaction that ends at or before it.
//!
//! A source transaction too large to hold is applied in pieces
//! (`apply_part`), all in one target transaction that the last piece's
//! `apply` commits with the checkpoint; the same rule holds, because only
//! that commit makes any of it durable.

#[cfg(feature = "target-mysql")]
pub mod mysql;

use std::sync::Arc;

use crate::change::TableSchema;
use crate::change::{Op, RowChange, Value};
use crate::error::PipelineError;
use crate::position::{BinlogPosition, GtidState};
use crate::source::ddl::Ddl;

/// A pipeline's durable progress: the end of the last applied transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    pub position: BinlogPosition,
    /// The GTID state after the last applied transaction (empty when the
    /// source sends no MariaDB GTIDs).
    pub gtid: GtidState,
}

/// One stretch of a source table that the initial snapshot copied from one
/// consistent read of the source. A table copied without interruption is
/// one segment; each restart during its copy starts the next one, read at
/// a later position. Segment `seq` holds the keys after the previous
/// segment's `upto`, up to its own `upto` (the last segment of a finished
/// table: every key after). Streaming applies a change to a key only when
/// the change ends after its segment's `position` (see `pipeline::window`).
#[derive(Clone, Debug, PartialEq)]
pub struct Segment {
    pub database: String,
    pub table: String,
    pub seq: u32,
    /// The binlog position of the consistent read the rows were copied at.
    pub position: BinlogPosition,
    /// The source primary key of the last row copied; `None` before the
    /// first row.
    pub upto: Option<Vec<Value>>,
    /// Rows copied in this segment (read from the source).
    pub rows: u64,
    /// The table is copied completely (set on its last segment).
    pub done: bool,
}

/// A change set aside by the `dead-letter` policy, stored in the target with
/// the checkpoint of its transaction.
#[derive(Clone, Debug)]
pub struct DeadLetter {
    /// `db.table` of the source row.
    pub source_table: String,
    pub op: Op,
    /// The change as JSON: `{"op", "before": {column: value}, "after": ...}`.
    pub change: String,
    pub error: String,
    /// End position of the source transaction the change was in.
    pub position: BinlogPosition,
}

/// Changes to one target table, ready to apply.
#[derive(Debug)]
pub struct Routed {
    /// Target table, `table` or `db.table`.
    pub table: String,
    pub schema: Arc<TableSchema>,
    pub rows: Vec<RowChange>,
    /// End position of the source transaction the rows are from.
    pub end: BinlogPosition,
}

/// A schema change on tables a pipeline copies, to follow on the target.
#[derive(Debug)]
pub struct SchemaChange<'a> {
    pub ddl: &'a Ddl,
    /// The target table of each of `ddl.tables`, by the pipeline's
    /// `target_table` template.
    pub targets: Vec<String>,
    /// Whether the pipeline copies each of `ddl.tables`.
    pub matched: Vec<bool>,
}

/// Something a pipeline applies changes to.
#[allow(async_fn_in_trait)]
pub trait Target {
    /// Prepare the target (create the checkpoint table) and check it is
    /// reachable.
    async fn prepare(&mut self) -> Result<(), PipelineError>;

    /// The pipeline's checkpoint, if it has one.
    async fn checkpoint(&mut self, pipeline: &str) -> Result<Option<Checkpoint>, PipelineError>;

    /// Apply `changes`, store `dead` letters and store `checkpoint` for
    /// `pipeline`, atomically. A rejected row is reported with its (batch,
    /// row) index in [`PipelineError::row`].
    async fn apply(
        &mut self,
        pipeline: &str,
        changes: &[Routed],
        dead: &[DeadLetter],
        checkpoint: &Checkpoint,
    ) -> Result<(), PipelineError>;

    /// Apply one piece of a large source transaction (not the last) and
    /// its `dead` letters inside the target transaction that stays open
    /// for the next pieces; the first call opens it, and `apply` of the
    /// last piece commits it with the checkpoint. A rejected row is
    /// reported as in `apply`, with the open transaction back where it was
    /// before this piece. A transient error means the open transaction is
    /// lost: the pieces must be applied again from the first.
    async fn apply_part(
        &mut self,
        pipeline: &str,
        changes: &[Routed],
        dead: &[DeadLetter],
    ) -> Result<(), PipelineError>;

    /// Roll back the open transaction of `apply_part`, if any.
    async fn abandon(&mut self);

    /// Follow a schema change, then store `checkpoint` (the statement's end
    /// position). DDL cannot share a transaction with the checkpoint, so a
    /// target must accept the statement a second time (after a crash
    /// between the two) without failing.
    async fn apply_ddl(
        &mut self,
        pipeline: &str,
        change: &SchemaChange<'_>,
        checkpoint: &Checkpoint,
    ) -> Result<(), PipelineError>;

    /// The snapshot segments recorded for `pipeline`, ordered by table and
    /// `seq`.
    async fn snapshot_progress(&mut self, pipeline: &str) -> Result<Vec<Segment>, PipelineError>;

    /// Apply a chunk of snapshot rows and `dead` letters, and record
    /// `segment` (its new `upto`, `rows` and `done`), atomically.
    async fn apply_chunk(
        &mut self,
        pipeline: &str,
        changes: &[Routed],
        dead: &[DeadLetter],
        segment: &Segment,
    ) -> Result<(), PipelineError>;

    /// Drop `pipeline`'s snapshot segments: streaming has passed them all.
    async fn forget_snapshot(&mut self, pipeline: &str) -> Result<(), PipelineError>;
}
