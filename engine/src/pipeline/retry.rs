//! Writing one piece of work until it lands: transient failures back off
//! (`crate::backoff`) and are logged once per outage; before each retry
//! the checkpoint is read back, because a lost reply to COMMIT may hide a
//! write that landed.

use super::*;

/// What a target transaction writes, with the bookkeeping row that makes
/// it exactly-once.
#[derive(Clone, Copy)]
pub(super) enum Work<'a> {
    Rows {
        routed: &'a [Routed],
        dead: &'a [DeadLetter],
        cp: &'a Checkpoint,
    },
    Ddl(&'a SchemaChange<'a>, &'a Checkpoint),
    /// A snapshot chunk and its segment's new progress.
    Chunk {
        routed: &'a [Routed],
        dead: &'a [DeadLetter],
        segment: &'a Segment,
    },
}

impl Work<'_> {
    /// Whether the target already holds this work: the last COMMIT may
    /// have landed although its reply was lost.
    pub(super) async fn done<T: Target>(
        &self,
        target: &mut T,
        pipeline: &str,
    ) -> Result<bool, PipelineError> {
        Ok(match self {
            Work::Rows { cp, .. } | Work::Ddl(_, cp) => target
                .checkpoint(pipeline)
                .await?
                .is_some_and(|done| done.covers(&cp.position)),
            Work::Chunk { segment, .. } => {
                target.snapshot_progress(pipeline).await?.iter().any(|s| {
                    s.database == segment.database
                        && s.table == segment.table
                        && s.seq == segment.seq
                        && s.rows >= segment.rows
                        && s.done >= segment.done
                })
            }
        })
    }
}

/// Write `work` and `cp` until it succeeds (`Ok(true)`), shutdown
/// interrupts the retries (`Ok(false)`: nothing committed) or it fails
/// definitely. Transient failures back off from 100 ms to 5 s and are
/// logged once per outage, not per retry. Before each retry the checkpoint
/// is read back: the last COMMIT may have landed although its reply was
/// lost, and then the work is done.
pub(super) async fn apply_with_retry<T: Target>(
    target: &mut T,
    pipeline: &str,
    work: Work<'_>,
    shutdown: &mut Shutdown,
) -> Result<bool, PipelineError> {
    let mut backoff = Backoff::default();
    let mut failing = false;
    loop {
        let result = if failing {
            match work.done(target, pipeline).await {
                Ok(true) => Ok(()),
                Ok(false) => write(target, pipeline, work).await,
                Err(e) => Err(e),
            }
        } else {
            write(target, pipeline, work).await
        };
        match result {
            Ok(()) => {
                if failing {
                    tracing::info!(%pipeline, "target is back; applying again");
                }
                return Ok(true);
            }
            Err(e) if e.is_transient() => {
                if !failing {
                    tracing::warn!(%pipeline, error = %e, "target unavailable; retrying with backoff");
                    failing = true;
                }
                // Nothing was committed, so stopping here is exact.
                if !backoff.wait(shutdown).await {
                    return Ok(false);
                }
            }
            Err(e) => return Err(e),
        }
    }
}

async fn write<T: Target>(
    target: &mut T,
    pipeline: &str,
    work: Work<'_>,
) -> Result<(), PipelineError> {
    match work {
        Work::Rows { routed, dead, cp } => target.apply(pipeline, routed, dead, cp).await,
        Work::Ddl(change, cp) => target.apply_ddl(pipeline, change, cp).await,
        Work::Chunk {
            routed,
            dead,
            segment,
        } => target.apply_chunk(pipeline, routed, dead, segment).await,
    }
}
