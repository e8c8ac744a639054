//! `[targets.NAME]` with `kind = "postgres"`: the PostgreSQL target's own
//! config section, parsed with every mistake reported (file, line, key).
//!
//! ```toml
//! [targets.purchase]
//! kind = "postgres"
//! url = "postgres://sluice:secret@127.0.0.1:5432/purchase"
//! schema = "public"
//! ```

use std::str::FromStr;

use crate::config::Section;

/// The keys this section accepts; docs/configuration.md lists exactly these.
pub const KEYS: &[&str] = &["kind", "url", "schema", "create_tables", "tls_ca"];

/// The schema tables go to when `target_table` names none.
fn default_schema() -> String {
    "public".to_owned()
}

/// A PostgreSQL target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PostgresConfig {
    /// `postgres://user:password@host:port/database`, with libpq's
    /// `sslmode=disable|prefer|require` when TLS is wanted. The database
    /// must exist; Sluice keeps its own tables (`sluice_checkpoint`, ...)
    /// in `schema`.
    pub url: String,
    /// Schema for target tables named without one (`target_table` without
    /// a dot), and for Sluice's own tables.
    pub schema: String,
    /// Create a plain-copy pipeline's missing target tables at start, from
    /// the source tables' definitions (types by `types::pg_type`, the
    /// primary key included); the statements are logged.
    pub create_tables: bool,
    /// PEM file of the CA that signed the server's certificate; without
    /// it, TLS trusts the Mozilla roots (webpki-roots). TLS always checks
    /// the certificate and the host name, unlike libpq's `require`.
    pub tls_ca: Option<String>,
}

/// Parse the section; `None` when it has mistakes (already reported).
pub fn parse(s: &mut Section<'_, '_, '_>) -> Option<PostgresConfig> {
    s.check_keys(KEYS);
    let schema = s.string("schema").unwrap_or_else(default_schema);
    if schema.is_empty() || schema.contains('.') {
        s.error(
            "schema",
            "must be a schema name without a dot, like \"public\"",
        );
        return None;
    }
    let tls_ca = s.string("tls_ca");
    let create_tables = s.bool("create_tables").unwrap_or(false);
    let url = s.required_string("url")?;
    if let Err(m) = url_check(&url) {
        s.error("url", m);
        return None;
    }
    Some(PostgresConfig {
        url,
        schema,
        create_tables,
        tls_ca,
    })
}

/// A postgres:// URL that names a database. The message never repeats the
/// URL (it may hold a password).
pub fn url_check(url: &str) -> Result<tokio_postgres::Config, String> {
    if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
        return Err(
            "not a postgres:// URL; write postgres://user:password@host:port/database".into(),
        );
    }
    let config = tokio_postgres::Config::from_str(url).map_err(|e| {
        format!(
            "not a valid postgres:// URL ({e}); write postgres://user:password@host:port/database"
        )
    })?;
    if config.get_dbname().is_none() {
        return Err("the URL names no database; add /database at the end".into());
    }
    if config.get_user().is_none() {
        return Err("the URL names no user; write postgres://user@host/database".into());
    }
    Ok(config)
}
