//! The MySQL/MariaDB target.
//!
//! Changes are applied by primary key: an insert is an upsert, an update
//! goes by its before-image key (deleting the old key first when the key
//! changed), a delete goes by key. Re-applying a change therefore leaves the
//! same row, and the checkpoint in the same transaction makes sure it is not
//! re-applied at all.

mod sql;
mod writer;

pub use writer::MysqlTarget;
