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
//! after it. No lock blocks writers: the read view is MVCC.
//!
//! MySQL reports no position for its consistent snapshot. There the read
//! is opened under `FLUSH TABLES WITH READ LOCK`: while it is held no
//! transaction commits and no DDL runs, so the position `SHOW MASTER
//! STATUS` gives, the read view `START TRANSACTION WITH CONSISTENT
//! SNAPSHOT` opens, and (on a server without row metadata) the table
//! shapes read from `information_schema` all describe the same instant.
//! The lock is released as soon as they are read; how long writers were
//! blocked is logged and exported (`sluice_snapshot_lock_seconds`). The
//! lock waits at most `LOCK_WAIT` for running statements to finish, so a
//! long query on the source fails the attempt instead of blocking writers
//! behind it for as long.
//!
//! Chunks are read by a task of their own, two ahead of the writer, so
//! reading the source and writing the target overlap.

use mysql_async::Conn;
use mysql_async::prelude::Queryable;
use tokio::sync::mpsc;

use std::time::{Duration, Instant};

use super::history::SchemaVersion;
use super::shape::TableShape;
use super::table::{SqlTable, list_tables};
use super::{Server, SourceError};
use crate::change::Value;
use crate::config::TablePattern;
use crate::position::{BinlogFile, BinlogPosition, GtidState, MysqlGtidSet};

/// An open consistent read of the source.
pub struct ConsistentRead {
    conn: Conn,
    /// The binlog position the read sees the source at.
    pub position: BinlogPosition,
    /// The GTID state at `position` (empty when the server cannot say).
    pub gtid: GtidState,
    /// MySQL: every GTID executed at `position` (empty without GTIDs).
    pub gtid_set: MysqlGtidSet,
    /// On a server without row metadata: the shapes of the tables the
    /// patterns follow, exactly at `position`.
    pub shapes: Vec<SchemaVersion>,
    /// How long writers were blocked by the global read lock (MySQL).
    pub lock_held: Option<Duration>,
}

/// How long `FLUSH TABLES WITH READ LOCK` waits for running statements.
const LOCK_WAIT: Duration = Duration::from_secs(10);

/// A chunk of rows of `work[table]`, in key order; an empty chunk ends the
/// table.
pub struct Chunk {
    pub table: usize,
    pub rows: Vec<Vec<Value>>,
}

impl ConsistentRead {
    /// Open the read. `patterns`: the tables whose shapes a server without
    /// row metadata needs.
    pub async fn open(
        server: &Server,
        patterns: &[TablePattern],
    ) -> Result<ConsistentRead, SourceError> {
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
        let reports: Vec<(String, String)> = conn
            .query("SHOW SESSION STATUS LIKE 'binlog_snapshot_file'")
            .await
            .map_err(sql)?;
        if reports.is_empty() {
            return Self::open_locked(conn, patterns).await;
        }
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
            gtid_set: MysqlGtidSet::default(),
            shapes: Vec::new(),
            lock_held: None,
        })
    }

    /// MySQL: the position, the read view and the shapes under a global
    /// read lock held for as short as it can be (module doc).
    async fn open_locked(
        mut conn: Conn,
        patterns: &[TablePattern],
    ) -> Result<ConsistentRead, SourceError> {
        let sql = |e| SourceError::from_mysql(e);
        let history = !super::server::has_row_metadata(&mut conn)
            .await
            .map_err(sql)?;
        // The tables to read shapes of, listed before the lock.
        let mut tables = Vec::new();
        if history {
            for (d, t) in list_tables(&mut conn).await.map_err(sql)? {
                if patterns.iter().any(|p| p.follows(&d, &t)) {
                    tables.push((d, t));
                }
            }
        }
        conn.query_drop(format!(
            "SET SESSION lock_wait_timeout = {}",
            LOCK_WAIT.as_secs()
        ))
        .await
        .map_err(sql)?;
        let asked = Instant::now();
        if let Err(e) = conn.query_drop("FLUSH TABLES WITH READ LOCK").await {
            return Err(match e {
                mysql_async::Error::Server(s) if matches!(s.code, 1227 | 1044 | 1045) => {
                    SourceError::Definite {
                        position: None,
                        message: format!(
                            "the snapshot needs a global read lock for a moment on MySQL, which reports no position for a consistent snapshot, and the source refused it: {} (error {}). Grant the RELOAD privilege (GRANT RELOAD ON *.* TO the Sluice user), or set snapshot = \"never\" on the pipeline and copy the existing rows yourself",
                            s.message, s.code
                        ),
                    }
                }
                mysql_async::Error::Server(s) if s.code == 1205 => {
                    SourceError::Disconnected(format!(
                        "the snapshot's global read lock waited {LOCK_WAIT:?} for running statements on the source and gave up ({}); trying again",
                        s.message
                    ))
                }
                e => sql(e),
            });
        }
        let locked = Instant::now();
        let read = async {
            conn.query_drop("START TRANSACTION WITH CONSISTENT SNAPSHOT")
                .await
                .map_err(sql)?;
            let (position, gtid_set) =
                super::server::master_status(&mut conn)
                    .await
                    .map_err(|message| SourceError::Definite {
                        position: None,
                        message,
                    })?;
            let mut shapes = Vec::new();
            for (database, table) in &tables {
                let shape = TableShape::load(&mut conn, database, table)
                    .await
                    .map_err(sql)?;
                shapes.push(SchemaVersion {
                    database: database.clone(),
                    table: table.clone(),
                    at: position.clone(),
                    shape,
                });
            }
            Ok::<_, SourceError>((position, gtid_set, shapes))
        }
        .await;
        let unlocked = conn.query_drop("UNLOCK TABLES").await;
        // Writers wait from the moment the lock is asked for (the server
        // takes the global lock, then waits for running statements).
        let held = asked.elapsed();
        let (position, gtid_set, shapes) = read?;
        unlocked.map_err(sql)?;
        crate::metrics::snapshot_lock(held);
        tracing::info!(
            position = %position,
            writers_blocked = ?held,
            held_after_granted = ?locked.elapsed(),
            tables = shapes.len(),
            "snapshot: consistent read opened under a global read lock (MySQL)"
        );
        Ok(ConsistentRead {
            conn,
            position,
            gtid: GtidState::default(),
            gtid_set,
            shapes,
            lock_held: Some(held),
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

/// MySQL: every GTID executed at a position of the server's binlog: the
/// `PREVIOUS_GTIDS` of its file plus each GTID before it in the file
/// (`position::mysql_gtid`, # Why a stored set is complete).
pub async fn mysql_gtids_at(
    conn: &mut Conn,
    position: &BinlogPosition,
) -> Result<MysqlGtidSet, String> {
    let mut set = MysqlGtidSet::default();
    let mut from = 4u64;
    let file = position
        .file
        .name()
        .replace('\\', "\\\\")
        .replace('\'', "''");
    loop {
        let sql = format!("SHOW BINLOG EVENTS IN '{file}' FROM {from} LIMIT 1000");
        let rows: Vec<mysql_async::Row> =
            conn.query(&sql).await.map_err(|e| format!("{sql}: {e}"))?;
        let n = rows.len();
        for row in rows {
            let at: u64 = row.get(1).unwrap_or(0);
            if at >= position.pos {
                return Ok(set);
            }
            let kind: String = row.get(2).unwrap_or_default();
            let info: String = row.get(5).unwrap_or_default();
            let text = match kind.as_str() {
                "Previous_gtids" => info.trim().to_owned(),
                // SET @@SESSION.GTID_NEXT= 'uuid:n'
                "Gtid" => info.split('\'').nth(1).unwrap_or_default().to_owned(),
                _ => String::new(),
            };
            if !text.is_empty() {
                let more: MysqlGtidSet = text.parse().map_err(|e| {
                    format!("the {kind} event at {} {at}: {e}", position.file.name())
                })?;
                set.extend(&more);
            }
            from = row.get(4).unwrap_or(at);
        }
        if n < 1000 {
            return Ok(set);
        }
    }
}
