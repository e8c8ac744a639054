//! Reading shapes from `information_schema`, proven valid for a stretch of
//! the binlog.
//!
//! # Why a shape read now is the shape since `at`
//! `information_schema` shows a table as the last DDL on it left it. The
//! shapes are read first, then the server's current binlog end `now`
//! (`SHOW MASTER STATUS`), then every statement event in `(at, now]` is
//! read (`SHOW BINLOG EVENTS`) and parsed for the tables it touches. If
//! none touches a table read (nor is one Sluice cannot read), no DDL
//! changed it between `at` and the moment its shape was read, which came
//! before `now`: the shape is the one every event after `at` was written
//! with, up to the next DDL the stream will show. Otherwise the first such
//! statement is returned and the caller stops: the shape between `at` and
//! that statement is not known.

use mysql_async::Conn;
use mysql_async::prelude::Queryable;

use super::{SchemaHistory, SchemaVersion, touches_index};
use crate::position::{BinlogFile, BinlogPosition};
use crate::source::ddl::{self, DdlKind};
use crate::source::shape::TableShape;
use crate::source::statement::first_keyword;

/// Events read per `SHOW BINLOG EVENTS` page.
const PAGE: usize = 1000;

/// A statement in the binlog that changed (or may have changed) a table
/// after the position a shape was needed for.
#[derive(Debug)]
pub struct LaterDdl {
    pub position: BinlogPosition,
    pub statement: String,
}

/// Read the shapes of `tables` and prove them valid after `at`; on
/// success they are added to `history` as versions at `at`.
pub async fn reread(
    conn: &mut Conn,
    history: &std::sync::Mutex<SchemaHistory>,
    tables: &[(String, String)],
    at: &BinlogPosition,
) -> Result<Result<(), LaterDdl>, String> {
    let mut shapes = Vec::with_capacity(tables.len());
    for (d, t) in tables {
        let shape = TableShape::load(conn, d, t)
            .await
            .map_err(|e| format!("reading the columns of {d}.{t} from information_schema: {e}"))?;
        shapes.push(shape);
    }
    let (now, _) = crate::source::server::master_status(conn).await?;
    if let Some(later) = first_ddl(conn, at, &now, tables).await? {
        return Ok(Err(later));
    }
    let mut h = history.lock().expect("history lock");
    for ((database, table), shape) in tables.iter().cloned().zip(shapes) {
        h.add(SchemaVersion {
            database,
            table,
            at: at.clone(),
            shape,
        });
    }
    Ok(Ok(()))
}

/// The first statement event in `(from, to]` that touches one of `tables`
/// or cannot be read.
pub async fn first_ddl(
    conn: &mut Conn,
    from: &BinlogPosition,
    to: &BinlogPosition,
    tables: &[(String, String)],
) -> Result<Option<LaterDdl>, String> {
    let files: Vec<String> = conn
        .query_map("SHOW BINARY LOGS", |row: mysql_async::Row| {
            row.get::<String, _>(0).unwrap_or_default()
        })
        .await
        .map_err(|e| format!("SHOW BINARY LOGS: {e}"))?;
    let mut file = from.file.clone();
    let mut pos = from.pos;
    loop {
        if file.index() > to.file.index() || (file.index() == to.file.index() && pos >= to.pos) {
            return Ok(None);
        }
        let sql = format!(
            "SHOW BINLOG EVENTS IN '{}' FROM {pos} LIMIT {PAGE}",
            file.name().replace('\\', "\\\\").replace('\'', "''")
        );
        let rows: Vec<mysql_async::Row> =
            conn.query(&sql).await.map_err(|e| format!("{sql}: {e}"))?;
        for row in &rows {
            let kind: String = row.get(2).unwrap_or_default();
            let end: u64 = row.get(4).unwrap_or(0);
            let info: String = row.get(5).unwrap_or_default();
            let at = BinlogPosition {
                file: file.clone(),
                pos: end,
            };
            if file.index() == to.file.index() && end > to.pos {
                return Ok(None);
            }
            if kind == "Query" && may_touch(&info, tables) {
                return Ok(Some(LaterDdl {
                    position: at,
                    statement: info,
                }));
            }
            pos = end;
        }
        if rows.len() < PAGE {
            // The rest of the file was read: on to the next one.
            let Some(next) = files
                .iter()
                .filter_map(|f| BinlogFile::new(f).ok())
                .find(|f| f.index() > file.index())
            else {
                return Ok(None);
            };
            file = next;
            pos = 4;
        }
    }
}

/// Whether a statement event's text (`use `db`; ALTER …`) is DDL that
/// touches one of `tables`, or one the parser cannot read.
fn may_touch(info: &str, tables: &[(String, String)]) -> bool {
    let (database, statement) = match info.strip_prefix("use `") {
        Some(rest) => match rest.split_once("`; ") {
            Some((db, s)) => (db.replace("``", "`"), s),
            None => (String::new(), info),
        },
        None => (String::new(), info),
    };
    match first_keyword(statement).as_str() {
        "BEGIN" | "COMMIT" | "ROLLBACK" | "SAVEPOINT" | "RELEASE" | "XA" | "INSERT" | "UPDATE"
        | "DELETE" | "REPLACE" | "LOAD" | "WITH" => return false,
        _ => {}
    }
    let ddl = ddl::parse(&database, statement);
    if !ddl.parsed || (ddl.kind == DdlKind::Other && touches_index(statement)) {
        return true;
    }
    ddl.tables.iter().any(|t| tables.contains(t))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_touch_the_tables_they_name() {
        let t = vec![("shop".to_owned(), "items".to_owned())];
        assert!(may_touch("use `shop`; ALTER TABLE items ADD c INT", &t));
        assert!(may_touch("use `other`; DROP TABLE shop.items", &t));
        assert!(!may_touch("use `other`; ALTER TABLE items ADD c INT", &t));
        assert!(!may_touch("BEGIN", &t));
        assert!(!may_touch("use `shop`; CREATE USER 'x'@'%'", &t));
        assert!(may_touch("use `shop`; FROBNICATE items", &t), "unreadable");
        assert!(may_touch("use `shop`; DROP INDEX `PRIMARY` ON items", &t));
    }
}
