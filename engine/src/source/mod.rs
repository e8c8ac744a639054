//! The binlog source: connect as a replica, decode, group into transactions.
//!
//! # Layout
//! * `server`: start-up checks of the server variables, the current binlog
//!   position, the collation table, opening the dump connection.
//! * `reader`: the event stream turned into [`Transaction`]s.
//! * `decode`: table maps and row images turned into typed values.
//! * `rows`: row images read straight from the event bytes.
//! * `ddl`: schema-change statements as events of their own.
//!
//! # Resumption
//! [`run`] starts at the position it is given (the oldest pipeline
//! checkpoint, or the configured start). After every complete transaction it
//! remembers that transaction's end position. A disconnect (error, a stream
//! the server ends, no heartbeat for three periods) drops the half-read
//! transaction and reconnects, with backoff, at the remembered position, so
//! no transaction is skipped. Transactions handed over before the
//! disconnect are not read again, so none is handed over twice. The one
//! exception is a large transaction handed over in pieces
//! (`change::Piece`): the remembered position only moves at its last
//! piece, so a disconnect in the middle hands it over again from its first
//! piece, and a pipeline that sees a first piece while it holds an
//! unfinished transaction rolls that one back.
//!
//! # Errors
//! A disconnect is transient and retried forever (counted in
//! `sluice_source_reconnects_total`). Anything the reader cannot decode is
//! definite: `run` returns it with the binlog position and the engine stops
//! loudly, rather than skip data.

mod compressed;
pub mod ddl;
mod decode;
mod facts;
pub mod history;
mod reader;
mod rows;
mod server;
pub mod shape;
pub mod snapshot;
pub mod sql;
mod statement;
pub mod table;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Semaphore, mpsc};

pub use decode::Collations;
pub(crate) use reader::Assembler;
pub use reader::BinlogReader;
pub use server::{Server, check_has_gtids, check_variables, has_row_metadata, unknown_auth_plugin};

use history::SchemaHistory;

use crate::backoff::Backoff;
use crate::config::SourceConfig;
use crate::metrics as m;
use crate::pipeline::Queued;
use crate::position::{BinlogPosition, GtidState, MysqlGtidSet};
use crate::shutdown::Shutdown;
use crate::status::Status;

/// A pipeline's queue, as the reader sees it.
pub struct Output {
    pub pipeline: String,
    pub tx: mpsc::Sender<Queued>,
    /// Bytes the pipeline may hold (queued or being applied); each
    /// transaction takes its rows-event bytes, at most the whole budget.
    pub budget: Arc<Semaphore>,
    /// The budget's size.
    pub budget_bytes: usize,
}

/// Where the dump connection starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReadFrom {
    Position(BinlogPosition),
    /// MariaDB: after this GTID (`@slave_connect_state`).
    Gtid(GtidState),
    /// MySQL: every transaction not in this set (`COM_BINLOG_DUMP_GTID`).
    MysqlGtids(MysqlGtidSet),
}

impl std::fmt::Display for ReadFrom {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadFrom::Position(p) => write!(f, "{p}"),
            ReadFrom::Gtid(g) => write!(f, "after GTID state {g}"),
            ReadFrom::MysqlGtids(g) => write!(f, "after MySQL GTID set {g}"),
        }
    }
}

/// Why the source stopped reading.
#[derive(Debug)]
pub enum SourceError {
    /// The connection is gone or the server is unresponsive: reconnect.
    Disconnected(String),
    /// Retrying cannot help: a bad event, a bad setting, a refused login.
    Definite {
        position: Option<BinlogPosition>,
        message: String,
    },
    /// The server cannot send the binlog asked for (error 1236), mostly
    /// because it was purged; `run` turns it into a definite error that
    /// names the position, the oldest binlog left and the way out.
    BinlogGone(String),
    /// The stream moved to another server of `[source] url` while a schema
    /// history keyed by the old server's positions decodes it: the engine
    /// starts the round again, which moves the checkpoints and the history
    /// (`history::rebase`).
    Moved(String),
}

impl SourceError {
    /// Classify a driver error: a server error is definite (bad binlog
    /// position, missing privilege), anything on the wire is a disconnect.
    pub fn from_mysql(e: mysql_async::Error) -> Self {
        match e {
            mysql_async::Error::Server(s)
                if s.code == crate::server_error::FATAL_READING_BINLOG =>
            {
                SourceError::BinlogGone(format!("{} (error {})", s.message, s.code))
            }
            mysql_async::Error::Server(s) if !crate::server_error::is_disconnect(s.code) => {
                SourceError::Definite {
                    position: None,
                    message: format!("source server refused: {} (error {})", s.message, s.code),
                }
            }
            other => SourceError::Disconnected(other.to_string()),
        }
    }
}

impl std::fmt::Display for SourceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SourceError::Disconnected(m) => write!(f, "source disconnected: {m}"),
            SourceError::BinlogGone(m) => write!(f, "the source cannot send the binlog: {m}"),
            SourceError::Moved(m) => write!(f, "the source moved to another server: {m}"),
            SourceError::Definite {
                position: Some(p),
                message,
            } => write!(f, "{message} (at binlog position {p})"),
            SourceError::Definite {
                position: None,
                message,
            } => f.write_str(message),
        }
    }
}

impl std::error::Error for SourceError {}

/// Read transactions from `from` on and send each to every receiver, until
/// shutdown or a definite error. Returns `Ok` only on shutdown. Reading
/// starts on server `first` of the list (the one the engine checked).
///
/// A receiver that is gone (its pipeline halted) is dropped from the list;
/// when none is left the source stops too.
///
/// # Following a promoted server
/// With several servers in `[source] url` and a read by MySQL GTID set, a
/// server that cannot be reached makes the next attempt go to the next
/// server of the list, round and round. The set names the same
/// transactions on every server of the topology, and opening the stream
/// refuses a server that lacks any of them (`check_has_gtids`), so the
/// move skips nothing; pipelines skip by GTID, so it repeats nothing. A
/// read by position never moves: a position means something on one server
/// only. A source decoded with a schema history stops with
/// [`SourceError::Moved`] instead of reading on, and the engine moves the
/// history first.
pub async fn run(
    config: SourceConfig,
    first: usize,
    from: ReadFrom,
    history: Option<Arc<std::sync::Mutex<SchemaHistory>>>,
    outputs: Vec<Output>,
    status: Arc<Status>,
    mut shutdown: Shutdown,
) -> Result<(), SourceError> {
    let servers: Vec<Server> = (0..config.servers())
        .map(|i| Server::new(&config.server(i)))
        .collect::<Result<_, _>>()?;
    // The server to open next, and the one the last stream came from.
    let (mut at, mut streamed) = (first % servers.len(), first % servers.len());
    let mut from = from;
    let mut outputs = outputs;
    let mut backoff = Backoff::default();
    let read_timeout = Duration::from_secs(config.heartbeat_secs * 3);
    status.set_heartbeat(config.heartbeat_secs);
    // Set while the source is unreachable: connection failures are logged
    // once per outage, not once per retry.
    let mut down_since: Option<std::time::Instant> = None;
    loop {
        let server = servers[at].clone();
        let open = tokio::time::timeout(
            server::CONNECT_TIMEOUT,
            server.open_stream(&from, config.server_id, config.heartbeat_secs, read_timeout),
        );
        let connected = tokio::select! {
            r = open => r.unwrap_or_else(|_| Err(SourceError::Disconnected("opening the binlog stream timed out".into()))),
            _ = shutdown.wait() => return Ok(()),
        };
        let mut reader = match connected {
            Ok(_) if at != streamed && history.is_some() => {
                return Err(SourceError::Moved(format!(
                    "server {} of [source] url, after server {} went away, reading {from}",
                    at + 1,
                    streamed + 1
                )));
            }
            Ok(mut r) => {
                if at != streamed {
                    tracing::warn!(server = at + 1, from = %from, "following the source to the next server of [source] url");
                    streamed = at;
                }
                r.report_to(status.clone());
                match &history {
                    Some(h) => r.with_history(h.clone(), server.clone()),
                    None => r,
                }
            }
            Err(SourceError::Disconnected(msg)) => {
                if servers.len() > 1 && matches!(from, ReadFrom::MysqlGtids(_)) {
                    at = (at + 1) % servers.len();
                }
                if down_since.is_none() {
                    tracing::warn!(error = %msg, "cannot connect to the source; retrying with backoff");
                    down_since = Some(std::time::Instant::now());
                } else {
                    tracing::debug!(error = %msg, retry_in = ?backoff.delay(), "source still unreachable");
                }
                if !backoff.wait(&mut shutdown).await {
                    return Ok(());
                }
                continue;
            }
            Err(SourceError::BinlogGone(m)) => return Err(binlog_gone(&server, &from, m).await),
            Err(e) => return Err(e),
        };
        m::source_connected(true);
        status.set_source_connected(true);
        match down_since.take() {
            Some(t) => {
                tracing::info!(from = %from, down_for = ?t.elapsed(), "source is back; reading the binlog")
            }
            None => tracing::info!(from = %from, "reading the binlog"),
        }
        let end = stream(
            &mut reader,
            &mut from,
            &mut outputs,
            &status,
            &mut shutdown,
            &mut backoff,
        )
        .await;
        m::source_connected(false);
        status.set_source_connected(false);
        match end {
            Ok(()) => return Ok(()),
            Err(SourceError::Disconnected(msg)) => {
                m::source_reconnect();
                tracing::warn!(error = %msg, resume_at = %from, "source disconnected; reconnecting");
                if !backoff.wait(&mut shutdown).await {
                    return Ok(());
                }
            }
            Err(SourceError::BinlogGone(m)) => return Err(binlog_gone(&server, &from, m).await),
            Err(e) => return Err(e),
        }
    }
}

/// The schema history a source without row metadata starts with: every
/// version the targets stored, and for each tracked table that exists and
/// that they do not cover at `from`, its shape read now and proven valid
/// since `from` (`history::reread`). A schema change on such a table
/// between `from` and now makes its shape at `from` unknown: a definite
/// error naming the statement.
pub async fn initial_history<'a>(
    conn: &mut mysql_async::Conn,
    tracked: Vec<crate::config::TablePattern>,
    stored: impl Iterator<Item = &'a Arc<history::SchemaVersion>>,
    from: Option<&BinlogPosition>,
) -> Result<SchemaHistory, SourceError> {
    let mut h = SchemaHistory::new(tracked);
    for v in stored {
        h.load((**v).clone());
    }
    let Some(start) = from else {
        return Err(SourceError::Definite {
            position: None,
            message: "the source writes no row metadata, so Sluice keeps a schema history, which needs a file:pos start (or a snapshot), not a GTID start".into(),
        });
    };
    let tables: Vec<(String, String)> = table::list_tables(conn)
        .await
        .map_err(SourceError::from_mysql)?
        .into_iter()
        .filter(|(d, t)| h.tracks(d, t) && !h.knows(d, t, start))
        .collect();
    if tables.is_empty() {
        return Ok(h);
    }
    let names = tables
        .iter()
        .map(|(d, t)| format!("{d}.{t}"))
        .collect::<Vec<_>>()
        .join(", ");
    let h = std::sync::Mutex::new(h);
    match history::reread::reread(conn, &h, &tables, start).await {
        Ok(Ok(())) => {
            tracing::info!(tables = %names, at = %start, "schema history: read the tables' columns from information_schema (the source writes no row metadata)");
            Ok(h.into_inner().expect("history lock"))
        }
        Ok(Err(later)) => Err(SourceError::Definite {
            position: Some(start.clone()),
            message: format!(
                "the source writes no row metadata, and Sluice cannot know the columns of {names} at the start position {start}: `{}` (ending at {}) changed them after it. Start from a position after that statement, or take a snapshot (snapshot = \"initial\"), which reads the columns where it starts (docs/operations.md#schema-history)",
                later.statement, later.position
            ),
        }),
        Err(e) => Err(SourceError::Disconnected(format!("schema history: {e}"))),
    }
}

/// The definite error for a binlog the server no longer has: the position
/// read from, the oldest binlog the server still has, and the way out.
/// Nothing past `from` was read, so nothing past it was applied.
async fn binlog_gone(server: &Server, from: &ReadFrom, why: String) -> SourceError {
    let oldest = match server.oldest_binlog().await {
        Ok(Some(f)) => format!("the oldest binlog it still has is {f}"),
        Ok(None) => "it lists no binlog".to_owned(),
        Err(e) => format!("its binlogs could not be listed ({e})"),
    };
    SourceError::Definite {
        position: match from {
            ReadFrom::Position(p) => Some(p.clone()),
            ReadFrom::Gtid(_) | ReadFrom::MysqlGtids(_) => None,
        },
        message: format!(
            "the source cannot send the binlog from the checkpoint {from} ({why}); {oldest}. \
             If the binlog was purged while sluice was stopped, the changes in between are gone from the source \
             and nothing after the checkpoint was applied. To start over, take a new snapshot: stop sluice, run \
             `sluice reset-checkpoint --config FILE --pipeline NAME` for each pipeline of this source, start it \
             with snapshot = \"initial\", then run `sluice verify --repair` (docs/operations.md#purged-binlog)"
        ),
    }
}

/// Pump one connection. `Ok(())` means shutdown (or no receiver left); it
/// never returns while the connection is healthy.
async fn stream(
    reader: &mut BinlogReader,
    from: &mut ReadFrom,
    outputs: &mut Vec<Output>,
    status: &Status,
    shutdown: &mut Shutdown,
    backoff: &mut Backoff,
) -> Result<(), SourceError> {
    loop {
        let txn = tokio::select! {
            t = reader.next_transaction() => t?,
            _ = shutdown.wait() => return Ok(()),
        };
        backoff.reset();
        let end = txn.end.clone();
        if txn.piece.last {
            // Before any pipeline can finish it (lag, status.rs).
            status.source_read(&end, txn.timestamp);
        }
        let txn = Arc::new(txn);
        let mut i = 0;
        while i < outputs.len() {
            let out = &outputs[i];
            let share = txn.bytes.clamp(1, out.budget_bytes) as u32;
            let permit = tokio::select! {
                p = out.budget.clone().acquire_many_owned(share) => p.expect("the budget is never closed"),
                _ = shutdown.wait() => return Ok(()),
            };
            let queued = Queued {
                txn: txn.clone(),
                permit,
            };
            let sent = tokio::select! {
                r = out.tx.send(queued) => r.is_ok(),
                _ = shutdown.wait() => return Ok(()),
            };
            if sent {
                m::queue_bytes(&outputs[i].pipeline, txn.bytes as f64);
                i += 1;
            } else {
                outputs.swap_remove(i);
            }
        }
        if outputs.is_empty() {
            return Ok(());
        }
        if txn.piece.last {
            match from {
                // Reading by GTID: the set grows by each transaction, so a
                // reconnect (to this server or another) asks for the rest.
                ReadFrom::MysqlGtids(set) if txn.mysql_gtid.is_some() => {
                    set.add(txn.mysql_gtid.expect("checked"))
                }
                ReadFrom::MysqlGtids(_) => *from = ReadFrom::Position(end),
                _ => *from = ReadFrom::Position(end),
            }
        }
    }
}
