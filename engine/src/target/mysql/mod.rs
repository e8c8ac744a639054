//! The MySQL/MariaDB target.
//!
//! Changes are applied by primary key: an insert is an upsert, an update
//! goes by its before-image key (deleting the old key first when the key
//! changed), a delete goes by key. Re-applying a change therefore leaves the
//! same row, and the checkpoint in the same transaction makes sure it is not
//! re-applied at all.
//!
//! A group of source transactions is one target transaction: per target
//! table, its changes are planned into multi-row statements (`plan`), then
//! the dead letters and the checkpoint are written, then COMMIT. When the
//! target rejects a batch, the group is rolled back and written again row by
//! row, which finds the row for the pipeline's `on_error`.
//!
//! One connection per pipeline: in the end-to-end benchmark it applies the
//! catch-up workload at 0.83 of the raw insert ceiling of the same target
//! (docs/benchmarks.md), so applying tables in parallel on several
//! connections, which would need a checkpoint per connection to stay
//! exact, is not built.

pub mod config;
mod ddl;
mod repair;
mod sql;
mod store;
mod target;
mod verify;
mod writer;

pub use config::MysqlConfig;
pub use writer::MysqlTarget;
