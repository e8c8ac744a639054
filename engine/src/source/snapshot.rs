//! The source side of the initial snapshot: one consistent read of the
//! source, the binlog position it corresponds to, and its rows in primary
//! key order, chunk by chunk.
//!
//! # Why the position is exact
//! `START TRANSACTION WITH CONSISTENT SNAPSHOT` on MariaDB fixes an InnoDB
//! read view and, in the same step under the binlog's commit lock, records
//! the binlog position of that view (`binlog_snapshot_file` and
//! `binlog_snapshot_position`, session status). Every transaction that
//! commits at or before that position is visible to the read and none
//! after it. No lock blocks writers: the read view is MVCC. MySQL does not
//! report these variables; the snapshot then stops with an error rather
//! than guess a position.
//!
//! Chunks are read by a task of their own, two ahead of the writer, so
//! reading the source and writing the target overlap.

use mysql_async::Conn;
use mysql_async::prelude::Queryable;
use tokio::sync::mpsc;

use super::table::{SqlTable, list_tables};
use super::{Server, SourceError};
use crate::change::Value;
use crate::config::TablePattern;
use crate::position::{BinlogFile, BinlogPosition, GtidState};

/// An open consistent read of the source.
pub struct ConsistentRead {
    conn: Conn,
    /// The binlog position the read sees the source at.
    pub position: BinlogPosition,
    /// The GTID state at `position` (empty when the server cannot say).
    pub gtid: GtidState,
}

/// A chunk of rows of `work[table]`, in key order; an empty chunk ends the
/// table.
pub struct Chunk {
    pub table: usize,
    pub rows: Vec<Vec<Value>>,
}

impl ConsistentRead {
    pub async fn open(server: &Server) -> Result<ConsistentRead, SourceError> {
        let mut conn = server.connect().await?;
        let sql = |e| SourceError::from_mysql(e);
        // UTC and utf8mb4, as `table` expects; REPEATABLE READ, which is
        // what a consistent snapshot needs.
        conn.query_drop("SET time_zone = '+00:00', NAMES utf8mb4")
            .await
            .map_err(sql)?;
        conn.query_drop("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            .await
            .map_err(sql)?;
        conn.query_drop("START TRANSACTION WITH CONSISTENT SNAPSHOT")
            .await
            .map_err(sql)?;
        let status: Vec<(String, String)> = conn
            .query("SHOW SESSION STATUS LIKE 'binlog_snapshot_%'")
            .await
            .map_err(sql)?;
        let get = |name: &str| {
            status
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.clone())
                .filter(|v| !v.is_empty())
        };
        let (Some(file), Some(pos)) =
            (get("binlog_snapshot_file"), get("binlog_snapshot_position"))
        else {
            return Err(SourceError::Definite {
                position: None,
                message: "the source does not report binlog_snapshot_file / binlog_snapshot_position (MariaDB does; MySQL does not), so Sluice cannot take a consistent snapshot there; set snapshot = \"never\" on the pipeline and copy the existing rows yourself".into(),
            });
        };
        let bad = |m: String| SourceError::Definite {
            position: None,
            message: format!("binlog_snapshot position: {m}"),
        };
        let position = BinlogPosition {
            file: BinlogFile::new(&file).map_err(bad)?,
            pos: pos
                .parse()
                .map_err(|_| bad(format!("`{pos}` is not a number")))?,
        };
        let gtid = gtid_at(&mut conn, &position).await;
        Ok(ConsistentRead {
            conn,
            position,
            gtid,
        })
    }

    /// The connection, inside the consistent read.
    pub fn conn(&mut self) -> &mut Conn {
        &mut self.conn
    }

    /// Every base table the patterns match, sorted, with its columns and
    /// key as the read sees them.
    pub async fn tables(
        &mut self,
        patterns: &[TablePattern],
    ) -> Result<Vec<SqlTable>, SourceError> {
        let names = list_tables(&mut self.conn)
            .await
            .map_err(SourceError::from_mysql)?;
        let mut out = Vec::new();
        for (d, t) in names {
            if !patterns.iter().any(|p| p.matches(&d, &t)) {
                continue;
            }
            if let Some(table) = SqlTable::load(&mut self.conn, &d, &t)
                .await
                .map_err(SourceError::from_mysql)?
            {
                out.push(table);
            }
        }
        Ok(out)
    }

    /// Read `work` (each table, after its resume key) in chunks of
    /// `chunk_rows`, on a task of its own. The receiver gets the chunks in
    /// order, or the first error; dropping it stops the task.
    pub fn read_all(
        mut self,
        work: Vec<(SqlTable, Option<Vec<Value>>)>,
        chunk_rows: usize,
    ) -> mpsc::Receiver<Result<Chunk, SourceError>> {
        let (tx, rx) = mpsc::channel(2);
        tokio::spawn(async move {
            for (i, (table, mut after)) in work.into_iter().enumerate() {
                loop {
                    let rows = match table
                        .read_chunk(&mut self.conn, after.as_deref(), chunk_rows)
                        .await
                    {
                        Ok(rows) => rows,
                        Err(e) => {
                            let _ = tx.send(Err(e)).await;
                            return;
                        }
                    };
                    let end = rows.len() < chunk_rows;
                    after = rows.last().map(|r| table.key_of(r)).or(after);
                    let nonempty = !rows.is_empty();
                    if nonempty && tx.send(Ok(Chunk { table: i, rows })).await.is_err() {
                        return;
                    }
                    if end {
                        if tx
                            .send(Ok(Chunk {
                                table: i,
                                rows: Vec::new(),
                            }))
                            .await
                            .is_err()
                        {
                            return;
                        }
                        break;
                    }
                }
            }
        });
        rx
    }
}

/// The GTID state at a binlog position (MariaDB's `BINLOG_GTID_POS`);
/// empty when the server cannot say.
pub async fn gtid_at(conn: &mut Conn, position: &BinlogPosition) -> GtidState {
    let r: Result<Option<Option<String>>, _> = conn
        .exec_first(
            "SELECT BINLOG_GTID_POS(?, ?)",
            (position.file.name(), position.pos),
        )
        .await;
    r.ok()
        .flatten()
        .flatten()
        .and_then(|s| s.parse().ok())
        .unwrap_or_default()
}
