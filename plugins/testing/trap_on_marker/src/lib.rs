//! Test plugin: keeps every row, but panics (traps) when a row's `name` is
//! `boom`. The end-to-end tests use it to prove that a trapping plugin halts
//! its pipeline without moving the checkpoint past the change.

use sluice::Row;

#[sluice::filter]
pub fn trap_on_marker(row: &Row) -> bool {
    if row.str("name") == Some("boom") {
        panic!("found the marker row");
    }
    true
}
