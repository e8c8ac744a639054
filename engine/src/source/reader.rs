//! Turns the binlog event stream into [`Transaction`]s.
//!
//! # Grouping
//! A transaction starts at a GTID event (MariaDB, MySQL) or a `BEGIN` query
//! and ends at an XID event or a `COMMIT` query. A DDL statement commits
//! implicitly: it ends the pending transaction (a standalone GTID plus the
//! statement makes an empty one). The end position of a transaction is the
//! `log_pos` of its last event, i.e. the offset of the next event; resuming
//! there never re-reads nor skips a transaction.
//!
//! # Unknown events stop the reader
//! Every event type is listed below as handled, as known and harmless, or it
//! is an error naming the type and the position. Statement-based DML
//! would otherwise be lost silently. Compressed events are inflated first:
//! MariaDB's (types 165-171) in `compressed`, MySQL 8's transaction payloads
//! (type 40) here, their inner events handled as if streamed.
//!
//! # Large transactions
//! Once the rows events of the transaction being assembled pass
//! [`FRAGMENT_BYTES`], what is decoded so far is handed over as a piece
//! (`change::Piece`) and the assembler goes on with an empty one, so
//! memory follows the fragment size, not the transaction size. A piece
//! ends after the rows event it was cut at, strictly inside the
//! transaction; only the last piece carries the transaction's end and
//! GTID. Events inside a MySQL transaction payload are not cut: the
//! payload is held whole in memory anyway.
//!
//! # Liveness
//! The server sends a heartbeat on an idle stream (`@master_heartbeat_period`);
//! a read that sees nothing for three heartbeats, or a stream the server
//! ends without an error (a restart does that), is a disconnect: the caller
//! reconnects from the last complete transaction.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{FutureExt, StreamExt};
use mysql_async::BinlogStream;
use mysql_async::binlog::events::{
    Event, EventData, RotateEvent, TableMapEvent, TransactionPayloadEvent,
};

use super::SourceError;
use super::decode::{Collations, TableDecoder};
use super::history::{Follow, SchemaHistory};
use crate::change::{TableChanges, Transaction};
use crate::metrics as m;
use crate::position::{BinlogFile, BinlogPosition, Gtid, MysqlGtid};

/// Event type codes (MySQL `Log_event_type` and MariaDB's extensions).
mod ty {
    pub const QUERY: u8 = 2;
    pub const STOP: u8 = 3;
    pub const ROTATE: u8 = 4;
    pub const INTVAR: u8 = 5;
    pub const RAND: u8 = 13;
    pub const USER_VAR: u8 = 14;
    pub const FORMAT_DESCRIPTION: u8 = 15;
    pub const XID: u8 = 16;
    pub const TABLE_MAP: u8 = 19;
    pub const WRITE_ROWS_V1: u8 = 23;
    pub const UPDATE_ROWS_V1: u8 = 24;
    pub const DELETE_ROWS_V1: u8 = 25;
    pub const HEARTBEAT: u8 = 27;
    pub const ROWS_QUERY: u8 = 29;
    pub const WRITE_ROWS: u8 = 30;
    pub const UPDATE_ROWS: u8 = 31;
    pub const DELETE_ROWS: u8 = 32;
    pub const GTID: u8 = 33;
    pub const ANONYMOUS_GTID: u8 = 34;
    pub const PREVIOUS_GTIDS: u8 = 35;
    pub const TRANSACTION_PAYLOAD: u8 = 40;
    pub const MARIA_ANNOTATE_ROWS: u8 = 160;
    pub const MARIA_BINLOG_CHECKPOINT: u8 = 161;
    pub const MARIA_GTID: u8 = 162;
    pub const MARIA_GTID_LIST: u8 = 163;
    pub const MARIA_START_ENCRYPTION: u8 = 164;
}

/// Rows-event bytes after which the transaction being assembled is handed
/// over as a piece. Decoded rows take about three times their binlog bytes,
/// and a pipeline's queue holds several pieces (`engine::QUEUE_BYTES`): a
/// million-row transaction peaked at 168 MiB RSS with 4 MiB pieces and
/// 142 MiB with 1 MiB pieces, applying at the same speed.
pub const FRAGMENT_BYTES: usize = 1 << 20;

/// Name of an event type, for metrics and messages.
fn type_name(t: u8) -> &'static str {
    match t {
        ty::QUERY => "query",
        ty::STOP => "stop",
        ty::ROTATE => "rotate",
        ty::INTVAR => "intvar",
        ty::RAND => "rand",
        ty::USER_VAR => "user_var",
        ty::FORMAT_DESCRIPTION => "format_description",
        ty::XID => "xid",
        ty::TABLE_MAP => "table_map",
        ty::WRITE_ROWS_V1 | ty::WRITE_ROWS => "write_rows",
        ty::UPDATE_ROWS_V1 | ty::UPDATE_ROWS => "update_rows",
        ty::DELETE_ROWS_V1 | ty::DELETE_ROWS => "delete_rows",
        ty::HEARTBEAT => "heartbeat",
        ty::ROWS_QUERY => "rows_query",
        ty::GTID | ty::ANONYMOUS_GTID | ty::MARIA_GTID => "gtid",
        ty::PREVIOUS_GTIDS | ty::MARIA_GTID_LIST => "gtid_list",
        ty::MARIA_ANNOTATE_ROWS => "annotate_rows",
        ty::MARIA_BINLOG_CHECKPOINT => "binlog_checkpoint",
        ty::MARIA_START_ENCRYPTION => "start_encryption",
        165..=171 => "mariadb_compressed",
        ty::TRANSACTION_PAYLOAD => "transaction_payload",
        _ => "other",
    }
}

/// The transaction being assembled.
#[derive(Default)]
struct Pending {
    changes: Vec<TableChanges>,
    ddl: Option<super::ddl::Ddl>,
    /// Bytes of the rows events read so far.
    bytes: usize,
    gtid: Option<Gtid>,
    mysql_gtid: Option<MysqlGtid>,
    /// Pieces already handed over.
    pieces: u32,
}

/// Reads one binlog stream and yields complete transactions.
pub struct BinlogReader {
    stream: BinlogStream,
    read_timeout: Duration,
    events: Assembler,
    status: Option<Arc<crate::status::Status>>,
    /// With a schema history: the server, to read shapes again.
    server: Option<super::Server>,
}

/// Turns events, in binlog order, into transactions; no I/O, so events made
/// from bytes can be fed to it as well as a live stream's.
pub struct Assembler {
    file: Option<BinlogFile>,
    /// End of the last event taken, for an event that cannot be parsed.
    last_end: u32,
    /// Per table id: its decoder and its table map.
    decoders: HashMap<u64, (TableDecoder, TableMapEvent<'static>)>,
    collations: Arc<Collations>,
    pending: Option<Pending>,
    /// Hand the pending transaction over in pieces of this many bytes.
    fragment_bytes: usize,
    /// On a source without row metadata: the shapes to decode with.
    history: Option<Arc<std::sync::Mutex<SchemaHistory>>>,
    /// Table ids of tables the history does not track: their rows are
    /// nobody's, and are not decoded.
    untracked: std::collections::HashSet<u64>,
}

impl BinlogReader {
    pub fn new(stream: BinlogStream, collations: Arc<Collations>, read_timeout: Duration) -> Self {
        BinlogReader {
            stream,
            read_timeout,
            events: Assembler::new(collations),
            status: None,
            server: None,
        }
    }

    /// Decode with a schema history, following its DDL (`history`).
    pub fn with_history(
        mut self,
        history: Arc<std::sync::Mutex<SchemaHistory>>,
        server: super::Server,
    ) -> Self {
        self.events = self.events.with_history(history);
        self.server = Some(server);
        self
    }

    /// Tell `status` each time the server sends anything, heartbeats
    /// included, for lag on an idle source.
    pub fn report_to(&mut self, status: Arc<crate::status::Status>) {
        self.status = Some(status);
    }

    /// The next complete transaction.
    pub async fn next_transaction(&mut self) -> Result<Transaction, SourceError> {
        loop {
            let next = std::panic::AssertUnwindSafe(self.stream.next()).catch_unwind();
            let ev = match tokio::time::timeout(self.read_timeout, next).await {
                Ok(Err(panic)) => return Err(self.events.unparsable(panic)),
                Ok(Ok(ev)) => Ok(ev),
                Err(e) => Err(e),
            };
            let ev = match ev {
                Err(_) => {
                    return Err(SourceError::Disconnected(format!(
                        "no event or heartbeat for {:?}; the server may be frozen",
                        self.read_timeout
                    )));
                }
                Ok(None) => {
                    return Err(SourceError::Disconnected(
                        "the server ended the binlog stream".into(),
                    ));
                }
                Ok(Some(Err(e))) => return Err(SourceError::from_mysql(e)),
                Ok(Some(Ok(ev))) => ev,
            };
            if let Some(status) = &self.status {
                status.heard_from_source();
            }
            if let Some(mut txn) = self.events.handle(ev)? {
                if let Some(history) = self.events.history.clone() {
                    self.follow(&history, &txn).await?;
                    txn.schema = history.lock().expect("history lock").take_fresh();
                }
                return Ok(txn);
            }
        }
    }
}

impl BinlogReader {
    /// Bring the history past a transaction's schema change before any
    /// later table map is decoded: from the statement, or read again and
    /// proven current (`history::reread`); else stop.
    async fn follow(
        &self,
        history: &std::sync::Mutex<SchemaHistory>,
        txn: &Transaction,
    ) -> Result<(), SourceError> {
        let Some(ddl) = &txn.ddl else {
            return Ok(());
        };
        let follow = history.lock().expect("history lock").follow(ddl, &txn.end);
        let Follow::Reread(tables) = follow else {
            return Ok(());
        };
        let definite = |message: String| SourceError::Definite {
            position: Some(txn.end.clone()),
            message,
        };
        let server = self
            .server
            .as_ref()
            .expect("a history comes with its server");
        let mut conn = server.connect().await?;
        let names = tables
            .iter()
            .map(|(d, t)| format!("{d}.{t}"))
            .collect::<Vec<_>>()
            .join(", ");
        match super::history::reread::reread(&mut conn, history, &tables, &txn.end).await {
            Ok(Ok(())) => {
                tracing::info!(tables = %names, statement = %ddl.statement, "schema history: read the tables again after a statement it does not compute");
                Ok(())
            }
            Ok(Err(later)) => Err(definite(format!(
                "the schema history cannot know the columns of {names} after `{}`: Sluice does not compute that statement's effect, and `{}` (ending at {}) changed the table again before Sluice read it, so information_schema no longer shows the shape in between. Sluice stops rather than guess (docs/operations.md#schema-history)",
                ddl.statement, later.statement, later.position
            ))),
            Err(e) => Err(SourceError::Disconnected(format!("schema history: {e}"))),
        }
    }
}

impl Assembler {
    pub fn new(collations: Arc<Collations>) -> Self {
        Assembler {
            file: None,
            last_end: 4,
            decoders: HashMap::new(),
            collations,
            pending: None,
            fragment_bytes: FRAGMENT_BYTES,
            history: None,
            untracked: Default::default(),
        }
    }

    /// Decode with the shapes of `history` (a source without row metadata).
    pub fn with_history(mut self, history: Arc<std::sync::Mutex<SchemaHistory>>) -> Self {
        self.history = Some(history);
        self
    }

    /// Cut transactions into pieces of `bytes` instead of [`FRAGMENT_BYTES`].
    #[cfg(test)]
    pub fn set_fragment_bytes(&mut self, bytes: usize) {
        self.fragment_bytes = bytes.max(1);
    }

    fn position(&self, pos: u32) -> Option<BinlogPosition> {
        self.file.clone().map(|file| BinlogPosition {
            file,
            pos: u64::from(pos),
        })
    }

    fn definite(&self, pos: u32, message: String) -> SourceError {
        SourceError::Definite {
            position: self.position(pos),
            message,
        }
    }

    /// The error for bytes the event parser (`mysql_common`) panicked on:
    /// it trusts an event's length field, so a malformed event from the
    /// server is a panic there (found by the `binlog` fuzz target). The
    /// panic is caught where the event is read and becomes this definite
    /// error, at the end of the last event that parsed.
    pub fn unparsable(&self, panic: Box<dyn std::any::Any + Send>) -> SourceError {
        let why = panic
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "no message".to_owned());
        SourceError::Definite {
            position: self.position(self.last_end),
            message: format!(
                "the source sent a binlog event that cannot be parsed (the event parser failed: {why}) after the event that ends here; check the server's binlog with mysqlbinlog at this position"
            ),
        }
    }

    /// Take the next event; a transaction when it completes one.
    pub fn handle(&mut self, ev: Event) -> Result<Option<Transaction>, SourceError> {
        self.handle_at(ev, None)
    }

    /// As `handle`; `at` overrides the event's own end position (events
    /// inside a transaction payload end where the payload ends).
    fn handle_at(
        &mut self,
        ev: Event,
        at: Option<u32>,
    ) -> Result<Option<Transaction>, SourceError> {
        let h = ev.header();
        let t = h.event_type_raw();
        let end = at.unwrap_or(h.log_pos());
        if end != 0 {
            self.last_end = end;
        }
        m::source_event(type_name(t), ev.data().len() as u64 + 19);
        let ev = if super::compressed::is_compressed(t) {
            super::compressed::expand(&ev)
                .map_err(|e| self.definite(end, format!("compressed binlog event type {t}: {e}")))?
        } else {
            ev
        };
        let h = ev.header();
        let t = h.event_type_raw();
        match t {
            ty::ROTATE => {
                let r: RotateEvent<'_> = ev.read_event().map_err(|e| self.definite(end, format!("rotate event: {e}")))?;
                let raw = r.name_raw();
                let parse = |b: &[u8]| std::str::from_utf8(b).ok().and_then(|n| BinlogFile::new(n).ok());
                // The first (fake) rotate is read before the format description,
                // so its 4 checksum bytes end up in the name: cut them off.
                let file = parse(raw).or_else(|| raw.len().checked_sub(4).and_then(|n| parse(&raw[..n])));
                let name = String::from_utf8_lossy(raw).into_owned();
                let file = file.ok_or_else(|| self.definite(end, format!("rotate event names binlog file `{name}`, which does not end in .<number>")))?;
                m::source_file(file.index());
                self.file = Some(file);
                Ok(None)
            }
            ty::FORMAT_DESCRIPTION
            | ty::HEARTBEAT
            | ty::STOP
            | ty::ROWS_QUERY
            | ty::PREVIOUS_GTIDS
            | ty::MARIA_ANNOTATE_ROWS
            | ty::MARIA_BINLOG_CHECKPOINT
            | ty::MARIA_GTID_LIST
            | ty::MARIA_START_ENCRYPTION
            // Context for a following statement; a statement-based DML
            // statement itself is refused below.
            | ty::INTVAR
            | ty::RAND
            | ty::USER_VAR => Ok(None),
            ty::MARIA_GTID => {
                // A standalone GTID (flag bit 0) precedes a DDL statement,
                // which ends the transaction itself (see `query`).
                let (gtid, _flags) = Gtid::from_mariadb_event(ev.data(), h.server_id()).map_err(|e| self.definite(end, e))?;
                self.pending = Some(Pending {
                    gtid: Some(gtid),
                    ..Pending::default()
                });
                Ok(None)
            }
            ty::GTID => {
                let gtid = MysqlGtid::from_event(ev.data()).map_err(|e| self.definite(end, e))?;
                self.pending = Some(Pending {
                    mysql_gtid: Some(gtid),
                    ..Pending::default()
                });
                Ok(None)
            }
            ty::ANONYMOUS_GTID => {
                self.pending = Some(Pending::default());
                Ok(None)
            }
            ty::QUERY => self.query(&ev, end, h.timestamp()),
            ty::TABLE_MAP => {
                let Some(EventData::TableMapEvent(tme)) = ev.read_data().map_err(|e| self.definite(end, format!("table map: {e}")))? else {
                    return Err(self.definite(end, "table map event did not parse".into()));
                };
                let id = tme.table_id();
                let fresh = self.decoders.get(&id).is_none_or(|(d, _)| !d.is_for(ev.data()));
                if fresh {
                    let shape = match &self.history {
                        None => None,
                        Some(h) => match self.shape(h, &tme, end)? {
                            Some(shape) => Some(shape),
                            None => {
                                self.decoders.remove(&id);
                                self.untracked.insert(id);
                                return Ok(None);
                            }
                        },
                    };
                    let d = TableDecoder::new(&tme, ev.data(), &self.collations, shape.as_ref()).map_err(|e| self.definite(end, e))?;
                    self.untracked.remove(&id);
                    self.decoders.insert(id, (d, tme.into_owned()));
                }
                Ok(None)
            }
            ty::WRITE_ROWS_V1 | ty::UPDATE_ROWS_V1 | ty::DELETE_ROWS_V1 | ty::WRITE_ROWS | ty::UPDATE_ROWS | ty::DELETE_ROWS => {
                self.rows(&ev, end)?;
                let large = self.pending.as_ref().is_some_and(|p| p.bytes >= self.fragment_bytes);
                if large && at.is_none() {
                    return Ok(Some(self.cut(end, h.timestamp())?));
                }
                Ok(None)
            }
            ty::XID => Ok(Some(self.finish(end, h.timestamp())?)),
            ty::TRANSACTION_PAYLOAD if at.is_none() => self.payload(&ev, end),
            other => Err(self.definite(
                end,
                format!(
                    "binlog event type {other} ({}) is not supported{}; Sluice stops rather than skip it",
                    type_name(other),
                    if at.is_some() { " inside a transaction payload" } else { "" },
                ),
            )),
        }
    }

    /// MySQL 8 `binlog_transaction_compression`: one event holds a whole
    /// transaction's events, zstd-compressed. They are inflated, checked to
    /// lie inside the payload, and handled in order as if streamed; they end
    /// where the payload event ends, and they carry no checksums.
    fn payload(&mut self, ev: &Event, end: u32) -> Result<Option<Transaction>, SourceError> {
        let position = self.position(end);
        let bad = |e: String| SourceError::Definite {
            position: position.clone(),
            message: format!("transaction payload: {e}"),
        };
        // mysql_common panics on an unknown compression type instead of
        // returning an error; that must stop us loudly, not kill the task.
        let parsed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            ev.read_event::<TransactionPayloadEvent<'_>>()
        }));
        let p = match parsed {
            Ok(Ok(p)) => p,
            Ok(Err(e)) => return Err(bad(e.to_string())),
            Err(_) => return Err(bad("unknown compression type".into())),
        };
        let mut events = Vec::new();
        p.decompressed()
            .and_then(|mut r| std::io::Read::read_to_end(&mut r, &mut events))
            .map_err(|e| bad(format!("cannot decompress: {e}")))?;
        let mut footer = ev.fde().footer();
        footer.set_checksum_enabled(false);
        let fde = ev.fde().clone().with_footer(footer);
        let mut done = None;
        let mut at = 0;
        while at < events.len() {
            let size = events
                .get(at + 9..at + 13)
                .map(|b| u32::from_le_bytes(b.try_into().expect("4 bytes")) as usize)
                .filter(|&n| n >= 19 && at + n <= events.len())
                .ok_or_else(|| bad(format!("truncated event at byte {at} of {}", events.len())))?;
            let inner =
                Event::read(&fde, &events[at..at + size]).map_err(|e| bad(e.to_string()))?;
            at += size;
            if let Some(t) = self.handle_at(inner, Some(end))? {
                if done.is_some() {
                    return Err(bad("more than one transaction in one payload".into()));
                }
                done = Some(t);
            }
        }
        Ok(done)
    }

    fn query(
        &mut self,
        ev: &Event,
        end: u32,
        timestamp: u32,
    ) -> Result<Option<Transaction>, SourceError> {
        let Some(EventData::QueryEvent(q)) = ev
            .read_data()
            .map_err(|e| self.definite(end, format!("query event: {e}")))?
        else {
            return Err(self.definite(end, "query event did not parse".into()));
        };
        let sql = q.query();
        let word = super::statement::first_keyword(&sql);
        match word.as_str() {
            "BEGIN" => {
                if self.pending.is_none() {
                    self.pending = Some(Pending::default());
                }
                Ok(None)
            }
            "COMMIT" | "ROLLBACK" => Ok(Some(self.finish(end, timestamp)?)),
            "SAVEPOINT" | "RELEASE" => Ok(None),
            "INSERT" | "UPDATE" | "DELETE" | "REPLACE" | "LOAD" | "WITH" => Err(self.definite(
                end,
                format!(
                    "statement-based change `{}` in the binlog; Sluice needs row events: set binlog_format=ROW (also per session)",
                    sql.chars().take(80).collect::<String>()
                ),
            )),
            "XA" => Err(self.definite(end, "XA transactions are not supported yet".into())),
            _ => {
                // DDL (or another statement that commits implicitly).
                let ddl = super::ddl::parse(&q.schema(), &sql);
                let shown: String = sql.chars().take(200).collect();
                if ddl.parsed {
                    tracing::info!(schema = %q.schema(), statement = %shown, "schema change in the binlog");
                } else {
                    m::source_ddl_unparsed();
                    tracing::warn!(schema = %q.schema(), statement = %shown, "a DDL statement Sluice does not understand; rows after it still decode from their table maps");
                }
                if self.history.is_some() {
                    // Table maps after a schema change decode with the
                    // history's new versions, never a cached decoder.
                    self.decoders.clear();
                    self.untracked.clear();
                }
                self.pending.get_or_insert_with(Pending::default).ddl = Some(ddl);
                Ok(Some(self.finish(end, timestamp)?))
            }
        }
    }

    /// The history's shape for a table map at `end`: `None` for a table
    /// the history does not track; an error when it tracks the table but
    /// has no shape for it there.
    fn shape(
        &self,
        history: &std::sync::Mutex<SchemaHistory>,
        tme: &TableMapEvent<'_>,
        end: u32,
    ) -> Result<Option<super::shape::TableShape>, SourceError> {
        let (d, t) = (tme.database_name(), tme.table_name());
        let h = history.lock().expect("history lock");
        if !h.tracks(&d, &t) {
            return Ok(None);
        }
        let at = self
            .position(end)
            .ok_or_else(|| self.definite(end, "a table map before any rotate event".into()))?;
        match h.at(&d, &t, &at) {
            Some(Some(shape)) => Ok(Some(shape.clone())),
            Some(None) => Err(self.definite(end, format!("a table map of {d}.{t}, which the schema history says does not exist at this position; a schema change Sluice did not see created it"))),
            None => Err(self.definite(end, format!("the schema history has no shape of {d}.{t} at this position (the source writes no row metadata, so Sluice needs one); it was created or renamed by a statement Sluice could not follow"))),
        }
    }

    fn rows(&mut self, ev: &Event, end: u32) -> Result<(), SourceError> {
        let Some(EventData::RowsEvent(rows)) = ev
            .read_data()
            .map_err(|e| self.definite(end, format!("rows event: {e}")))?
        else {
            return Err(self.definite(end, "rows event did not parse".into()));
        };
        let id = rows.table_id();
        if self.untracked.contains(&id) {
            return Ok(());
        }
        let Some((decoder, tme)) = self.decoders.get(&id) else {
            return Err(self.definite(
                end,
                format!("rows event for table id {id} without a table map"),
            ));
        };
        let pending = self.pending.get_or_insert_with(Pending::default);
        pending.bytes += ev.data().len();
        let same = pending
            .changes
            .last()
            .is_some_and(|c| Arc::ptr_eq(&c.schema, &decoder.schema));
        if !same {
            pending.changes.push(TableChanges {
                schema: decoder.schema.clone(),
                rows: Vec::new(),
            });
        }
        let run = pending.changes.last_mut().expect("just pushed");
        let before = run.rows.len();
        let result = decoder.decode_rows(&rows, tme, &mut run.rows);
        let (decoded, op) = (run.rows.len() - before, run.rows.get(before).map(|r| r.op));
        if let Err(message) = result {
            return Err(self.definite(end, message));
        }
        if let Some(op) = op {
            // One rows event holds one op; counted per event, not per row.
            m::source_rows(
                &decoder.schema.database,
                &decoder.schema.table,
                op,
                decoded as u64,
            );
        }
        Ok(())
    }

    fn finish(&mut self, end: u32, timestamp: u32) -> Result<Transaction, SourceError> {
        let pending = self.pending.take().unwrap_or_default();
        let end = self.end_position(end)?;
        m::source_offset(end.pos);
        Ok(Transaction {
            bytes: pending.bytes,
            ddl: pending.ddl,
            changes: pending.changes,
            end,
            gtid: pending.gtid,
            mysql_gtid: pending.mysql_gtid,
            timestamp,
            piece: crate::change::Piece {
                index: pending.pieces,
                last: true,
            },
            schema: Vec::new(),
        })
    }

    /// Hand over what the pending transaction decoded so far as a piece
    /// ending at `end`, and go on with the rest of it.
    fn cut(&mut self, end: u32, timestamp: u32) -> Result<Transaction, SourceError> {
        let end = self.end_position(end)?;
        let pending = self.pending.as_mut().expect("rows were just added");
        let piece = crate::change::Piece {
            index: pending.pieces,
            last: false,
        };
        pending.pieces += 1;
        if piece.index == 0 {
            m::source_large_transaction();
        }
        Ok(Transaction {
            bytes: std::mem::take(&mut pending.bytes),
            ddl: None,
            changes: std::mem::take(&mut pending.changes),
            end,
            gtid: None,
            mysql_gtid: None,
            timestamp,
            piece,
            schema: Vec::new(),
        })
    }

    fn end_position(&self, end: u32) -> Result<BinlogPosition, SourceError> {
        self.position(end).ok_or_else(|| {
            self.definite(
                end,
                "transaction ends before any rotate event named the file".into(),
            )
        })
    }
}

#[cfg(test)]
mod tests;
