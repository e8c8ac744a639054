//! The record model that flows from the source to the targets.
//!
//! A [`Transaction`] is everything one source transaction changed, grouped in
//! runs of consecutive changes to the same table ([`TableChanges`]), and the
//! position it ends at. Plugins see one run at a time as a batch; targets
//! apply a whole transaction atomically together with its end position.
//! A transaction too large to hold is handed over in [`Piece`]s, which a
//! pipeline applies in one open target transaction.

use std::ops::Range;
use std::sync::Arc;

pub use sluice_cell::Value;

use crate::position::{BinlogPosition, Gtid, MysqlGtid};
use crate::source::history::SchemaVersion;

/// What happened to a row.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Op {
    Insert,
    Update,
    Delete,
}

impl Op {
    /// Lower-case name, used as a metric label.
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Insert => "insert",
            Op::Update => "update",
            Op::Delete => "delete",
        }
    }
}

/// The shape of the rows in a [`TableChanges`]: where they come from, their
/// columns and primary key, and (after a mapper) where they go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableSchema {
    pub database: String,
    pub table: String,
    /// Column names in row order.
    pub columns: Vec<String>,
    /// Indexes into `columns` of the primary key, in key order. Empty when
    /// the table has none.
    pub key: Vec<usize>,
    /// Set by a mapper's `set-target-table`; overrides the pipeline's
    /// `target_table` template.
    pub target_table: Option<String>,
}

/// One row change. `before` is present for updates and deletes, `after` for
/// inserts and updates; each holds one value per schema column.
#[derive(Clone, Debug, PartialEq)]
pub struct RowChange {
    pub op: Op,
    pub before: Option<Vec<Value>>,
    pub after: Option<Vec<Value>>,
}

impl RowChange {
    /// The image a filter judges and a delete goes by: after for inserts and
    /// updates, before for deletes.
    pub fn current(&self) -> Option<&Vec<Value>> {
        match self.op {
            Op::Delete => self.before.as_ref(),
            Op::Insert | Op::Update => self.after.as_ref(),
        }
    }
}

/// Consecutive changes to one table inside a transaction.
#[derive(Clone, Debug, PartialEq)]
pub struct TableChanges {
    pub schema: Arc<TableSchema>,
    pub rows: Vec<RowChange>,
}

/// One source transaction: every row change between BEGIN and XID/COMMIT,
/// and the position right after its last event.
#[derive(Clone, Debug, PartialEq)]
pub struct Transaction {
    pub changes: Vec<TableChanges>,
    /// The position after the transaction's last event: resuming here reads
    /// the next transaction.
    pub end: BinlogPosition,
    /// The MariaDB GTID of the transaction, when the server sent one.
    pub gtid: Option<Gtid>,
    /// The MySQL GTID of the transaction, when the server sent one.
    pub mysql_gtid: Option<MysqlGtid>,
    /// Server timestamp of the transaction's last event (seconds since the
    /// epoch), for lag.
    pub timestamp: u32,
    /// Bytes of the rows events the transaction was read from: a cheap,
    /// proportional measure of its size, for queue accounting.
    pub bytes: usize,
    /// The schema change this transaction is, if it is one.
    pub ddl: Option<Ddl>,
    /// Which piece of its source transaction this is ([`Piece`]).
    pub piece: Piece,
    /// Schema history versions made since the previous transaction (only
    /// on a source without row metadata): the targets store them with the
    /// checkpoint that passes them (`source::history`).
    pub schema: Vec<Arc<SchemaVersion>>,
}

impl Transaction {
    /// Whether this is a whole source transaction, not one piece of a
    /// large one.
    pub fn is_whole(&self) -> bool {
        self.piece == Piece::WHOLE
    }
}

/// A source transaction larger than the reader's fragment size is handed
/// over in pieces, so it is never held whole in memory. Pieces come in
/// order, `index` 0 first; only the `last` carries the GTID and ends where
/// the transaction ends. A piece that is not the last ends (its `end`) at
/// the event it was cut after, which lies strictly inside the transaction:
/// a checkpoint, always a transaction's end, is at or after a piece's
/// `end` exactly when it is at or after the whole transaction's end, so the
/// "skip what ends at or before the checkpoint" rule holds for pieces too.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Piece {
    pub index: u32,
    pub last: bool,
}

impl Piece {
    /// A transaction handed over whole.
    pub const WHOLE: Piece = Piece {
        index: 0,
        last: true,
    };
}

/// What a DDL statement does, as far as replication cares.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DdlKind {
    CreateTable,
    AlterTable,
    DropTable,
    RenameTable,
    TruncateTable,
    /// CREATE/DROP INDEX, and statements that touch no table (CREATE
    /// DATABASE, GRANT, ...): nothing for a table copy to follow.
    Other,
}

/// A DDL statement from the binlog.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ddl {
    /// The default database the statement ran in.
    pub database: String,
    pub statement: String,
    pub kind: DdlKind,
    /// `(database, table)` of every table it touches, in statement order
    /// (for RENAME: old, new, old, new...). Empty when not understood.
    pub tables: Vec<(String, String)>,
    /// Where each of `tables` is named in `statement` (byte ranges, the
    /// `db.` prefix included), so a target can map the names.
    pub spans: Vec<Range<usize>>,
    /// Whether the parser understood the statement.
    pub parsed: bool,
}

impl Ddl {
    /// The statement with every table name replaced by `name(i)`, where `i`
    /// indexes `tables`.
    pub fn renamed(&self, name: impl Fn(usize) -> String) -> String {
        let mut out = self.statement.clone();
        let mut order: Vec<usize> = (0..self.spans.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(self.spans[i].start));
        for i in order {
            out.replace_range(self.spans[i].clone(), &name(i));
        }
        out
    }
}

/// A change as JSON (the dead-letter table, `sluice plugin test`): `op`,
/// and `before`/`after` mapping column names to values (text as strings,
/// bytes as 0x-hex, temporals as text, DECIMAL exact).
pub fn change_json(schema: &TableSchema, row: &RowChange) -> serde_json::Value {
    use serde_json::{Map, Value as J};
    let image = |img: &Option<Vec<Value>>| -> J {
        match img {
            None => J::Null,
            Some(values) => J::Object(
                schema
                    .columns
                    .iter()
                    .zip(values)
                    .map(|(c, v)| {
                        let j = match v {
                            Value::Null => J::Null,
                            Value::Int(i) => J::from(*i),
                            Value::UInt(u) => J::from(*u),
                            Value::Double(f) => J::from(*f),
                            Value::Float(f) => J::from(f64::from(*f)),
                            Value::Text(s) | Value::Decimal(s) | Value::Json(s) => {
                                J::String(s.clone())
                            }
                            other => J::String(other.to_string().trim_matches('\'').to_owned()),
                        };
                        (c.clone(), j)
                    })
                    .collect::<Map<_, _>>(),
            ),
        }
    };
    serde_json::json!({ "op": row.op.as_str(), "before": image(&row.before), "after": image(&row.after) })
}
