//! The record model that flows from the source to the targets.
//!
//! A [`Transaction`] is everything one source transaction changed, grouped in
//! runs of consecutive changes to the same table ([`TableChanges`]), and the
//! position it ends at. Plugins see one run at a time as a batch; targets
//! apply a whole transaction atomically together with its end position.
//! A transaction too large to hold is handed over in [`Piece`]s, which a
//! pipeline applies in one open target transaction.

use std::sync::Arc;

pub use sluice_cell::Value;

use crate::position::{BinlogPosition, Gtid, MysqlGtid};

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
    pub ddl: Option<crate::source::ddl::Ddl>,
    /// Which piece of its source transaction this is ([`Piece`]).
    pub piece: Piece,
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
