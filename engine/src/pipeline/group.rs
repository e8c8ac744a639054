//! A group: consecutive whole source transactions gathered for one target
//! transaction (see the module doc, # Group commit).

use super::*;

/// Source transactions gathered for one target transaction.
pub(super) struct Group {
    pub(super) routed: Vec<Routed>,
    pub(super) dead: Vec<DeadLetter>,
    pub(super) rows_in: u64,
    /// Rows after the plugins.
    pub(super) rows: usize,
    /// Binlog bytes of the gathered transactions.
    pub(super) bytes: usize,
    /// Each transaction's checkpoint and timestamp, in order.
    pub(super) ends: Vec<(Checkpoint, u32)>,
    /// The transactions' shares of the queue's byte budget, returned when
    /// the group is applied: a group's memory counts against the budget.
    pub(super) held: Vec<OwnedSemaphorePermit>,
    pub(super) started: Instant,
}

impl Group {
    pub(super) fn new() -> Self {
        Group {
            routed: Vec::new(),
            dead: Vec::new(),
            rows_in: 0,
            rows: 0,
            bytes: 0,
            ends: Vec::new(),
            held: Vec::new(),
            started: Instant::now(),
        }
    }

    /// Keep only the transactions that end before `end`; returns the new
    /// last checkpoint, or `None` when none is left.
    pub(super) fn before(&mut self, end: &BinlogPosition) -> Option<Checkpoint> {
        self.routed.retain(|r| r.end < *end);
        self.dead.retain(|d| d.position < *end);
        self.ends.retain(|(cp, _)| cp.position < *end);
        self.ends.last().map(|(cp, _)| cp.clone())
    }

    /// Rows to write after the plugins and any rows set aside.
    pub(super) fn rows_out(&self) -> u64 {
        self.routed.iter().map(|r| r.rows.len() as u64).sum()
    }

    pub(super) fn full(&self, limits: &GroupLimits) -> bool {
        self.rows >= limits.rows
            || self.bytes >= limits.bytes
            || self.started.elapsed() >= limits.time
    }
}
