//! The PostgreSQL target.
//!
//! # Exactly-once
//! As for MySQL: a group of whole source transactions is one PostgreSQL
//! transaction that also upserts the pipeline's row in `sluice_checkpoint`
//! (`store`); both commit or neither does. On start, and after a failure
//! whose outcome is unknown (a lost reply to COMMIT), the pipeline reads
//! the checkpoint back and skips what it already holds.
//!
//! # Failure
//! A statement that fails aborts the PostgreSQL transaction; the writer
//! rolls it back (or drops the connection, which rolls it back too), so
//! nothing of a failed apply stays. A rejected batch is written again row
//! by row in a new transaction to find the row for the pipeline's policy.
//!
//! # Large transactions
//! The pieces of a large source transaction go into one transaction left
//! open between calls; each piece starts at `SAVEPOINT sluice_piece`. A
//! piece the server rejects is rolled back to it (PostgreSQL keeps the
//! pieces before, and the transaction usable), written again row by row to
//! name the row, and the pipeline sets the row aside and writes the piece
//! again. A broken connection loses the whole open transaction, which the
//! transient error says; the pipeline then reads it again from its start.
//!
//! # Time zones
//! TIMESTAMP values are sent with an explicit `+00` offset into
//! `timestamptz`, DATETIME values without one into `timestamp`: neither
//! depends on the session's or the server's `TimeZone`. The session still
//! runs in UTC so that verify reads `timestamptz` back as UTC.

mod apply;
pub mod config;
mod ddl;
mod sql;
mod store;
mod types;
mod verify;

use std::collections::HashMap;
use std::sync::Arc;

use tokio_postgres::Client;
use tokio_postgres::config::SslMode;

use crate::error::{ErrorKind, PipelineError};
use crate::metrics as m;
use crate::target::{
    Capabilities, Checkpoint, DdlSupport, DeadLetter, Record, Routed, SchemaChange, Segment,
    TableDef, Target, Uncommitted,
};

pub use config::PostgresConfig;
use sql::{Shape, TableSql};

/// A target table as the writer knows it: where it is, and how each of its
/// columns wants its values (`sql::Shape`).
#[derive(Debug)]
pub(super) struct PgTable {
    pub schema: String,
    pub name: String,
    /// Column name to its shape, from the catalog.
    pub shapes: HashMap<String, Shape>,
    /// Column name to its type (`pg_type.typname`), for verify.
    pub types: HashMap<String, String>,
    /// No unique index besides the primary key: changes may be collapsed
    /// by key (`target::plan`).
    pub collapse: bool,
}

/// One table's statements for one column list, with their shapes.
#[derive(Debug)]
pub(super) struct Prepared {
    pub sql: TableSql,
    pub table: Arc<PgTable>,
    /// The shape of each column, in the routed rows' column order.
    pub shapes: Vec<Shape>,
    /// Prepared upserts and deletes by power-of-two row count.
    pub upserts: Vec<Option<tokio_postgres::Statement>>,
    pub deletes: Vec<Option<tokio_postgres::Statement>>,
}

/// A PostgreSQL target connection.
pub struct PostgresTarget {
    /// The target's name in the config, for metrics and messages.
    name: String,
    config: PostgresConfig,
    pg: tokio_postgres::Config,
    client: Option<Client>,
    /// Per target table (as routed).
    tables: HashMap<String, Arc<PgTable>>,
    /// Statements per (target table, column list); prepared on `client`,
    /// so dropped with it.
    prepared: HashMap<(String, Vec<String>), usize>,
    statements: Vec<Prepared>,
    /// A large transaction's pieces are open on `client`.
    open: bool,
    /// Rows per op written into the open transaction, counted when it
    /// commits.
    open_rows: Uncommitted,
}

impl PostgresTarget {
    pub fn new(name: &str, config: &PostgresConfig) -> Result<Self, PipelineError> {
        let pg = config::url_check(&config.url)
            .map_err(|m| PipelineError::definite(format!("targets.{name}.url: {m}")))?;
        Ok(PostgresTarget {
            name: name.to_owned(),
            config: config.clone(),
            pg,
            client: None,
            tables: HashMap::new(),
            prepared: HashMap::new(),
            statements: Vec::new(),
            open: false,
            open_rows: Uncommitted::default(),
        })
    }

    /// A target error with its kind, counted in the metrics.
    pub(super) fn error(
        &self,
        e: &tokio_postgres::Error,
        what: impl FnOnce() -> String,
    ) -> PipelineError {
        let kind = sql::classify(e);
        m::target_error(
            &self.name,
            if kind == ErrorKind::Transient {
                "transient"
            } else {
                "definite"
            },
        );
        // The server's detail and hint say which value or constraint.
        let detail = match e.as_db_error() {
            Some(db) => {
                let mut s = format!("{} (SQLSTATE {})", db.message(), db.code().code());
                if let Some(d) = db.detail() {
                    s.push_str(&format!("; {d}"));
                }
                if let Some(h) = db.hint() {
                    s.push_str(&format!("; hint: {h}"));
                }
                s
            }
            None => {
                let mut s = e.to_string();
                if let Some(src) = std::error::Error::source(e) {
                    s.push_str(&format!(": {src}"));
                }
                s
            }
        };
        PipelineError {
            kind,
            table: None,
            position: None,
            row: None,
            message: format!("target `{}`: {}: {detail}", self.name, what()),
        }
    }

    /// The connection, made when there is none (or it broke).
    pub(super) async fn client(&mut self) -> Result<&Client, PipelineError> {
        if self.client.as_ref().is_some_and(Client::is_closed) {
            self.drop_client();
        }
        if self.client.is_none() {
            let client = self.connect().await?;
            self.client = Some(client);
        }
        Ok(self.client.as_ref().expect("connected above"))
    }

    async fn connect(&self) -> Result<Client, PipelineError> {
        let fail = |e: tokio_postgres::Error| self.error(&e, || "cannot connect".into());
        let name = self.name.clone();
        let client = if self.pg.get_ssl_mode() == SslMode::Require {
            let tls = self.tls()?;
            let (client, conn) = self.pg.connect(tls).await.map_err(fail)?;
            tokio::spawn(async move {
                if let Err(e) = conn.await {
                    tracing::debug!(target_name = %name, error = %e, "PostgreSQL connection ended");
                }
            });
            client
        } else {
            let (client, conn) = self.pg.connect(tokio_postgres::NoTls).await.map_err(fail)?;
            tokio::spawn(async move {
                if let Err(e) = conn.await {
                    tracing::debug!(target_name = %name, error = %e, "PostgreSQL connection ended");
                }
            });
            client
        };
        client
            .batch_execute("SET TIME ZONE 'UTC'; SET client_encoding = 'UTF8'")
            .await
            .map_err(|e| self.error(&e, || "setting up the session".into()))?;
        Ok(client)
    }

    /// rustls, checking the certificate against `tls_ca` or the Mozilla
    /// roots, and the host name.
    fn tls(&self) -> Result<tokio_postgres_rustls::MakeRustlsConnect, PipelineError> {
        use rustls::pki_types::CertificateDer;
        use rustls::pki_types::pem::PemObject;
        let mut roots = rustls::RootCertStore::empty();
        match &self.config.tls_ca {
            Some(path) => {
                let certs = CertificateDer::pem_file_iter(path).map_err(|e| {
                    PipelineError::definite(format!(
                        "targets.{}.tls_ca: cannot read {path}: {e}",
                        self.name
                    ))
                })?;
                for c in certs {
                    let c = c.map_err(|e| {
                        PipelineError::definite(format!(
                            "targets.{}.tls_ca: {path} is not a PEM certificate file: {e}",
                            self.name
                        ))
                    })?;
                    roots.add(c).map_err(|e| {
                        PipelineError::definite(format!(
                            "targets.{}.tls_ca: {path}: {e}",
                            self.name
                        ))
                    })?;
                }
            }
            None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
        }
        let config = rustls::ClientConfig::builder()
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(tokio_postgres_rustls::MakeRustlsConnect::new(config))
    }

    /// Forget the connection and everything prepared on it; the server
    /// rolls back whatever it had open.
    pub(super) fn drop_client(&mut self) {
        self.client = None;
        self.prepared.clear();
        self.statements.clear();
        self.open = false;
        self.open_rows.clear();
    }

    /// `schema.table` of a routed target table name.
    pub(super) fn place(&self, table: &str) -> (String, String) {
        sql::qualified(table, &self.config.schema)
    }
}

impl PostgresTarget {
    /// The target's name in the config.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A bookkeeping read that failed: the connection may be bad.
    fn read_error(&mut self, e: tokio_postgres::Error, what: &str) -> PipelineError {
        let err = self.error(&e, || what.to_owned());
        self.drop_client();
        err
    }

    fn corrupt(&self, pipeline: &str, table: &str, m: String) -> PipelineError {
        PipelineError::definite(format!(
            "{table} of pipeline `{pipeline}` in target `{}` is corrupt: {m}; delete its rows for this pipeline to start it afresh",
            self.name
        ))
    }
}

impl Target for PostgresTarget {
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            atomic_checkpoint: true,
            open_transaction: true,
            ddl: DdlSupport::Translated,
            dead_letters: true,
            snapshot_progress: true,
            verify: true,
        }
    }

    async fn prepare(&mut self) -> Result<(), PipelineError> {
        let schema = self.config.schema.clone();
        let client = self.client().await?;
        let exists = client
            .query_opt("SELECT 1 FROM pg_namespace WHERE nspname = $1", &[&schema])
            .await;
        match exists {
            Ok(Some(_)) => {}
            Ok(None) => {
                return Err(PipelineError::definite(format!(
                    "target `{}`: schema `{schema}` does not exist; create it (CREATE SCHEMA {}) or set targets.{}.schema",
                    self.name,
                    sql::quote(&schema),
                    self.name
                )));
            }
            Err(e) => return Err(self.read_error(e, "checking the schema")),
        }
        let client = self.client().await?;
        if let Err((e, what)) = store::create(client, &schema).await {
            let mut err = self.read_error(e, &what);
            if err.message.contains("42501") {
                err.message.push_str(&format!(
                    "; grant the user CREATE on schema {schema}, or create the tables once as another user (docs/targets/postgres.md)"
                ));
            }
            return Err(err);
        }
        Ok(())
    }

    async fn missing_tables(
        &mut self,
        tables: &[(String, TableDef)],
        create: bool,
    ) -> Result<Vec<String>, PipelineError> {
        let mut out = Vec::new();
        for (target, def) in tables {
            let (schema, table) = self.place(target);
            let rel = format!("{}.{}", sql::quote(&schema), sql::quote(&table));
            let client = self.client().await?;
            let found = client
                .query_one("SELECT to_regclass($1) IS NOT NULL", &[&rel])
                .await;
            let exists: bool = match found {
                Ok(r) => r.get(0),
                Err(e) => return Err(self.read_error(e, &format!("looking up table {rel}"))),
            };
            if exists {
                continue;
            }
            if !self.config.create_tables {
                out.push(format!(
                    "target `{}` has no table {schema}.{table} for {}.{}; create it (docs/targets/postgres.md has the types) or set targets.{}.create_tables = true",
                    self.name, def.database, def.table, self.name
                ));
                continue;
            }
            if !create {
                continue;
            }
            let statement = types::create_table(&rel, def).map_err(PipelineError::definite)?;
            let client = self.client().await?;
            if let Err(e) = client.batch_execute(&statement).await {
                return Err(self.read_error(e, &format!("creating table {rel} (`{statement}`)")));
            }
            tracing::info!(target_name = %self.name, %statement, "created a missing target table (create_tables = true)");
        }
        Ok(out)
    }

    async fn checkpoint(&mut self, pipeline: &str) -> Result<Option<Checkpoint>, PipelineError> {
        let schema = self.config.schema.clone();
        let client = self.client().await?;
        match store::checkpoint(client, &schema, pipeline).await {
            Ok(Ok(cp)) => Ok(cp),
            Ok(Err(m)) => Err(self.corrupt(pipeline, "the checkpoint (sluice_checkpoint)", m)),
            Err(e) => Err(self.read_error(e, "reading the checkpoint")),
        }
    }

    async fn apply(
        &mut self,
        pipeline: &str,
        changes: &[Routed],
        dead: &[DeadLetter],
        checkpoint: &Checkpoint,
    ) -> Result<(), PipelineError> {
        self.apply_record(pipeline, changes, dead, Record::Checkpoint(checkpoint))
            .await
    }

    async fn apply_part(
        &mut self,
        pipeline: &str,
        changes: &[Routed],
        dead: &[DeadLetter],
    ) -> Result<(), PipelineError> {
        self.apply_open(pipeline, changes, dead, None).await
    }

    async fn abandon(&mut self) {
        if self.open {
            self.open = false;
            self.open_rows.clear();
            self.rollback("ROLLBACK").await;
        }
    }

    async fn apply_ddl(
        &mut self,
        pipeline: &str,
        change: &SchemaChange<'_>,
        checkpoint: &Checkpoint,
    ) -> Result<(), PipelineError> {
        let statements =
            ddl::translate(change, &self.config.schema).map_err(PipelineError::definite)?;
        for (statement, already_done) in statements {
            let client = self.client().await?;
            match client.batch_execute(&statement).await {
                Ok(()) => {
                    tracing::info!(target_name = %self.name, %pipeline, %statement, "schema change applied")
                }
                Err(e) if e.code().is_some_and(|c| already_done.contains(&c.code())) => {
                    tracing::warn!(target_name = %self.name, %pipeline, %statement, error = %e, "schema change already in the target; going on");
                }
                Err(e) => {
                    let err =
                        self.error(&e, || format!("applying the schema change `{statement}`"));
                    self.drop_client();
                    return Err(err);
                }
            }
        }
        // Names may now mean other columns or tables.
        self.drop_client();
        self.tables.clear();
        self.apply_record(pipeline, &[], &[], Record::Checkpoint(checkpoint))
            .await
    }

    async fn snapshot_progress(&mut self, pipeline: &str) -> Result<Vec<Segment>, PipelineError> {
        let schema = self.config.schema.clone();
        let client = self.client().await?;
        match store::segments(client, &schema, pipeline).await {
            Ok(Ok(s)) => Ok(s),
            Ok(Err(m)) => Err(self.corrupt(pipeline, "the snapshot progress (sluice_snapshot)", m)),
            Err(e) => Err(self.read_error(e, "reading the snapshot progress")),
        }
    }

    async fn apply_chunk(
        &mut self,
        pipeline: &str,
        changes: &[Routed],
        dead: &[DeadLetter],
        segment: &Segment,
    ) -> Result<(), PipelineError> {
        self.apply_record(pipeline, changes, dead, Record::Segment(segment))
            .await
    }

    async fn forget_snapshot(&mut self, pipeline: &str) -> Result<(), PipelineError> {
        let schema = self.config.schema.clone();
        let client = self.client().await?;
        store::forget_segments(client, &schema, pipeline)
            .await
            .map_err(|e| self.read_error(e, "deleting the finished snapshot progress"))
    }

    async fn forget_checkpoint(&mut self, pipeline: &str) -> Result<(), PipelineError> {
        let schema = self.config.schema.clone();
        let client = self.client().await?;
        store::forget_checkpoint(client, &schema, pipeline)
            .await
            .map_err(|e| self.read_error(e, "deleting the checkpoint"))
    }
}
