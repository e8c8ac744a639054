//! Test plugin: keeps every row, but tries to allocate 1 GiB when a row's
//! `name` is `hog`. Proves the memory cap stops it.

use sluice::Row;

#[sluice::filter]
pub fn hog_on_marker(row: &Row) -> bool {
    if row.str("name") == Some("hog") {
        let big = vec![1u8; 1 << 30];
        return std::hint::black_box(big).len() > 1;
    }
    true
}
