//! Large source transactions: pieces applied into one open target
//! transaction (see the module doc of `pipeline`, # Large transactions).

use super::*;

impl<T: Target> Pipeline<T> {
    /// Apply one piece of a large transaction (module doc).
    pub(super) async fn piece(
        &mut self,
        q: Queued,
        shutdown: &mut Shutdown,
    ) -> Result<(), PipelineError> {
        m::queue_bytes(&self.name, -(q.txn.bytes as f64));
        let Queued { txn, permit } = q;
        let (piece, end) = (txn.piece, txn.end.clone());
        if piece.index == 0 && self.open.take().is_some() {
            tracing::info!(pipeline = %self.name, position = %end, "the source sends a large transaction again from its start (it reconnected); rolling back what was applied of it");
            self.target.abandon().await;
        }
        if self.applied(&txn) {
            return Ok(());
        }
        match &self.open {
            None if piece.index == 0 => {
                tracing::info!(pipeline = %self.name, position = %end, "a large source transaction: applying it in pieces in one target transaction");
                self.open = Some(Open {
                    next: 0,
                    written: false,
                    rows_in: 0,
                    rows_out: 0,
                    started: Instant::now(),
                });
            }
            Some(o) if o.next == piece.index => {}
            _ => {
                self.stop().await?;
                return Err(PipelineError::definite(format!(
                    "piece {} of a large transaction arrived without the pieces before it",
                    piece.index
                ))
                .at(&end));
            }
        }
        let mut group = Group::new();
        if let Err(e) = self.add(txn, permit, &mut group) {
            self.stop().await?;
            return Err(e.at(&end));
        }
        let open = self.open.as_mut().expect("set above");
        open.next += 1;
        let empty = group.routed.is_empty() && group.dead.is_empty();
        if !piece.last {
            open.rows_in += group.rows_in;
            if empty {
                return Ok(());
            }
            open.written = true;
            if self.write_piece(&mut group, false, shutdown).await? {
                let open = self.open.as_mut().expect("still open");
                open.rows_out += group.rows_out();
            }
            return Ok(());
        }
        let open = self.open.take().expect("set above");
        group.rows_in += open.rows_in;
        if !open.written {
            // Nothing of it reached the target yet: a group like any other.
            return self.commit(&mut group, shutdown).await;
        }
        if self.write_piece(&mut group, true, shutdown).await? {
            // After the write: rows set aside while writing are not out.
            let rows_out = open.rows_out + group.rows_out();
            let cp = group.ends.last().expect("one transaction").0.clone();
            tracing::info!(pipeline = %self.name, position = %cp.position, rows = group.rows_in, took = ?open.started.elapsed(), "large transaction applied");
            self.committed(&mut group, cp, open.started, rows_out, false)
                .await;
        }
        Ok(())
    }

    /// Write a piece into the open target transaction (the last one with
    /// its checkpoint, committing it). `Ok(false)`: shutdown came while the
    /// target was down, nothing more is written.
    pub(super) async fn write_piece(
        &mut self,
        group: &mut Group,
        last: bool,
        shutdown: &mut Shutdown,
    ) -> Result<bool, PipelineError> {
        let cp = group.ends.last().expect("one transaction").0.clone();
        loop {
            let result = if last {
                (self.target)
                    .apply(&self.name, &group.routed, &group.dead, &cp)
                    .await
            } else {
                (self.target)
                    .apply_part(&self.name, &group.routed, &group.dead)
                    .await
            };
            match result {
                Ok(()) => return Ok(true),
                Err(e) if e.row.is_some() && self.on_error != OnError::Halt => {
                    // Back at the piece's savepoint: set the row aside and
                    // write the piece again.
                    self.set_aside_row(group, e)?;
                }
                Err(e) if e.is_transient() => {
                    self.open = None;
                    return self.lost_open(last.then_some(&cp), e, shutdown).await;
                }
                Err(e) => {
                    self.stop().await?;
                    return Err(e.at(&cp.position));
                }
            }
        }
    }

    /// The target lost the open transaction of a large one in the middle.
    /// Wait for it to answer; then the work is done if the final COMMIT
    /// landed after all (`Ok(true)`), and otherwise the transaction must be
    /// read again from its start, which the error asks of the engine.
    pub(super) async fn lost_open(
        &mut self,
        cp: Option<&Checkpoint>,
        e: PipelineError,
        shutdown: &mut Shutdown,
    ) -> Result<bool, PipelineError> {
        tracing::warn!(pipeline = %self.name, error = %e, "the target failed in the middle of a large transaction; waiting for it, then reading the transaction again");
        let mut backoff = Backoff::default();
        loop {
            match self.target.checkpoint(&self.name).await {
                Ok(done) => {
                    if let (Some(cp), Some(done)) = (cp, done)
                        && done.covers(&cp.position)
                    {
                        return Ok(true);
                    }
                    return Err(PipelineError {
                        message: format!(
                            "the target lost a large transaction in the middle ({}); restarting from the checkpoints to read it again",
                            e.message
                        ),
                        ..e
                    });
                }
                Err(err) if err.is_transient() => {
                    if !backoff.wait(shutdown).await {
                        return Ok(false);
                    }
                }
                Err(err) => return Err(err),
            }
        }
    }
}
