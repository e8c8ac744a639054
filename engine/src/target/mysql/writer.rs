//! Applies routed changes to MySQL/MariaDB: a group of whole source
//! transactions per target transaction, together with the checkpoint row.
//!
//! # Failure
//! Any error drops the connection, so the server rolls the open transaction
//! back: nothing of a failed apply stays. The caller decides between retry
//! (transient) and its policy (definite), and after a transient failure
//! reads the checkpoint back, because a lost reply to COMMIT leaves the
//! outcome unknown until then.
//!
//! # Large transactions
//! The pieces of a large source transaction (`apply_part`) go into one
//! target transaction that stays open between calls; the last piece
//! (`apply` while it is open) adds the checkpoint and commits it. Each piece
//! starts at a savepoint: a piece the target rejects is rolled back to it,
//! so the pieces before stay and the pipeline can set the row aside and
//! write the piece again. A failure of the connection loses the whole open
//! transaction (the server rolls it back), which the error says by being
//! transient; the pipeline then reads the transaction again from its start.

use std::collections::HashMap;
use std::sync::Arc;

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Opts, OptsBuilder, TxOpts};

use super::sql::{TableSql, classify, param};
use super::store::{finish, write_dead, write_record};
use crate::change::{RowChange, Value};
use crate::error::{ErrorKind, PipelineError};
use crate::metrics as m;
use crate::target::plan::{Kind, Step, plan};
use crate::target::{DeadLetter, Record, Routed, Uncommitted, describe_row};

/// Most bytes of values one multi-row statement carries, well under the
/// server's default `max_allowed_packet` (16 MiB in MariaDB 10.11).
const MAX_STATEMENT_BYTES: usize = 4 << 20;

/// Whether a table has a unique index besides its primary key.
const SECONDARY_UNIQUE: &str = "SELECT COUNT(*) FROM information_schema.STATISTICS \
     WHERE TABLE_SCHEMA = COALESCE(?, DATABASE()) AND TABLE_NAME = ? AND NON_UNIQUE = 0 AND INDEX_NAME <> 'PRIMARY'";

/// A MySQL target connection.
pub struct MysqlTarget {
    /// The target's name in the config, for metrics and messages.
    pub(super) name: String,
    pub(super) opts: Opts,
    pub(super) conn: Option<Conn>,
    /// Statements per (target table, column list).
    pub(super) sql: HashMap<(String, Vec<String>), Arc<TableSql>>,
    /// Per target table: whether its changes may be collapsed by key (no
    /// unique index besides the primary key; see `plan`).
    pub(super) collapse: HashMap<String, bool>,
    /// A large transaction's pieces are open on `conn` (`apply_part`).
    pub(super) open: bool,
    /// Rows per op written into the open transaction, counted in the
    /// metrics only when it commits (a rolled-back one is written again).
    pub(super) open_rows: Uncommitted,
    /// The server's `max_allowed_packet`, read at connect (0 before).
    pub(super) max_packet: usize,
    /// Whether the server has `ALTER TABLE … RENAME COLUMN` (read at
    /// connect); without, a rename is sent as `CHANGE COLUMN`.
    pub(super) rename_column: bool,
}

/// How a group is written.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Planned multi-row statements per table (the normal way).
    Batched,
    /// One statement per change, in source order. Used to find the row a
    /// batch was rejected for.
    RowByRow,
}

impl MysqlTarget {
    pub fn new(name: &str, url: &str) -> Result<Self, PipelineError> {
        let opts = Opts::from_url(url)
            .map_err(|e| PipelineError::definite(format!("targets.{name}.url: {e}")))?;
        let opts: Opts = OptsBuilder::from_opts(opts)
            .init(vec![
                // TIMESTAMPs are sent as UTC; zero dates and id 0 copy as
                // they are. Foreign keys were checked by the source; a
                // collapsed group may write tables in another order.
                "SET time_zone = '+00:00', sql_mode = 'NO_AUTO_VALUE_ON_ZERO,STRICT_ALL_TABLES', NAMES utf8mb4, foreign_key_checks = 0",
            ])
            .stmt_cache_size(256)
            .into();
        Ok(MysqlTarget {
            name: name.to_owned(),
            opts,
            conn: None,
            sql: HashMap::new(),
            collapse: HashMap::new(),
            open: false,
            open_rows: Uncommitted::default(),
            max_packet: 0,
            rename_column: true,
        })
    }

    pub(super) fn error(
        &self,
        e: mysql_async::Error,
        what: impl FnOnce() -> String,
    ) -> PipelineError {
        let kind = classify(&e);
        m::target_error(
            &self.name,
            if kind == ErrorKind::Transient {
                "transient"
            } else {
                "definite"
            },
        );
        PipelineError {
            kind,
            table: None,
            position: None,
            row: None,
            message: match &e {
                mysql_async::Error::Server(s)
                    if let Some(hint) = crate::server_error::hint(s.code) =>
                {
                    format!("target `{}`: {}: {e}; {hint}", self.name, what())
                }
                mysql_async::Error::Driver(mysql_async::DriverError::UnknownAuthPlugin {
                    name,
                }) => {
                    format!(
                        "target `{}`: {}",
                        self.name,
                        crate::source::unknown_auth_plugin("target", name)
                    )
                }
                _ => format!("target `{}`: {}: {e}", self.name, what()),
            },
        }
    }

    pub(super) async fn conn(&mut self) -> Result<&mut Conn, PipelineError> {
        if self.conn.is_none() {
            let mut c = Conn::new(self.opts.clone())
                .await
                .map_err(|e| self.error(e, || "cannot connect".into()))?;
            let server: Option<(u64, String)> = c
                .query_first("SELECT @@max_allowed_packet, @@version")
                .await
                .map_err(|e| self.error(e, || "reading max_allowed_packet".into()))?;
            let (packet, version) = server.unwrap_or_default();
            self.max_packet = packet as usize;
            self.rename_column = super::ddl::supports_rename_column(&version);
            self.conn = Some(c);
        }
        Ok(self.conn.as_mut().expect("connected above"))
    }

    /// The statements of a routed batch, and whether its table may be
    /// collapsed (looked up once per target table).
    pub(super) async fn statements(
        &mut self,
        r: &Routed,
    ) -> Result<(Arc<TableSql>, bool), PipelineError> {
        if r.schema.key.is_empty() {
            return Err(PipelineError::definite(format!(
                "table {}.{} has no primary key; Sluice applies changes by primary key, so add one to the source table",
                r.schema.database, r.schema.table
            )));
        }
        if !self.collapse.contains_key(&r.table) {
            let (db, table) = match r.table.split_once('.') {
                Some((d, t)) => (Some(d), t),
                None => (None, r.table.as_str()),
            };
            let conn = self.conn().await?;
            let n: Result<Option<u64>, _> = conn.exec_first(SECONDARY_UNIQUE, (db, table)).await;
            match n {
                Ok(n) => {
                    self.collapse.insert(r.table.clone(), n.unwrap_or(0) == 0);
                }
                Err(e) => {
                    self.conn = None;
                    return Err(self.error(e, || format!("reading the indexes of {}", r.table)));
                }
            }
        }
        let key = (r.table.clone(), r.schema.columns.clone());
        let sql = self
            .sql
            .entry(key)
            .or_insert_with(|| Arc::new(TableSql::new(&r.table, &r.schema)))
            .clone();
        Ok((sql, self.collapse[&r.table]))
    }

    /// Apply in planned batches; when the target rejects a batch, again
    /// row by row, which either names the row (for the pipeline's policy)
    /// or succeeds (a batch-only limit, such as packet size).
    pub(super) async fn apply_record(
        &mut self,
        pipeline: &str,
        changes: &[Routed],
        dead: &[DeadLetter],
        record: Record<'_>,
    ) -> Result<(), PipelineError> {
        if self.open {
            return self.apply_open(pipeline, changes, dead, Some(record)).await;
        }
        match self
            .apply_once(pipeline, changes, dead, record, Mode::Batched)
            .await
        {
            Err(e) if !e.is_transient() && e.row.is_none() => {
                tracing::debug!(target_name = %self.name, error = %e, "batch rejected; applying row by row to find the row");
                self.apply_once(pipeline, changes, dead, record, Mode::RowByRow)
                    .await
            }
            other => other,
        }
    }

    /// The statements of every batch. A group is mostly runs of one
    /// table's batches: the last lookup is reused while the table and
    /// schema stay the same.
    /// A row too large for the server's `max_allowed_packet` is refused
    /// before it is sent: the server would drop the connection on it, which
    /// looks like an outage and would be retried for ever. Refused here,
    /// it is a definite error on that row, for the pipeline's policy.
    fn check_packet(&self, changes: &[Routed]) -> Result<(), PipelineError> {
        // Room for the statement around the values, and escaping.
        let limit = self.max_packet.saturating_sub(64 << 10);
        if self.max_packet == 0 {
            return Ok(());
        }
        for (b, r) in changes.iter().enumerate() {
            for (i, row) in r.rows.iter().enumerate() {
                let bytes: usize = [&row.before, &row.after]
                    .into_iter()
                    .flatten()
                    .map(|img| img.iter().map(value_size).sum::<usize>())
                    .max()
                    .unwrap_or(0);
                if bytes > limit {
                    return Err(PipelineError {
                        kind: ErrorKind::Definite,
                        table: None,
                        position: None,
                        row: Some((b, i)),
                        message: format!(
                            "target `{}`: the {} is {bytes} bytes, more than the target's max_allowed_packet of {} bytes allows; raise max_allowed_packet on the target server (SET GLOBAL max_allowed_packet = ..., and in its config), or set on_error for this pipeline",
                            self.name,
                            describe_row(r, row),
                            self.max_packet
                        ),
                    });
                }
            }
        }
        Ok(())
    }

    async fn tables(
        &mut self,
        changes: &[Routed],
    ) -> Result<Vec<(Arc<TableSql>, bool)>, PipelineError> {
        self.conn().await?;
        self.check_packet(changes)?;
        let mut tables: Vec<(Arc<TableSql>, bool)> = Vec::with_capacity(changes.len());
        for (i, r) in changes.iter().enumerate() {
            let same = i > 0 && {
                let p = &changes[i - 1];
                p.table == r.table && Arc::ptr_eq(&p.schema, &r.schema)
            };
            let t = match (same, tables.last()) {
                (true, Some(t)) => t.clone(),
                _ => self.statements(r).await?,
            };
            tables.push(t);
        }
        Ok(tables)
    }

    async fn apply_once(
        &mut self,
        pipeline: &str,
        changes: &[Routed],
        dead: &[DeadLetter],
        record: Record<'_>,
        mode: Mode,
    ) -> Result<(), PipelineError> {
        let tables = self.tables(changes).await?;
        let conn = self.conn().await?;
        match write(conn, mode, pipeline, changes, &tables, dead, record).await {
            Ok(()) => {
                self.count(changes, true);
                Ok(())
            }
            Err(e) => {
                // Dropping the connection rolls the transaction back.
                self.conn = None;
                Err(self.tx_error(e, changes))
            }
        }
    }

    /// Metrics for rows written ([`Uncommitted`]).
    fn count(&mut self, changes: &[Routed], committed: bool) {
        self.open_rows.add(&self.name, changes, committed);
    }

    fn tx_error(&self, (e, what, at): TxError, changes: &[Routed]) -> PipelineError {
        let mut err = self.error(e, || format!("applying {what}"));
        if let Some((b, r)) = at {
            err.row = Some((b, r));
            err = err.with_table(|| changes[b].table.clone());
        }
        err
    }

    /// Write a piece of a large transaction into the open target
    /// transaction (opening it first), from a savepoint; with `record`,
    /// also the bookkeeping row, then COMMIT. A rejected piece is rolled
    /// back to the savepoint and written row by row to name the row; the
    /// transaction stays open. Any other failure ends it.
    pub(super) async fn apply_open(
        &mut self,
        pipeline: &str,
        changes: &[Routed],
        dead: &[DeadLetter],
        record: Option<Record<'_>>,
    ) -> Result<(), PipelineError> {
        let tables = match self.tables(changes).await {
            Ok(t) => t,
            Err(e) => {
                self.end_open();
                return Err(e);
            }
        };
        let open = self.open;
        let conn = self.conn().await?;
        let result = write_piece(conn, open, pipeline, changes, &tables, dead, record).await;
        match result {
            Ok(()) => {
                self.open = record.is_none();
                self.count(changes, record.is_some());
                Ok(())
            }
            Err((e, rolled_back)) => {
                let err = self.tx_error(e, changes);
                if rolled_back && !err.is_transient() {
                    // Back at the savepoint: the pieces before are intact.
                    self.open = true;
                } else {
                    self.end_open();
                }
                Err(err)
            }
        }
    }

    /// Forget the open transaction: dropping the connection rolls it back.
    fn end_open(&mut self) {
        self.open = false;
        self.open_rows.clear();
        self.conn = None;
    }
}

/// Undo a failed piece: back to its savepoint. Says whether that worked.
async fn back(conn: &mut Conn, e: TxError) -> (TxError, bool) {
    let ok = conn
        .query_drop("ROLLBACK TO SAVEPOINT sluice_piece")
        .await
        .is_ok();
    (e, ok)
}

/// One piece of a large transaction (`apply_open`). The error says whether
/// the transaction was rolled back to the piece's savepoint (and so is
/// still open with the pieces before).
async fn write_piece(
    conn: &mut Conn,
    open: bool,
    pipeline: &str,
    changes: &[Routed],
    tables: &[(Arc<TableSql>, bool)],
    dead: &[DeadLetter],
    record: Option<Record<'_>>,
) -> Result<(), (TxError, bool)> {
    let plain = |e: TxError| (e, false);
    if !open {
        conn.query_drop("START TRANSACTION")
            .await
            .map_err(|e| plain((e, "START TRANSACTION".to_owned(), None)))?;
    }
    conn.query_drop("SAVEPOINT sluice_piece")
        .await
        .map_err(|e| plain((e, "SAVEPOINT".to_owned(), None)))?;
    match batched(conn, changes, tables).await {
        Ok(()) => {}
        Err(e) if e.2.is_none() && classify(&e.0) == ErrorKind::Definite => {
            let (e, ok) = back(conn, e).await;
            if !ok {
                return Err((e, false));
            }
            if let Err(e) = row_by_row(conn, changes, tables).await {
                return Err(back(conn, e).await);
            }
        }
        Err(e) => return Err(back(conn, e).await),
    }
    if let Err(e) = write_dead(conn, pipeline, dead).await {
        return Err(back(conn, e).await);
    }
    if let Some(record) = record {
        write_record(conn, pipeline, record).await.map_err(plain)?;
        conn.query_drop("COMMIT")
            .await
            .map_err(|e| plain((e, "COMMIT".to_owned(), None)))?;
    }
    Ok(())
}

/// The error, what was being written, and which (batch, row) if a row.
pub(super) type TxError = (mysql_async::Error, String, Option<(usize, usize)>);

/// One target transaction: the changes, dead letters, checkpoint, COMMIT.
async fn write(
    conn: &mut Conn,
    mode: Mode,
    pipeline: &str,
    changes: &[Routed],
    tables: &[(Arc<TableSql>, bool)],
    dead: &[DeadLetter],
    record: Record<'_>,
) -> Result<(), TxError> {
    let mut tx = conn
        .start_transaction(TxOpts::default())
        .await
        .map_err(|e| (e, "START TRANSACTION".to_owned(), None))?;
    match mode {
        Mode::Batched => batched(&mut tx, changes, tables).await?,
        Mode::RowByRow => row_by_row(&mut tx, changes, tables).await?,
    }
    finish(tx, pipeline, dead, record).await
}

/// Every table's changes as planned multi-row statements, in an open
/// transaction. Tables are written one after another; within a table the
/// plan keeps the source's outcome (see `plan`).
pub(super) async fn batched<Q: Queryable>(
    tx: &mut Q,
    changes: &[Routed],
    tables: &[(Arc<TableSql>, bool)],
) -> Result<(), TxError> {
    // Batches of the same statements (one target table and column list),
    // in order of first appearance; one pass, so a group of thousands of
    // one-row transactions stays linear.
    let mut order: Vec<(usize, Vec<&RowChange>)> = Vec::new();
    // Keyed by the statements' address (as usize, so the future stays Send).
    let mut slot: HashMap<usize, usize> = HashMap::new();
    for (b, r) in changes.iter().enumerate() {
        let i = *slot
            .entry(Arc::as_ptr(&tables[b].0) as usize)
            .or_insert_with(|| {
                order.push((b, Vec::new()));
                order.len() - 1
            });
        order[i].1.extend(&r.rows);
    }
    for (first, rows) in order {
        let (sql, collapse) = &tables[first];
        let r = &changes[first];
        let steps = plan(&rows, &r.schema.key, *collapse).map_err(|m| {
            (
                mysql_async::Error::Other(m.into()),
                format!("changes to {}", r.table),
                None,
            )
        })?;
        for step in &steps {
            run_step(tx, sql, &r.schema.key, step).await.map_err(|e| {
                let what = match step.kind {
                    Kind::Upsert => "upserts",
                    Kind::Delete => "deletes",
                };
                (
                    e,
                    format!("{} {what} into {}", step.images.len(), r.table),
                    None,
                )
            })?;
        }
    }
    Ok(())
}

/// One step as statements of the largest power-of-two row count that fits
/// the row and byte limits.
async fn run_step<Q: Queryable>(
    tx: &mut Q,
    sql: &TableSql,
    key: &[usize],
    step: &Step<'_>,
) -> Result<(), mysql_async::Error> {
    let mut rest = step.images.as_slice();
    while !rest.is_empty() {
        let mut fit = 0;
        let mut bytes = 0;
        while fit < rest.len() && fit < sql.max_rows && (fit == 0 || bytes < MAX_STATEMENT_BYTES) {
            bytes += rest[fit].iter().map(value_size).sum::<usize>();
            fit += 1;
        }
        let n = 1 << fit.ilog2();
        let (chunk, tail) = rest.split_at(n);
        match step.kind {
            Kind::Upsert => {
                let mut params = Vec::with_capacity(n * chunk[0].len());
                for image in chunk {
                    params.extend(image.iter().map(param));
                }
                tx.exec_drop(sql.upsert(n), params).await?;
            }
            Kind::Delete => {
                let mut params = Vec::with_capacity(n * key.len());
                for image in chunk {
                    params.extend(key.iter().map(|&k| param(&image[k])));
                }
                tx.exec_drop(sql.delete(n), params).await?;
            }
        }
        rest = tail;
    }
    Ok(())
}

/// Rough bytes a value takes in a statement.
fn value_size(v: &Value) -> usize {
    match v {
        Value::Text(s) | Value::Decimal(s) | Value::Json(s) => s.len(),
        Value::Bytes(b) => b.len(),
        _ => 8,
    }
}

/// Every change as its own statement, in source order, so a rejected row
/// is known by its index.
async fn row_by_row<Q: Queryable>(
    tx: &mut Q,
    changes: &[Routed],
    tables: &[(Arc<TableSql>, bool)],
) -> Result<(), TxError> {
    for (b, (r, (sql, _))) in changes.iter().zip(tables).enumerate() {
        for (i, row) in r.rows.iter().enumerate() {
            let steps = plan(&[row], &r.schema.key, false).map_err(|m| {
                (
                    mysql_async::Error::Other(m.into()),
                    describe_row(r, row),
                    Some((b, i)),
                )
            })?;
            for step in &steps {
                run_step(tx, sql, &r.schema.key, step)
                    .await
                    .map_err(|e| (e, describe_row(r, row), Some((b, i))))?;
            }
        }
    }
    Ok(())
}
