//! A pipeline's checkpoint: read at start, the configured start for a
//! pipeline without one, moved to another source server, and the one
//! exactly-once rule ([`Pipeline::applied`]). Schema history versions ride
//! on the checkpoints until one is durable (`source::history`).

use std::sync::Arc;

use super::Pipeline;
use super::window::Window;
use crate::change::Transaction;
use crate::error::PipelineError;
use crate::position::{BinlogPosition, GtidState, MysqlGtidSet};
use crate::target::{Checkpoint, Target};

impl<T: Target> Pipeline<T> {
    /// Keep the schema versions a transaction brings for this pipeline's
    /// tables until a durable checkpoint stores them.
    pub(super) fn keep_schema(&mut self, txn: &Transaction) {
        let tables = &self.tables;
        self.unstored.extend(
            txn.schema
                .iter()
                .filter(|v| tables.iter().any(|p| p.follows(&v.database, &v.table)))
                .cloned(),
        );
    }

    /// A checkpoint at `position`, carrying the unstored schema versions.
    pub(super) fn checkpoint_at(&self, position: BinlogPosition) -> Checkpoint {
        Checkpoint {
            position,
            gtid: self.gtid.clone(),
            gtid_set: self.gtid_set.clone(),
            schema: self.unstored.clone(),
            replace_schema: false,
        }
    }

    /// `cp` is durable: the versions it carried are stored.
    pub(super) fn stored(&mut self, cp: &Checkpoint) {
        self.unstored
            .retain(|v| !cp.schema.iter().any(|c| Arc::ptr_eq(c, v)));
    }

    /// Prepare the target and read this pipeline's checkpoint.
    /// The returned checkpoint carries every schema version the target
    /// stored for the pipeline; the pipeline keeps none of them.
    pub async fn start(&mut self) -> Result<Option<Checkpoint>, PipelineError> {
        self.target.prepare().await?;
        self.checkpoint = self.target.checkpoint(&self.name).await?;
        let loaded = self.checkpoint.clone();
        if let Some(cp) = &mut self.checkpoint {
            cp.schema.clear();
        }
        if let Some(cp) = &self.checkpoint {
            self.stored_checkpoint = true;
            self.gtid = cp.gtid.clone();
            self.gtid_set = cp.gtid_set.clone();
            // After a snapshot, until the stream has passed every segment.
            let segments = self.target.snapshot_progress(&self.name).await?;
            if !segments.is_empty() {
                let w = Window::new(segments);
                if w.open_at(&cp.position) {
                    self.window = Some(w);
                } else {
                    self.target.forget_snapshot(&self.name).await?;
                }
            }
        }
        Ok(loaded)
    }

    /// Set where a pipeline without a checkpoint starts: transactions ending
    /// at or before `start` are skipped.
    pub fn start_after(&mut self, start: BinlogPosition) {
        if self.checkpoint.is_none() {
            self.checkpoint = Some(Checkpoint::at(start));
        }
    }

    /// Set the GTID state a pipeline without a checkpoint starts from, so
    /// domains without new transactions keep their place in the state it
    /// stores.
    pub fn start_gtid(&mut self, state: &GtidState) {
        if self.checkpoint.is_none() {
            self.gtid = state.clone();
        }
    }

    /// The MySQL GTID set a pipeline without a checkpoint starts from:
    /// every transaction before its start (the set's module doc).
    pub fn start_gtid_set(&mut self, set: &MysqlGtidSet) {
        if self.stored_checkpoint {
            return;
        }
        self.gtid_set = set.clone();
        if let Some(cp) = &mut self.checkpoint {
            cp.gtid_set = set.clone();
        }
    }

    /// Store `cp`, the checkpoint moved to another server of the topology
    /// with its schema history (`source::history::rebase`), replacing the
    /// stored one in one target transaction, and go on from it.
    pub async fn move_checkpoint(&mut self, cp: Checkpoint) -> Result<(), PipelineError> {
        if self.window.is_some() {
            return Err(PipelineError::definite(format!(
                "pipeline `{}`: the source moved to another server while the snapshot's hand-off is open; its segments are keyed by the old server's positions, so it cannot move. Bring the old server back until the hand-off ends, or `sluice reset-checkpoint` and take the snapshot again",
                self.name
            )));
        }
        self.target.apply(&self.name, &[], &[], &cp).await?;
        let mut held = cp;
        held.schema.clear();
        held.replace_schema = false;
        self.checkpoint = Some(held);
        Ok(())
    }

    /// The checkpoint, as the pipeline holds it now.
    pub fn checkpoint(&self) -> Option<&Checkpoint> {
        self.checkpoint.as_ref()
    }

    /// Whether the target already holds what ends at `end` (the one
    /// exactly-once rule, [`Checkpoint::covers`]).
    /// With MySQL GTIDs the checkpoint's set decides (it holds on any
    /// server of the replication topology; positions hold on one server
    /// only), else the position ([`Checkpoint::covers`]).
    pub(super) fn applied(&self, txn: &Transaction) -> bool {
        self.checkpoint
            .as_ref()
            .is_some_and(|c| match &txn.mysql_gtid {
                Some(g) if !c.gtid_set.is_empty() => c.gtid_set.contains(g),
                _ => c.covers(&txn.end),
            })
    }
}
