//! The initial snapshot: copy the rows a pipeline's tables already hold,
//! then hand over to streaming at exactly the point the copy is consistent
//! at.
//!
//! # Why nothing is missed or applied twice
//! * The rows are read from one consistent read of the source, which comes
//!   with the binlog position `P` it sees the source at
//!   (`source::snapshot`): the copy holds exactly the transactions ending
//!   at or before `P`.
//! * Each chunk (up to `snapshot_chunk_rows` rows in primary-key order)
//!   runs through the pipeline's filters and mappers like streamed rows and
//!   is applied by the same writer, in one target transaction together with
//!   the table's progress row (`Segment`: the last key copied and `P`). A
//!   chunk is thus in the target exactly when its progress says so.
//! * After a crash, the next run reads the progress back, skips finished
//!   tables and continues each unfinished one after its last copied key,
//!   from a new consistent read at a later position `P2`: a new segment.
//!   Rows already copied keep their state at `P`, the new ones are at `P2`.
//! * When every table is copied, the checkpoint is set to the smallest
//!   segment position, and streaming applies each change only to keys whose
//!   segment position it ends after (`window`), which brings every key from
//!   its copied state forward through exactly the changes it had not seen.
//!
//! The reader takes no lock: the consistent read is MVCC, so writers on the
//! source are never blocked.
//!
//! # Limits
//! While a pipeline copies, the round's other pipelines wait to stream
//! (they lose nothing; the binlog keeps their changes). A table whose key
//! order the engine cannot reproduce (text under a collation) cannot be
//! continued in a second segment; such an interrupted copy stops with
//! instructions instead of guessing.

use std::io::IsTerminal;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::window::{Window, key_cmp};
use super::{Pipeline, Work, apply_with_retry};
use crate::change::{Op, RowChange, TableChanges};
use crate::config::{OnError, SnapshotMode};
use crate::error::{ErrorKind, PipelineError};
use crate::metrics as m;
use crate::position::BinlogPosition;
use crate::shutdown::Shutdown;
use crate::source::snapshot::{ConsistentRead, gtid_at, mysql_gtids_at};
use crate::source::{Server, SourceError};
use crate::status::{SnapshotStatus, State, Status};
use crate::target::{Checkpoint, Segment, Target};

/// How often progress is logged when stderr is not a terminal.
const LOG_EVERY: Duration = Duration::from_secs(10);

fn source_error(e: SourceError) -> PipelineError {
    match e {
        SourceError::Disconnected(m) => PipelineError {
            kind: ErrorKind::Transient,
            table: None,
            position: None,
            row: None,
            message: format!("snapshot: source: {m}"),
        },
        SourceError::Definite { message, .. } => {
            PipelineError::definite(format!("snapshot: {message}"))
        }
        e @ (SourceError::BinlogGone(_) | SourceError::Moved(_)) => {
            PipelineError::definite(format!("snapshot: {e}"))
        }
    }
}

impl<T: Target> Pipeline<T> {
    /// Whether this pipeline copies existing rows before it streams: it
    /// asks for a snapshot and has no checkpoint yet.
    pub fn needs_snapshot(&self) -> bool {
        self.snapshot == SnapshotMode::Initial && self.checkpoint.is_none()
    }

    /// Copy the existing rows (module doc). Returns the checkpoint streaming
    /// starts from, or `None` when shutdown came first (progress so far is
    /// kept). A lost source or target connection is retried with backoff,
    /// continuing from the recorded progress.
    pub async fn snapshot(
        &mut self,
        server: &Server,
        shutdown: &mut Shutdown,
    ) -> Result<Option<Checkpoint>, PipelineError> {
        self.status
            .update(&self.name, |s| s.state = State::Snapshotting);
        let mut backoff = crate::backoff::Backoff::default();
        loop {
            match self.snapshot_once(server, shutdown).await {
                Err(e) if e.is_transient() => {
                    tracing::warn!(pipeline = %self.name, error = %e, "snapshot interrupted; continuing from its recorded progress");
                    if !backoff.wait(shutdown).await {
                        return Ok(None);
                    }
                }
                other => return other,
            }
        }
    }

    async fn snapshot_once(
        &mut self,
        server: &Server,
        shutdown: &mut Shutdown,
    ) -> Result<Option<Checkpoint>, PipelineError> {
        let earlier = self.target.snapshot_progress(&self.name).await?;
        let mut read = ConsistentRead::open(server, &self.tables)
            .await
            .map_err(source_error)?;
        let at = read.position.clone();
        // Shapes exactly at `at` (a source without row metadata): stored
        // with the checkpoint streaming starts from.
        let shapes: Vec<_> = std::mem::take(&mut read.shapes)
            .into_iter()
            .map(Arc::new)
            .collect();
        let tables = read.tables(&self.tables).await.map_err(source_error)?;

        // What is left to copy, and the segment each table continues in.
        let mut work = Vec::new();
        let mut segments = Vec::new();
        for t in tables {
            let (db, name) = (&t.schema.database, &t.schema.table);
            let last = earlier
                .iter()
                .filter(|s| &s.database == db && &s.table == name)
                .max_by_key(|s| s.seq);
            if last.is_some_and(|s| s.done) {
                continue;
            }
            if t.schema.key.is_empty() {
                return Err(PipelineError::definite(format!(
                    "snapshot: table {db}.{name} has no primary key; Sluice copies and applies rows by primary key, so add one to the source table or leave the table out of source_tables"
                )));
            }
            let after = last.and_then(|s| s.upto.clone());
            if after.as_ref().is_some_and(|k| key_cmp(k, k).is_none()) {
                return Err(PipelineError::definite(format!(
                    "snapshot: the copy of {db}.{name} was interrupted, and its primary key is text under a collation (or floating point), whose order Sluice cannot reproduce, so the copy cannot continue exactly. Delete the rows copied so far from the target table and the table's progress (DELETE FROM sluice_snapshot WHERE pipeline = '{}' AND source_db = '{db}' AND source_table = '{name}'), then start Sluice again to copy the table from its start",
                    self.name
                )));
            }
            segments.push(Segment {
                database: db.clone(),
                table: name.clone(),
                seq: last.map_or(0, |s| s.seq + 1),
                position: at.clone(),
                upto: after.clone(),
                rows: 0,
                done: false,
            });
            work.push((t, after));
        }
        let schemas: Vec<_> = work.iter().map(|(t, _)| t.schema.clone()).collect();
        let estimated: u64 = work.iter().map(|(t, _)| t.estimated_rows).sum();
        let gtid_at_read = read.gtid.clone();
        let gtid_set_at_read = read.gtid_set.clone();
        tracing::info!(pipeline = %self.name, position = %at, tables = work.len(), rows_estimated = estimated, "snapshot: copying existing rows");
        let mut progress =
            Progress::new(&self.name, self.status.clone(), &at, work.len(), estimated);
        let mut chunks = read.read_all(work, self.chunk_rows);

        while let Some(chunk) = chunks.recv().await {
            if shutdown.is_fired() {
                progress.finish("interrupted");
                return Ok(None);
            }
            let chunk = chunk.map_err(source_error)?;
            let seg = &mut segments[chunk.table];
            let schema = schemas[chunk.table].clone();
            progress.table(&format!("{}.{}", schema.database, schema.table));
            if chunk.rows.is_empty() {
                seg.done = true;
                let seg = seg.clone();
                if !self
                    .apply_chunk(Vec::new(), Vec::new(), &seg, shutdown)
                    .await?
                {
                    return Ok(None);
                }
                progress.table_done(seg.rows);
                continue;
            }
            let n = chunk.rows.len() as u64;
            let last = chunk.rows.last().expect("not empty");
            seg.upto = Some(schema.key.iter().map(|&k| last[k].clone()).collect());
            seg.rows += n;
            let seg = seg.clone();
            let rows = chunk
                .rows
                .into_iter()
                .map(|r| RowChange {
                    op: Op::Insert,
                    before: None,
                    after: Some(r),
                })
                .collect();
            let (mut routed, mut dead) = (Vec::new(), Vec::new());
            self.chain.pin();
            self.route(TableChanges { schema, rows }, &at, &mut routed, &mut dead)
                .map_err(|e| e.at(&at))?;
            if !self.apply_chunk(routed, dead, &seg, shutdown).await? {
                return Ok(None);
            }
            m::snapshot_rows(&self.name, n);
            progress.rows(n);
        }
        progress.finish("done");

        // Every table is copied: stream from the oldest segment (module doc).
        let mut all: Vec<Segment> = earlier;
        all.retain(|e| {
            !segments
                .iter()
                .any(|s| s.database == e.database && s.table == e.table && s.seq == e.seq)
        });
        all.extend(segments);
        let start: BinlogPosition = all
            .iter()
            .map(|s| s.position.clone())
            .min()
            .unwrap_or_else(|| at.clone());
        let (gtid, gtid_set) = if start == at {
            (gtid_at_read, gtid_set_at_read)
        } else {
            let mut conn = server.connect().await.map_err(source_error)?;
            let set = if gtid_set_at_read.is_empty() {
                Default::default()
            } else {
                mysql_gtids_at(&mut conn, &start)
                    .await
                    .map_err(PipelineError::definite)?
            };
            (gtid_at(&mut conn, &start).await, set)
        };
        let cp = Checkpoint {
            position: start,
            gtid,
            gtid_set,
            schema: shapes,
            replace_schema: false,
        };
        let work = Work::Rows {
            routed: &[],
            dead: &[],
            cp: &cp,
        };
        if !apply_with_retry(&mut self.target, &self.name, work, shutdown).await? {
            return Ok(None);
        }
        tracing::info!(pipeline = %self.name, checkpoint = %cp.position, "snapshot done; streaming from the oldest copy's position");
        self.checkpoint = Some(cp.clone());
        self.gtid = cp.gtid.clone();
        self.gtid_set = cp.gtid_set.clone();
        self.stored_checkpoint = true;
        let window = Window::new(all);
        self.window = window.open_at(&cp.position).then_some(window);
        Ok(Some(cp))
    }

    /// Apply one chunk with its progress row. A row the target rejects
    /// follows `on_error` like a streamed one. `Ok(false)`: shutdown.
    async fn apply_chunk(
        &mut self,
        mut routed: Vec<crate::target::Routed>,
        mut dead: Vec<crate::target::DeadLetter>,
        seg: &Segment,
        shutdown: &mut Shutdown,
    ) -> Result<bool, PipelineError> {
        loop {
            let work = Work::Chunk {
                routed: &routed,
                dead: &dead,
                segment: seg,
            };
            match apply_with_retry(&mut self.target, &self.name, work, shutdown).await {
                Ok(done) => return Ok(done),
                Err(e) if e.row.is_some() && self.on_error != OnError::Halt => {
                    let (b, r) = e.row.expect("checked");
                    let row = routed[b].rows.remove(r);
                    let schema = routed[b].schema.clone();
                    let err = e.at(&seg.position);
                    self.set_aside(
                        err,
                        &schema,
                        1,
                        std::slice::from_ref(&row),
                        &seg.position,
                        &mut dead,
                    )?;
                }
                Err(e) => return Err(e.at(&seg.position)),
            }
        }
    }
}

/// Progress of one snapshot run: `/status`, metrics, and a progress bar on
/// a terminal or a log line every [`LOG_EVERY`] otherwise.
struct Progress {
    pipeline: String,
    shared: Arc<Status>,
    status: SnapshotStatus,
    bar: Option<indicatif::ProgressBar>,
    started: Instant,
    logged: Instant,
}

impl Progress {
    fn new(
        pipeline: &str,
        shared: Arc<Status>,
        at: &BinlogPosition,
        tables: usize,
        estimated: u64,
    ) -> Progress {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = indicatif::ProgressBar::new(estimated);
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{msg} [{bar:30}] {human_pos}/{human_len} rows, {per_sec}, ETA {eta}",
                )
                .expect("valid template")
                .progress_chars("=> "),
            );
            bar
        });
        m::snapshot_tables_remaining(pipeline, tables);
        let p = Progress {
            pipeline: pipeline.to_owned(),
            shared,
            status: SnapshotStatus {
                state: "copying",
                position: at.to_string(),
                table: None,
                tables_total: tables,
                tables_remaining: tables,
                rows_copied: 0,
                rows_estimated: estimated,
                rows_per_second: 0.0,
            },
            bar,
            started: Instant::now(),
            logged: Instant::now(),
        };
        p.publish();
        p
    }

    fn table(&mut self, name: &str) {
        if self.status.table.as_deref() != Some(name) {
            self.status.table = Some(name.to_owned());
            if let Some(bar) = &self.bar {
                bar.set_message(format!("snapshot {}: {name}", self.pipeline));
            }
        }
    }

    fn table_done(&mut self, rows: u64) {
        tracing::info!(
            pipeline = %self.pipeline,
            table = %self.status.table.as_deref().unwrap_or(""),
            rows_this_run = rows,
            "snapshot: table copied"
        );
        self.status.tables_remaining = self.status.tables_remaining.saturating_sub(1);
        m::snapshot_tables_remaining(&self.pipeline, self.status.tables_remaining);
        self.publish();
    }

    fn rows(&mut self, n: u64) {
        self.status.rows_copied += n;
        let secs = self.started.elapsed().as_secs_f64().max(1e-3);
        self.status.rows_per_second = self.status.rows_copied as f64 / secs;
        if self.status.rows_copied > self.status.rows_estimated {
            self.status.rows_estimated = self.status.rows_copied;
            if let Some(bar) = &self.bar {
                bar.set_length(self.status.rows_estimated);
            }
        }
        if let Some(bar) = &self.bar {
            bar.inc(n);
        } else if self.logged.elapsed() >= LOG_EVERY {
            self.logged = Instant::now();
            let s = &self.status;
            let left = s.rows_estimated.saturating_sub(s.rows_copied) as f64;
            tracing::info!(
                pipeline = %self.pipeline,
                table = s.table.as_deref().unwrap_or(""),
                rows = s.rows_copied,
                rows_estimated = s.rows_estimated,
                rows_per_second = s.rows_per_second.round(),
                eta_seconds = (left / s.rows_per_second.max(1.0)).round(),
                "snapshot progress"
            );
        }
        self.publish();
    }

    /// Show the progress in `/status` (one short lock per chunk).
    fn publish(&self) {
        let snapshot = self.status.clone();
        self.shared
            .update(&self.pipeline, |s| s.snapshot = Some(snapshot));
    }

    fn finish(&mut self, state: &'static str) {
        self.status.state = state;
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        self.publish();
        tracing::info!(pipeline = %self.pipeline, rows = self.status.rows_copied, seconds = self.started.elapsed().as_secs_f64(), outcome = state, "snapshot finished");
    }
}
