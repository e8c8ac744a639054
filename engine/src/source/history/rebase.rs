//! Moving a checkpoint and its schema history to another server of the
//! replication topology (a promoted replica, `[source] url` as a list).
//!
//! # Why the moved history is exact
//! The history is keyed by the positions of the server it was read from
//! (module doc of `history`). A checkpoint at position `p` with GTID set
//! `S` says: the target holds exactly the transactions of `S`, and the
//! version of each table valid just after `p` is the shape every later
//! event of that server was written with, until the next DDL.
//!
//! On the new server, [`position_of`] looks for the position `q` where the
//! executed set is exactly `S`: the `PREVIOUS_GTIDS` of a binlog file plus
//! the GTIDs of the transactions before `q` in it. Every transaction
//! before `q` is then in `S`, and every one after it is not (a GTID is
//! written once). A replica with `log_slave_updates` applies the primary's
//! transactions in the primary's order, so the DDLs of `S` ran before `q`
//! and none of them after: the shape just after `q` on the new server is
//! the shape just after `p` on the old one. [`onto`] therefore keys each
//! table's version valid after `p` at `q`, drops every other version, and
//! moves the checkpoint to `q` with the same set. The DDLs after `q` are
//! read from the new server's stream and followed as always.
//!
//! When no such `q` exists (the replica applied transactions in another
//! order, writes no binlog for what it replicates, or purged it) the
//! history cannot be moved and the error says so. It never guesses.
//!
//! The moved checkpoint replaces the pipeline's stored history in one
//! target transaction (`Checkpoint::replace_schema`), so a crash leaves
//! either the old server's checkpoint and history or the new server's,
//! never a mix; the next start moves what is still on the old server.
//!
//! A checkpoint whose position on this server holds exactly its set is
//! taken as this server's (`same_server`): its transactions are then the
//! same before that position on both servers.

use std::collections::HashMap;
use std::sync::Arc;

use mysql_async::Conn;
use mysql_async::prelude::Queryable;

use super::{SchemaHistory, SchemaVersion};
use crate::position::{BinlogFile, BinlogPosition, MysqlGtidSet};
use crate::source::snapshot::mysql_gtids_at;
use crate::target::Checkpoint;

/// `cp` as a checkpoint of the server `conn` is connected to: `None` when
/// it already is one, else the moved checkpoint (to store with
/// `replace_schema`).
pub async fn onto(conn: &mut Conn, cp: &Checkpoint) -> Result<Option<Checkpoint>, String> {
    // A server that lacks transactions the target holds cannot serve it.
    crate::source::check_has_gtids(conn, &cp.gtid_set)
        .await
        .map_err(|e| e.to_string())?;
    let here = mysql_gtids_at(conn, &cp.position).await.unwrap_or_default();
    if here == cp.gtid_set {
        return Ok(None);
    }
    let Some(q) = position_of(conn, &cp.gtid_set).await? else {
        return Err(format!(
            "the checkpoint holds the GTID set {set}, read from another server at {p}; this server's binlog has no position where exactly that set is executed, so the schema history (keyed by positions, as the source writes no row metadata) cannot be moved to it. A replica must write what it applies to its own binlog (log_slave_updates=ON) in the primary's order (single-threaded, or slave_preserve_commit_order=ON); otherwise take a new snapshot: `sluice reset-checkpoint`, then start with snapshot = \"initial\"",
            set = cp.gtid_set,
            p = cp.position,
        ));
    };
    Ok(Some(moved(cp, q)))
}

/// The checkpoint `cp` keyed at `q`: each table's version valid just after
/// `cp.position`, now at `q`; every other version dropped.
pub fn moved(cp: &Checkpoint, q: BinlogPosition) -> Checkpoint {
    let mut h = SchemaHistory::default();
    for v in &cp.schema {
        h.load((**v).clone());
    }
    let after = BinlogPosition {
        file: cp.position.file.clone(),
        pos: cp.position.pos + 1,
    };
    let mut schema = Vec::new();
    for (database, table) in h.tables() {
        if let Some(shape) = h.at(&database, &table, &after) {
            schema.push(Arc::new(SchemaVersion {
                database,
                table,
                at: q.clone(),
                shape: shape.cloned(),
            }));
        }
    }
    Checkpoint {
        position: q,
        gtid: cp.gtid.clone(),
        gtid_set: cp.gtid_set.clone(),
        schema,
        replace_schema: true,
    }
}

/// The first position of this server's binlog where the executed GTID set
/// is exactly `set`; `None` when there is none.
pub async fn position_of(
    conn: &mut Conn,
    set: &MysqlGtidSet,
) -> Result<Option<BinlogPosition>, String> {
    let files: Vec<mysql_async::Row> = conn
        .query("SHOW BINARY LOGS")
        .await
        .map_err(|e| format!("SHOW BINARY LOGS: {e}"))?;
    let files: Vec<String> = files.iter().filter_map(|r| r.get(0)).collect();
    // The newest file that starts inside the set: the position, if any, is
    // in it or in the files after it.
    let mut previous = HashMap::new();
    let mut first = None;
    for (i, f) in files.iter().enumerate().rev() {
        let p = previous_gtids(conn, f).await?;
        let inside = p.is_subset_of(set);
        previous.insert(i, p);
        if inside {
            first = Some(i);
            break;
        }
    }
    let Some(first) = first else {
        return Ok(None);
    };
    for (i, f) in files.iter().enumerate().skip(first) {
        let file = BinlogFile::new(f)?;
        let mut executed = match previous.remove(&i) {
            Some(p) => p,
            None => previous_gtids(conn, f).await?,
        };
        let mut end = 4u64;
        let mut from = 4u64;
        loop {
            let rows = events(conn, f, from).await?;
            let n = rows.len();
            for row in rows {
                let at: u64 = row.get(1).unwrap_or(0);
                let kind: String = row.get(2).unwrap_or_default();
                if kind == "Gtid" {
                    // `at` ends the transaction before this one.
                    if executed == *set {
                        return Ok(Some(BinlogPosition { file, pos: at }));
                    }
                    let info: String = row.get(5).unwrap_or_default();
                    let g: MysqlGtidSet = info
                        .split('\'')
                        .nth(1)
                        .unwrap_or_default()
                        .parse()
                        .map_err(|e| format!("the Gtid event at {f} {at}: {e}"))?;
                    executed.extend(&g);
                    if !executed.is_subset_of(set) {
                        return Ok(None);
                    }
                }
                end = row.get(4).unwrap_or(at);
                from = end;
            }
            if n < 1000 {
                break;
            }
        }
        if executed == *set {
            return Ok(Some(BinlogPosition { file, pos: end }));
        }
    }
    Ok(None)
}

async fn events(conn: &mut Conn, file: &str, from: u64) -> Result<Vec<mysql_async::Row>, String> {
    let name = file.replace('\\', "\\\\").replace('\'', "''");
    let sql = format!("SHOW BINLOG EVENTS IN '{name}' FROM {from} LIMIT 1000");
    conn.query(&sql).await.map_err(|e| format!("{sql}: {e}"))
}

/// The `PREVIOUS_GTIDS` of a binlog file (its second event).
async fn previous_gtids(conn: &mut Conn, file: &str) -> Result<MysqlGtidSet, String> {
    let name = file.replace('\\', "\\\\").replace('\'', "''");
    let sql = format!("SHOW BINLOG EVENTS IN '{name}' LIMIT 3");
    let rows: Vec<mysql_async::Row> = conn.query(&sql).await.map_err(|e| format!("{sql}: {e}"))?;
    for row in rows {
        let kind: String = row.get(2).unwrap_or_default();
        if kind == "Previous_gtids" {
            let info: String = row.get(5).unwrap_or_default();
            return info
                .trim()
                .parse()
                .map_err(|e| format!("the Previous_gtids event of {file}: {e}"));
        }
    }
    Ok(MysqlGtidSet::default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::shape::{ColumnShape, TableShape};

    fn version(table: &str, at: &str, shape: Option<TableShape>) -> Arc<SchemaVersion> {
        Arc::new(SchemaVersion {
            database: "d".into(),
            table: table.into(),
            at: at.parse().unwrap(),
            shape,
        })
    }

    #[test]
    fn the_version_valid_after_the_checkpoint_moves_and_the_others_are_dropped() {
        let shape = |n: usize| {
            Some(TableShape {
                columns: (0..n)
                    .map(|i| ColumnShape {
                        name: format!("c{i}"),
                        column_type: "int(11)".into(),
                        charset: None,
                    })
                    .collect(),
                key: vec![0],
                charset: None,
            })
        };
        let mut cp = Checkpoint::at("binlog.000003:500".parse().unwrap());
        cp.gtid_set = "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-9".parse().unwrap();
        cp.schema = vec![
            version("a", "binlog.000001:100", shape(1)),
            // A DDL that ends exactly at the checkpoint is valid after it.
            version("a", "binlog.000003:500", shape(2)),
            version("b", "binlog.000002:10", shape(3)),
            version("b", "binlog.000002:900", None),
            // Only a later DDL of another pipeline's read could make this;
            // the new server's stream makes it again.
            version("c", "binlog.000004:4", shape(1)),
        ];
        let q: BinlogPosition = "mysql-bin.000001:1234".parse().unwrap();
        let m = moved(&cp, q.clone());
        assert_eq!(m.position, q);
        assert_eq!(m.gtid_set, cp.gtid_set);
        assert!(m.replace_schema);
        let got: Vec<(String, Option<usize>)> = m
            .schema
            .iter()
            .map(|v| {
                assert_eq!(v.at, q);
                (v.table.clone(), v.shape.as_ref().map(|s| s.columns.len()))
            })
            .collect();
        assert_eq!(got, vec![("a".to_owned(), Some(2)), ("b".to_owned(), None)]);
    }
}
