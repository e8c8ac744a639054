//! Supply-chain example filter: keep products that are not discontinued.
//!
//! A product whose `status` becomes `discontinued` is rejected; the engine
//! turns that update into a delete, so it leaves the replica too. Rows of
//! tables without a `status` column pass.

use sluice::Row;

#[sluice::filter]
pub fn active_only(row: &Row) -> bool {
    row.str("status") != Some("discontinued")
}
