//! Test plugin: keeps every row, but loops forever when a row's `name` is
//! `spin`. Proves the per-call deadline interrupts a runaway plugin.

use sluice::Row;

#[sluice::filter]
pub fn spin_on_marker(row: &Row) -> bool {
    if row.str("name") == Some("spin") {
        let mut x: u64 = 0;
        loop {
            x = std::hint::black_box(x.wrapping_add(1));
        }
    }
    true
}
