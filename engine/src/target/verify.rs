//! The target's side of `sluice verify` (see `crate::verify` for the
//! walk over ranges and the lag-aware rechecks).
//!
//! A target that can verify says how a range of keys is compared: it
//! computes a [`Digest`] of the source's rows and one of its own rows, and
//! the two are equal exactly when the rows are (up to a 64-bit hash
//! collision). The target chooses how, because only it knows what the two
//! sides can compute alike: a MySQL target runs the same checksum SQL on
//! both servers; a PostgreSQL target cannot share an expression with
//! MySQL, so it reads both sides' rows in key order and hashes them in the
//! engine, the same way, a bounded range at a time.

use mysql_async::Conn;

use crate::change::Value;
use crate::source::Server;
use crate::source::table::SqlTable;

/// Source keys `(after, upto]`; `None` is open at that end.
#[derive(Clone, Debug)]
pub struct KeyRange {
    pub after: Option<Vec<Value>>,
    pub upto: Option<Vec<Value>>,
}

/// A range's row count and a 64-bit digest of its rows.
pub type Digest = (u64, u64);

/// What a repair changed.
#[derive(Debug, Default)]
pub struct Repaired {
    pub deleted: usize,
    pub written: usize,
}

/// Comparing and repairing a range of one table.
#[allow(async_fn_in_trait)]
pub trait RangeVerify {
    /// The digest of the source rows of `range`, read on `source` (which
    /// may be a consistent read), as they would be in `target_table`.
    async fn source_digest(
        &mut self,
        source: &mut Conn,
        table: &SqlTable,
        target_table: &str,
        range: &KeyRange,
    ) -> Result<Digest, String>;

    /// The digest of the rows of `range` in `target_table`, comparable
    /// with [`RangeVerify::source_digest`].
    async fn target_digest(
        &mut self,
        table: &SqlTable,
        target_table: &str,
        range: &KeyRange,
    ) -> Result<Digest, String>;

    /// The first keys of `range` that differ, for the report (empty when
    /// none is found).
    async fn first_differences(
        &mut self,
        server: &Server,
        table: &SqlTable,
        target_table: &str,
        range: &KeyRange,
    ) -> Result<String, String>;

    /// Make `range` of `target_table` equal the source without undoing
    /// newer changes of the engine (each kind argues why in its module).
    async fn repair_range(
        &mut self,
        pipeline: &str,
        target_table: &str,
        table: &SqlTable,
        server: &Server,
        range: &KeyRange,
    ) -> Result<Repaired, String>;
}

/// `verifier!(self, method(args))`: the method of the kind's target.
macro_rules! verifier {
    ($self:expr, $method:ident($($arg:expr),*)) => {
        match $self {
            #[cfg(feature = "target-mysql")]
            super::AnyTarget::Mysql(t) => t.$method($($arg),*).await,
            #[cfg(feature = "target-postgres")]
            super::AnyTarget::Postgres(t) => t.$method($($arg),*).await,
        }
    };
}

impl RangeVerify for super::AnyTarget {
    async fn source_digest(
        &mut self,
        source: &mut Conn,
        table: &SqlTable,
        target_table: &str,
        range: &KeyRange,
    ) -> Result<Digest, String> {
        verifier!(self, source_digest(source, table, target_table, range))
    }

    async fn target_digest(
        &mut self,
        table: &SqlTable,
        target_table: &str,
        range: &KeyRange,
    ) -> Result<Digest, String> {
        verifier!(self, target_digest(table, target_table, range))
    }

    async fn first_differences(
        &mut self,
        server: &Server,
        table: &SqlTable,
        target_table: &str,
        range: &KeyRange,
    ) -> Result<String, String> {
        verifier!(self, first_differences(server, table, target_table, range))
    }

    async fn repair_range(
        &mut self,
        pipeline: &str,
        target_table: &str,
        table: &SqlTable,
        server: &Server,
        range: &KeyRange,
    ) -> Result<Repaired, String> {
        verifier!(
            self,
            repair_range(pipeline, target_table, table, server, range)
        )
    }
}
