//! Targets: where a pipeline's changes are applied.
//!
//! A target is one folder (`target/<kind>/`), switched on by a Cargo feature.
//! Every target implements the small [`Target`] trait; each method must be
//! implemented, so a target cannot silently ignore a checkpoint.
//!
//! # Exactly-once
//! `apply` writes the changes of a group of whole source transactions *and*
//! the pipeline's checkpoint (the last transaction's end position) in one
//! target transaction.
//! Either both are durable or neither is. On start, and after any failure
//! whose outcome is unknown (a lost commit reply), the pipeline reads the
//! checkpoint back and skips every transaction that ends at or before it.
//!
//! A source transaction too large to hold is applied in pieces
//! (`apply_part`), all in one target transaction that the last piece's
//! `apply` commits with the checkpoint; the same rule holds, because only
//! that commit makes any of it durable.

//!
//! # The seam
//! Everything that differs between kinds lives in the kind's folder: its
//! config section ([`TargetConfig`]), its writer and its store of progress
//! (checkpoint, snapshot segments, dead letters). This file is the only
//! one outside those folders that names a kind: [`parse_config`] and
//! [`build`] dispatch on it, and [`AnyTarget`] forwards every [`Target`]
//! method. The pipeline, the snapshot, `verify` and `check` ask a target
//! for its [`Capabilities`], never for its kind.
//!
//! Adding a kind: a folder with `config.rs` (struct, `KEYS`, `parse`), a
//! type implementing [`Target`] (and [`RangeVerify`] if it can verify), a
//! Cargo feature, and one arm in each match below.

#[cfg(feature = "target-mysql")]
pub mod mysql;
mod plan;
#[cfg(feature = "target-postgres")]
pub mod postgres;
mod verify;

use std::sync::Arc;

pub use verify::{Digest, KeyRange, RangeVerify, Repaired};

use crate::change::{Ddl, Op, RowChange, TableSchema, Value};
use crate::config::{DdlPolicy, OnError, PipelineConfig, Section, SnapshotMode};
use crate::error::PipelineError;
use crate::position::{BinlogPosition, GtidState, MysqlGtidSet};
use crate::source::history::SchemaVersion;
pub use crate::source::table::TableDef;

/// A `[targets.NAME]` section, by kind.
#[derive(Clone, Debug, PartialEq)]
pub enum TargetConfig {
    #[cfg(feature = "target-mysql")]
    Mysql(mysql::MysqlConfig),
    #[cfg(feature = "target-postgres")]
    Postgres(postgres::PostgresConfig),
}

impl TargetConfig {
    /// The kind, as the config spells it (for messages).
    pub fn kind(&self) -> &'static str {
        match self {
            #[cfg(feature = "target-mysql")]
            TargetConfig::Mysql(_) => "mysql",
            #[cfg(feature = "target-postgres")]
            TargetConfig::Postgres(_) => "postgres",
        }
    }
}

/// The kinds this build knows, as `kind = "..."` spells them.
pub const KINDS: &[&str] = &[
    #[cfg(feature = "target-mysql")]
    "mysql",
    #[cfg(feature = "target-postgres")]
    "postgres",
];

/// The keys each kind's section accepts (docs/configuration.md lists them).
pub const KEYS: &[(&str, &[&str])] = &[
    #[cfg(feature = "target-mysql")]
    ("mysql", mysql::config::KEYS),
    #[cfg(feature = "target-postgres")]
    ("postgres", postgres::config::KEYS),
];

/// Parse a target section of `kind`: `None` for a kind this build does not
/// have, `Some(None)` when the section has mistakes (reported in `s`).
pub(crate) fn parse_config(
    kind: &str,
    s: &mut Section<'_, '_, '_>,
) -> Option<Option<TargetConfig>> {
    match kind {
        #[cfg(feature = "target-mysql")]
        "mysql" => Some(mysql::config::parse(s).map(TargetConfig::Mysql)),
        #[cfg(feature = "target-postgres")]
        "postgres" => Some(postgres::config::parse(s).map(TargetConfig::Postgres)),
        _ => None,
    }
}

/// The one way the engine makes a target: `name` is its config name.
pub fn build(name: &str, config: &TargetConfig) -> Result<AnyTarget, PipelineError> {
    match config {
        #[cfg(feature = "target-mysql")]
        TargetConfig::Mysql(c) => {
            mysql::MysqlTarget::new(name, &c.url).map(|t| AnyTarget::Mysql(Box::new(t)))
        }
        #[cfg(feature = "target-postgres")]
        TargetConfig::Postgres(c) => {
            postgres::PostgresTarget::new(name, c).map(|t| AnyTarget::Postgres(Box::new(t)))
        }
    }
}

/// What a target can do. Every field is a promise the pipeline relies on;
/// a pipeline whose settings need one the target lacks is refused at start
/// and by `sluice check` ([`unsupported`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Capabilities {
    /// The changes and the checkpoint commit in one target transaction
    /// (exactly-once).
    pub atomic_checkpoint: bool,
    /// A large source transaction can go in pieces into one target
    /// transaction left open between calls (`apply_part`).
    pub open_transaction: bool,
    /// The schema changes it follows under `ddl = "apply"`.
    pub ddl: DdlSupport,
    /// It stores dead letters in the transaction of their checkpoint.
    pub dead_letters: bool,
    /// It stores snapshot segments in the transaction of their rows.
    pub snapshot_progress: bool,
    /// `sluice verify` can compare it with the source ([`RangeVerify`]).
    pub verify: bool,
}

/// How much DDL a target can follow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DdlSupport {
    /// None: `ddl = "apply"` is refused.
    None,
    /// The statement itself, names mapped (a target of the source's dialect).
    Statement,
    /// ADD/DROP/RENAME COLUMN and CREATE/DROP/RENAME/TRUNCATE TABLE,
    /// translated; anything else halts the pipeline.
    Translated,
}

/// Why `pipeline`'s settings need more than `caps` offers, one line each.
pub fn unsupported(pipeline: &PipelineConfig, kind: &str, caps: Capabilities) -> Vec<String> {
    let mut out = Vec::new();
    let mut need = |ok: bool, what: &str, fix: &str| {
        if !ok {
            out.push(format!(
                "pipeline `{}`: target `{}` (kind {kind}) cannot {what}; {fix}",
                pipeline.name, pipeline.target
            ));
        }
    };
    need(
        caps.atomic_checkpoint && caps.open_transaction,
        "commit a checkpoint with its changes",
        "use a target kind that can",
    );
    need(
        pipeline.ddl != DdlPolicy::Apply || caps.ddl != DdlSupport::None,
        "follow schema changes",
        "set ddl = \"ignore\" or \"halt\"",
    );
    need(
        pipeline.on_error != OnError::DeadLetter || caps.dead_letters,
        "store dead letters",
        "set on_error = \"halt\" or \"skip\"",
    );
    need(
        pipeline.snapshot != SnapshotMode::Initial || caps.snapshot_progress,
        "record snapshot progress",
        "set snapshot = \"never\"",
    );
    out
}

/// A pipeline's durable progress: the end of the last applied transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    pub position: BinlogPosition,
    /// The GTID state after the last applied transaction (empty when the
    /// source sends no MariaDB GTIDs).
    pub gtid: GtidState,
    /// MySQL: every GTID executed up to `position` (empty when the source
    /// has no GTIDs). Stored in the same column as `gtid`: the two forms
    /// cannot be mistaken (`0-1-42` against `uuid:1-42`).
    pub gtid_set: MysqlGtidSet,
    /// Schema history versions to store with this checkpoint (written by
    /// the transaction that stores it, each once); read back by
    /// `Target::checkpoint` as every version stored for the pipeline.
    pub schema: Vec<Arc<SchemaVersion>>,
    /// The stored versions are dropped before `schema` is stored, in the
    /// same transaction: the history moved to another server's positions
    /// (`source::history::rebase`).
    pub replace_schema: bool,
}

impl Checkpoint {
    /// The exactly-once rule, in one place: a transaction (or a piece of
    /// one) that ends at or before the checkpoint is already in the target.
    pub fn covers(&self, end: &BinlogPosition) -> bool {
        *end <= self.position
    }

    /// The text stored for the GTIDs: the MySQL set, else the MariaDB
    /// state; `None` when the source sends neither.
    pub(crate) fn gtid_text(&self) -> Option<String> {
        if !self.gtid_set.is_empty() {
            Some(self.gtid_set.to_string())
        } else {
            (!self.gtid.is_empty()).then(|| self.gtid.to_string())
        }
    }
}

/// The GTIDs of a stored checkpoint, read back from `Checkpoint::gtid_text`.
pub(crate) fn parse_gtids(text: Option<&str>) -> Result<(GtidState, MysqlGtidSet), String> {
    match text {
        None => Ok(Default::default()),
        Some(t) if MysqlGtidSet::looks_like(t) => Ok((GtidState::default(), t.parse()?)),
        Some(t) => Ok((t.parse()?, MysqlGtidSet::default())),
    }
}

impl Checkpoint {
    /// A checkpoint at `position` without GTIDs or schema versions.
    pub fn at(position: BinlogPosition) -> Checkpoint {
        Checkpoint {
            position,
            gtid: GtidState::default(),
            gtid_set: MysqlGtidSet::default(),
            schema: Vec::new(),
            replace_schema: false,
        }
    }
}

/// One stretch of a source table that the initial snapshot copied from one
/// consistent read of the source. A table copied without interruption is
/// one segment; each restart during its copy starts the next one, read at
/// a later position. Segment `seq` holds the keys after the previous
/// segment's `upto`, up to its own `upto` (the last segment of a finished
/// table: every key after). Streaming applies a change to a key only when
/// the change ends after its segment's `position` (see `pipeline::window`).
#[derive(Clone, Debug, PartialEq)]
pub struct Segment {
    pub database: String,
    pub table: String,
    pub seq: u32,
    /// The binlog position of the consistent read the rows were copied at.
    pub position: BinlogPosition,
    /// The source primary key of the last row copied; `None` before the
    /// first row.
    pub upto: Option<Vec<Value>>,
    /// Rows copied in this segment (read from the source).
    pub rows: u64,
    /// The table is copied completely (set on its last segment).
    pub done: bool,
}

/// A change set aside by the `dead-letter` policy, stored in the target with
/// the checkpoint of its transaction.
#[derive(Clone, Debug)]
pub struct DeadLetter {
    /// `db.table` of the source row.
    pub source_table: String,
    pub op: Op,
    /// The change as JSON: `{"op", "before": {column: value}, "after": ...}`.
    pub change: String,
    pub error: String,
    /// End position of the source transaction the change was in.
    pub position: BinlogPosition,
}

/// Changes to one target table, ready to apply.
#[derive(Debug)]
pub struct Routed {
    /// Target table, `table` or `db.table`.
    pub table: String,
    pub schema: Arc<TableSchema>,
    pub rows: Vec<RowChange>,
    /// End position of the source transaction the rows are from.
    pub end: BinlogPosition,
}

/// A schema change on tables a pipeline copies, to follow on the target.
#[derive(Debug)]
pub struct SchemaChange<'a> {
    pub ddl: &'a Ddl,
    /// The target table of each of `ddl.tables`, by the pipeline's
    /// `target_table` template.
    pub targets: Vec<String>,
    /// Whether the pipeline copies each of `ddl.tables`.
    pub matched: Vec<bool>,
}

/// Something a pipeline applies changes to.
#[allow(async_fn_in_trait)]
pub trait Target {
    /// What this target can do (see [`Capabilities`]).
    fn capabilities(&self) -> Capabilities;

    /// Prepare the target (create the checkpoint table) and check it is
    /// reachable.
    async fn prepare(&mut self) -> Result<(), PipelineError>;

    /// Of the tables a plain-copy pipeline writes (target table name and
    /// the source table's definition), one line for each the target lacks,
    /// saying what to do. With `create`, a target whose config asks for it
    /// first creates the missing ones from the definitions (and logs the
    /// statements); without, it reports none of those (they would be
    /// created), so `sluice check` changes nothing.
    async fn missing_tables(
        &mut self,
        tables: &[(String, TableDef)],
        create: bool,
    ) -> Result<Vec<String>, PipelineError>;

    /// The pipeline's checkpoint, if it has one.
    async fn checkpoint(&mut self, pipeline: &str) -> Result<Option<Checkpoint>, PipelineError>;

    /// Apply `changes`, store `dead` letters and store `checkpoint` for
    /// `pipeline`, atomically. A rejected row is reported with its (batch,
    /// row) index in [`PipelineError::row`].
    async fn apply(
        &mut self,
        pipeline: &str,
        changes: &[Routed],
        dead: &[DeadLetter],
        checkpoint: &Checkpoint,
    ) -> Result<(), PipelineError>;

    /// Apply one piece of a large source transaction (not the last) and
    /// its `dead` letters inside the target transaction that stays open
    /// for the next pieces; the first call opens it, and `apply` of the
    /// last piece commits it with the checkpoint. A rejected row is
    /// reported as in `apply`, with the open transaction back where it was
    /// before this piece. A transient error means the open transaction is
    /// lost: the pieces must be applied again from the first.
    async fn apply_part(
        &mut self,
        pipeline: &str,
        changes: &[Routed],
        dead: &[DeadLetter],
    ) -> Result<(), PipelineError>;

    /// Roll back the open transaction of `apply_part`, if any.
    async fn abandon(&mut self);

    /// Follow a schema change, then store `checkpoint` (the statement's end
    /// position). DDL cannot share a transaction with the checkpoint, so a
    /// target must accept the statement a second time (after a crash
    /// between the two) without failing.
    async fn apply_ddl(
        &mut self,
        pipeline: &str,
        change: &SchemaChange<'_>,
        checkpoint: &Checkpoint,
    ) -> Result<(), PipelineError>;

    /// The snapshot segments recorded for `pipeline`, ordered by table and
    /// `seq`.
    async fn snapshot_progress(&mut self, pipeline: &str) -> Result<Vec<Segment>, PipelineError>;

    /// Apply a chunk of snapshot rows and `dead` letters, and record
    /// `segment` (its new `upto`, `rows` and `done`), atomically.
    async fn apply_chunk(
        &mut self,
        pipeline: &str,
        changes: &[Routed],
        dead: &[DeadLetter],
        segment: &Segment,
    ) -> Result<(), PipelineError>;

    /// Drop `pipeline`'s snapshot segments: streaming has passed them all.
    async fn forget_snapshot(&mut self, pipeline: &str) -> Result<(), PipelineError>;

    /// Drop `pipeline`'s checkpoint and snapshot progress in one
    /// transaction, so its next start copies the tables again
    /// (`sluice reset-checkpoint`, the way out of a purged binlog).
    async fn forget_checkpoint(&mut self, pipeline: &str) -> Result<(), PipelineError>;
}

/// A schema history version as a target stores it: the position it starts
/// after, and the shape as JSON (`null`: the table does not exist).
pub(crate) fn schema_version(
    database: String,
    table: String,
    file: &str,
    pos: u64,
    shape: &str,
) -> Result<Arc<SchemaVersion>, String> {
    let at = BinlogPosition {
        file: crate::position::BinlogFile::new(file)?,
        pos,
    };
    let shape = serde_json::from_str(shape)
        .map_err(|e| format!("schema history row of {database}.{table} at {at}: {e}"))?;
    Ok(Arc::new(SchemaVersion {
        database,
        table,
        at,
        shape,
    }))
}

/// The bookkeeping row a target transaction writes with its changes.
#[derive(Clone, Copy)]
pub(crate) enum Record<'a> {
    /// Streaming: the pipeline's checkpoint.
    Checkpoint(&'a Checkpoint),
    /// Snapshot: the progress of the segment being copied.
    Segment(&'a Segment),
}

/// The key of a row, for messages.
pub(crate) fn describe_row(r: &Routed, row: &RowChange) -> String {
    let image = row.current().or(row.before.as_ref()).or(row.after.as_ref());
    let key: Vec<String> = r
        .schema
        .key
        .iter()
        .map(|&k| {
            let v = image.map_or(&Value::Null, |img| &img[k]);
            format!("{}={}", r.schema.columns[k], short(v))
        })
        .collect();
    format!(
        "{} row ({}) in {}",
        row.op.as_str(),
        key.join(", "),
        r.table
    )
}

fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.len() > 60 {
        format!("{}…", &s[..s.floor_char_boundary(60)])
    } else {
        s
    }
}

/// Rows per op written into a target transaction that has not committed
/// yet. They are counted in the metrics only when it commits, so a
/// transaction rolled back and written again counts once.
#[derive(Debug, Default)]
pub(crate) struct Uncommitted([u64; 3]);

impl Uncommitted {
    /// Add the rows of `changes`; with `committed`, count everything added
    /// so far (and the transaction) for target `name`, and start again.
    pub fn add(&mut self, name: &str, changes: &[Routed], committed: bool) {
        for row in changes.iter().flat_map(|r| &r.rows) {
            self.0[row.op as usize] += 1;
        }
        if !committed {
            return;
        }
        crate::metrics::target_transaction(name);
        let counts = std::mem::take(&mut self.0);
        for (op, n) in [Op::Insert, Op::Update, Op::Delete].into_iter().zip(counts) {
            if n > 0 {
                crate::metrics::target_rows(name, op, n);
            }
        }
    }

    /// Forget what was added: the transaction rolled back.
    pub fn clear(&mut self) {
        self.0 = [0; 3];
    }
}

/// A primary key in the cell encoding (typed, so it reads back exactly).
pub(crate) fn encode_key(key: &[Value]) -> Vec<u8> {
    let mut enc = sluice_cell::Encoder::new();
    for v in key {
        enc.push(v.as_cell());
    }
    enc.finish()
}

pub(crate) fn decode_key(bytes: &[u8]) -> Result<Vec<Value>, String> {
    let mut dec = sluice_cell::Decoder::new(bytes).map_err(|e| format!("key: {e}"))?;
    let mut out = Vec::new();
    while let Some(c) = dec.next_cell().map_err(|e| format!("key: {e}"))? {
        out.push(c.to_value());
    }
    Ok(out)
}

/// A target of any kind this build has, as [`build`] makes it. Every
/// method forwards to the kind's own.
pub enum AnyTarget {
    #[cfg(feature = "target-mysql")]
    Mysql(Box<mysql::MysqlTarget>),
    #[cfg(feature = "target-postgres")]
    Postgres(Box<postgres::PostgresTarget>),
}

/// `each!(self, t => expr)`: `expr` with `t` bound to the kind's target.
macro_rules! each {
    ($self:expr, $t:ident => $e:expr) => {
        match $self {
            #[cfg(feature = "target-mysql")]
            AnyTarget::Mysql($t) => $e,
            #[cfg(feature = "target-postgres")]
            AnyTarget::Postgres($t) => $e,
        }
    };
}

impl Target for AnyTarget {
    fn capabilities(&self) -> Capabilities {
        each!(self, t => t.capabilities())
    }

    async fn prepare(&mut self) -> Result<(), PipelineError> {
        each!(self, t => t.prepare().await)
    }

    async fn checkpoint(&mut self, pipeline: &str) -> Result<Option<Checkpoint>, PipelineError> {
        each!(self, t => t.checkpoint(pipeline).await)
    }

    async fn missing_tables(
        &mut self,
        tables: &[(String, TableDef)],
        create: bool,
    ) -> Result<Vec<String>, PipelineError> {
        each!(self, t => t.missing_tables(tables, create).await)
    }

    async fn apply(
        &mut self,
        pipeline: &str,
        changes: &[Routed],
        dead: &[DeadLetter],
        checkpoint: &Checkpoint,
    ) -> Result<(), PipelineError> {
        each!(self, t => t.apply(pipeline, changes, dead, checkpoint).await)
    }

    async fn apply_part(
        &mut self,
        pipeline: &str,
        changes: &[Routed],
        dead: &[DeadLetter],
    ) -> Result<(), PipelineError> {
        each!(self, t => t.apply_part(pipeline, changes, dead).await)
    }

    async fn abandon(&mut self) {
        each!(self, t => t.abandon().await)
    }

    async fn apply_ddl(
        &mut self,
        pipeline: &str,
        change: &SchemaChange<'_>,
        checkpoint: &Checkpoint,
    ) -> Result<(), PipelineError> {
        each!(self, t => t.apply_ddl(pipeline, change, checkpoint).await)
    }

    async fn snapshot_progress(&mut self, pipeline: &str) -> Result<Vec<Segment>, PipelineError> {
        each!(self, t => t.snapshot_progress(pipeline).await)
    }

    async fn apply_chunk(
        &mut self,
        pipeline: &str,
        changes: &[Routed],
        dead: &[DeadLetter],
        segment: &Segment,
    ) -> Result<(), PipelineError> {
        each!(self, t => t.apply_chunk(pipeline, changes, dead, segment).await)
    }

    async fn forget_snapshot(&mut self, pipeline: &str) -> Result<(), PipelineError> {
        each!(self, t => t.forget_snapshot(pipeline).await)
    }

    async fn forget_checkpoint(&mut self, pipeline: &str) -> Result<(), PipelineError> {
        each!(self, t => t.forget_checkpoint(pipeline).await)
    }
}
