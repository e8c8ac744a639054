//! The two kinds of errors a pipeline meets.
//!
//! * **Transient**: the network or a server is down, a lock timed out. The
//!   work is retried with backoff from the last checkpoint; nothing is lost
//!   because nothing past the checkpoint was committed.
//! * **Definite**: retrying cannot help (a plugin trapped, the target rejects
//!   a row, an event cannot be decoded). The pipeline's `on_error` policy
//!   decides (`pipeline/policy.rs`): `halt` keeps the checkpoint before the
//!   change; `skip` drops the change, counted and logged; `dead_letter`
//!   stores it in the target's `sluice_dead_letter`, in the transaction of
//!   the checkpoint. A definite error outside a row change (an event that
//!   cannot be decoded) halts under every policy.
//!
//! Every error says where it happened: the binlog position and, when known,
//! the table.

use std::fmt;

use crate::position::BinlogPosition;

/// Whether retrying can help.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    Transient,
    Definite,
}

/// An error with its kind and where it happened.
#[derive(Debug)]
pub struct PipelineError {
    pub kind: ErrorKind,
    /// `db.table` the error concerns, when it concerns one.
    pub table: Option<String>,
    /// The end position of the transaction being processed.
    pub position: Option<BinlogPosition>,
    /// For a row the target rejected: (batch, row) index into what was
    /// being applied, so a policy can set that row aside and retry.
    pub row: Option<(usize, usize)>,
    pub message: String,
}

impl PipelineError {
    pub fn definite(message: impl Into<String>) -> Self {
        PipelineError {
            kind: ErrorKind::Definite,
            table: None,
            position: None,
            row: None,
            message: message.into(),
        }
    }

    /// Attach the table, unless one is already set.
    pub fn with_table(mut self, table: impl FnOnce() -> String) -> Self {
        if self.table.is_none() {
            self.table = Some(table());
        }
        self
    }

    /// Attach the position, unless one is already set.
    pub fn at(mut self, position: &BinlogPosition) -> Self {
        if self.position.is_none() {
            self.position = Some(position.clone());
        }
        self
    }

    pub fn is_transient(&self) -> bool {
        self.kind == ErrorKind::Transient
    }
}

impl fmt::Display for PipelineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(t) = &self.table {
            write!(f, " (table {t})")?;
        }
        if let Some(p) = &self.position {
            write!(f, " at binlog position {p}")?;
        }
        Ok(())
    }
}

impl std::error::Error for PipelineError {}
