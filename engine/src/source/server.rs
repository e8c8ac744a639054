//! Talking to the source server outside the event stream: start-up checks,
//! the current position, the collation table and the dump connection.

use std::sync::Arc;
use std::time::Duration;

use mysql_async::prelude::Queryable;
use std::path::PathBuf;

use mysql_async::{BinlogStreamRequest, Conn, Opts, OptsBuilder, SslOpts};
use mysql_common::packets::{GnoInterval, Sid};

use super::decode::Collations;
use super::reader::BinlogReader;
use super::{ReadFrom, SourceError};
use crate::config::{SourceConfig, Tls};
use crate::position::{BinlogFile, BinlogPosition, MysqlGtidSet};

/// The server variables row-based CDC needs, with the value each must have.
const REQUIRED: [(&str, &str); 4] = [
    ("log_bin", "ON"),
    ("binlog_format", "ROW"),
    ("binlog_row_image", "FULL"),
    ("binlog_row_metadata", "FULL"),
];

/// Check that the server writes a binlog the engine can use. Returns every
/// problem at once, each naming the variable and the value to set.
pub async fn check_variables(conn: &mut Conn) -> Result<Vec<String>, mysql_async::Error> {
    let rows: Vec<(String, String)> = conn
        .query(
            "SHOW GLOBAL VARIABLES WHERE Variable_name IN \
             ('log_bin', 'binlog_format', 'binlog_row_image', 'binlog_row_metadata')",
        )
        .await?;
    let mut problems = Vec::new();
    for (name, want) in REQUIRED {
        match rows.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)) {
            Some((_, v)) if v.eq_ignore_ascii_case(want) => {}
            Some((_, v)) => problems.push(format!(
                "source variable {name} is {v}, but Sluice needs {name}={want}: set it in the server config ([mysqld] {name}={want}) and restart{}",
                if name == "log_bin" { "" } else { ", or SET GLOBAL it" }
            )),
            // MySQL 5.7 and MariaDB before 10.5 write no row metadata:
            // Sluice keeps a schema history instead (`history`).
            None if name == "binlog_row_metadata" => {}
            None => problems.push(format!(
                "source server has no variable {name}; Sluice needs {name}={want}"
            )),
        }
    }
    Ok(problems)
}

/// Whether the server writes column names into its table maps
/// (`binlog_row_metadata` exists; `check_variables` makes sure it is FULL).
/// Without, the source decodes with a schema history.
pub async fn has_row_metadata(conn: &mut Conn) -> Result<bool, mysql_async::Error> {
    let rows: Vec<(String, String)> = conn
        .query("SHOW GLOBAL VARIABLES LIKE 'binlog_row_metadata'")
        .await?;
    Ok(!rows.is_empty())
}

/// The server's binlog end and, on MySQL with GTIDs, its executed GTID
/// set at that end: one `SHOW MASTER STATUS` row, so the two agree.
pub async fn master_status(conn: &mut Conn) -> Result<(BinlogPosition, MysqlGtidSet), String> {
    let row: Option<mysql_async::Row> = match conn.query_first("SHOW MASTER STATUS").await {
        Ok(r) => r,
        // MySQL 8.4 renamed it.
        Err(_) => conn
            .query_first("SHOW BINARY LOG STATUS")
            .await
            .map_err(|e| format!("SHOW MASTER STATUS: {e}"))?,
    };
    let row =
        row.ok_or("SHOW MASTER STATUS returned nothing: the source has no binlog (set log_bin)")?;
    let file: String = row.get(0).unwrap_or_default();
    let pos: u64 = row.get(1).unwrap_or_default();
    // MariaDB has no fifth column.
    let set = match row.get_opt::<Option<String>, _>(4) {
        Some(Ok(Some(s))) if !s.trim().is_empty() => s
            .replace('\n', "")
            .parse::<MysqlGtidSet>()
            .map_err(|e| format!("SHOW MASTER STATUS Executed_Gtid_Set: {e}"))?,
        _ => MysqlGtidSet::default(),
    };
    Ok((
        BinlogPosition {
            file: BinlogFile::new(&file)?,
            pos,
        },
        set,
    ))
}

/// Refuse a server that has not executed every transaction of `set` (a
/// replica behind the primary Sluice read from): reading from it would
/// wait for transactions that are not there, or, once they are written
/// anew, copy different ones under the same GTIDs.
pub async fn check_has_gtids(conn: &mut Conn, set: &MysqlGtidSet) -> Result<(), SourceError> {
    let row: Option<(String, String)> = conn
        .exec_first(
            "SELECT @@GLOBAL.gtid_executed, GTID_SUBTRACT(?, @@GLOBAL.gtid_executed)",
            (set.to_string(),),
        )
        .await
        .map_err(SourceError::from_mysql)?;
    let (executed, missing) = row.unwrap_or_default();
    let missing = missing.replace('\n', "");
    if missing.trim().is_empty() {
        return Ok(());
    }
    Err(SourceError::Definite {
        position: None,
        message: format!(
            "the source server has not executed every transaction Sluice already copied: Sluice's checkpoint holds {set}, the server's gtid_executed is {}, so {missing} are missing there. Point [source] url at a server that has them (the old primary, or a replica that caught up); reading from this one would lose or mix up changes",
            executed.replace('\n', "")
        ),
    })
}

/// The message for an account whose authentication plugin the MySQL
/// driver (mysql_async) does not speak, with the way out.
pub fn unknown_auth_plugin(side: &str, name: &str) -> String {
    format!(
        "cannot log in to the {side}: its account authenticates with the plugin {name}, which Sluice's MySQL driver does not speak \
         (it speaks mysql_native_password, and caching_sha2_password over TLS or over plain TCP with the server's RSA key). \
         Change the account, e.g. ALTER USER 'sluice'@'%' IDENTIFIED WITH mysql_native_password BY '...'"
    )
}

/// How long connecting (and setting up a dump) may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The source server, as configured.
#[derive(Clone)]
pub struct Server {
    opts: Opts,
    /// Whether `[source] tls` asks for TLS, for the hint on a refused login.
    tls: bool,
}

impl Server {
    /// The first binlog `SHOW BINARY LOGS` lists: the oldest the server
    /// still has.
    pub async fn oldest_binlog(&self) -> Result<Option<String>, SourceError> {
        let mut conn = self.connect().await?;
        let first: Option<mysql_async::Row> = conn
            .query_first("SHOW BINARY LOGS")
            .await
            .map_err(SourceError::from_mysql)?;
        Ok(first.and_then(|r| r.get::<String, _>(0)))
    }

    pub fn new(config: &SourceConfig) -> Result<Self, SourceError> {
        let opts = Opts::from_url(&config.url).map_err(|e| SourceError::Definite {
            position: None,
            message: format!("source.url: {e}"),
        })?;
        let ssl = |ca: &Option<PathBuf>| {
            let ssl = SslOpts::default();
            match ca {
                Some(ca) => ssl
                    .with_root_certs(vec![ca.clone().into()])
                    .with_disable_built_in_roots(true),
                None => ssl,
            }
        };
        let ssl = match &config.tls {
            Tls::Off => None,
            Tls::Required => Some(
                SslOpts::default()
                    .with_danger_accept_invalid_certs(true)
                    .with_danger_skip_domain_validation(true),
            ),
            Tls::VerifyCa { ca } => Some(ssl(ca).with_danger_skip_domain_validation(true)),
            Tls::VerifyIdentity { ca } => Some(ssl(ca)),
        };
        let tls = ssl.is_some();
        let opts = match ssl {
            Some(ssl) => OptsBuilder::from_opts(opts).ssl_opts(ssl).into(),
            None => opts,
        };
        Ok(Server { opts, tls })
    }

    /// A plain SQL connection. A server that accepts the TCP connection but
    /// never answers (frozen) counts as a disconnect after [`CONNECT_TIMEOUT`].
    pub async fn connect(&self) -> Result<Conn, SourceError> {
        let conn = tokio::time::timeout(CONNECT_TIMEOUT, Conn::new(self.opts.clone()))
            .await
            .map_err(|_| {
                SourceError::Disconnected(format!(
                    "the source did not answer within {CONNECT_TIMEOUT:?}"
                ))
            })?;
        conn.map_err(|e| match e {
            mysql_async::Error::Server(s) => SourceError::Definite {
                position: None,
                message: format!(
                    "cannot log in to the source: {} (error {}){}",
                    s.message,
                    s.code,
                    if self.tls {
                        ""
                    } else {
                        "; if the server requires secure transport, set [source] tls (see configuration.md)"
                    }
                ),
            },
            // Retrying cannot help an account whose plugin the driver
            // does not speak (MySQL 5.7's sha256_password).
            mysql_async::Error::Driver(mysql_async::DriverError::UnknownAuthPlugin { name }) => {
                SourceError::Definite {
                    position: None,
                    message: unknown_auth_plugin("source", &name),
                }
            }
            other => SourceError::Disconnected(format!("cannot connect to the source: {other}")),
        })
    }

    /// The end of the binlog right now.
    pub async fn current_position(&self) -> Result<(BinlogPosition, MysqlGtidSet), SourceError> {
        let mut conn = self.connect().await?;
        master_status(&mut conn)
            .await
            .map_err(|message| SourceError::Definite {
                position: None,
                message,
            })
    }

    /// Open a dump connection at `from` and wrap it in a reader.
    pub async fn open_stream(
        &self,
        from: &ReadFrom,
        server_id: u32,
        heartbeat_secs: u64,
        read_timeout: Duration,
    ) -> Result<BinlogReader, SourceError> {
        let mut conn = self.connect().await?;
        let problems = check_variables(&mut conn)
            .await
            .map_err(SourceError::from_mysql)?;
        if !problems.is_empty() {
            return Err(SourceError::Definite {
                position: None,
                message: problems.join("; "),
            });
        }
        let collations: Vec<(u16, String)> = conn
            .query("SELECT ID, CHARACTER_SET_NAME FROM information_schema.COLLATIONS WHERE ID IS NOT NULL AND CHARACTER_SET_NAME IS NOT NULL")
            .await
            .map_err(SourceError::from_mysql)?;
        let collations = Arc::new(Collations::new(collations));
        // MariaDB: ask for GTID and annotate events (capability 4 = MARIA_SLAVE_CAPABILITY_GTID).
        conn.query_drop("SET @mariadb_slave_capability = 4")
            .await
            .map_err(SourceError::from_mysql)?;
        conn.query_drop(format!(
            "SET @master_heartbeat_period = {}",
            heartbeat_secs * 1_000_000_000
        ))
        .await
        .map_err(SourceError::from_mysql)?;
        let request = BinlogStreamRequest::new(server_id);
        let stream = match from {
            ReadFrom::Position(p) => {
                let name = p.file.name().as_bytes().to_vec();
                let req = request.with_filename(&name).with_pos(p.pos);
                conn.get_binlog_stream(req).await
            }
            ReadFrom::MysqlGtids(set) => {
                check_has_gtids(&mut conn, set).await?;
                let sids: Vec<Sid<'static>> = set
                    .intervals()
                    .map(|(uuid, iv)| {
                        Sid::new(*uuid).with_intervals(
                            iv.iter()
                                .map(|&(a, b)| GnoInterval::new(a, b + 1))
                                .collect(),
                        )
                    })
                    .collect();
                conn.get_binlog_stream(request.with_gtid().with_gtid_set(sids).with_pos(4u64))
                    .await
            }
            ReadFrom::Gtid(g) => {
                conn.exec_drop("SET @slave_connect_state = ?", (g.to_string(),))
                    .await
                    .map_err(SourceError::from_mysql)?;
                conn.query_drop("SET @slave_gtid_strict_mode = 0")
                    .await
                    .map_err(SourceError::from_mysql)?;
                conn.get_binlog_stream(request.with_pos(4u64)).await
            }
        }
        .map_err(SourceError::from_mysql)?;
        Ok(BinlogReader::new(stream, collations, read_timeout))
    }
}
