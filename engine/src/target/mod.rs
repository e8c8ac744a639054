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

#[cfg(feature = "target-mysql")]
pub mod mysql;

use std::sync::Arc;

use crate::change::TableSchema;
use crate::change::{Op, RowChange};
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
}
