//! PostgreSQL helpers of the harness. `scripts/test` starts a throwaway
//! cluster and passes it in `SLUICE_TEST_PG` (a server whose own time zone
//! is America/New_York), and one that tests may stop in
//! `SLUICE_TEST_FAULTY_PG` (its folder in `SLUICE_TEST_FAULTY_PG_DIR`).
//! Each test works in its own schema of the `postgres` database.

use tokio_postgres::{Client, NoTls, SimpleQueryMessage};

/// The URL of the shared test cluster.
pub fn pg_url() -> String {
    std::env::var("SLUICE_TEST_PG").unwrap_or_else(|_| {
        panic!("SLUICE_TEST_PG is not set: run the end-to-end tests through scripts/test")
    })
}

/// A client of `url`.
pub async fn pg_connect(url: &str) -> Client {
    let (client, conn) = tokio_postgres::connect(url, NoTls)
        .await
        .unwrap_or_else(|e| panic!("connect {url}: {e}"));
    tokio::spawn(conn);
    client
}

/// Run statements (one simple query; `;` separates them).
pub async fn pg_exec(client: &Client, sql: &str) {
    client
        .batch_execute(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e:?}"));
}

/// Drop and create `schema`, then run `ddl` with `{s}` standing for it.
pub async fn pg_recreate(client: &Client, schema: &str, ddl: &str) {
    pg_exec(
        client,
        &format!(
            "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}; {}",
            ddl.replace("{s}", schema)
        ),
    )
    .await;
}

/// Rows of a query in PostgreSQL's text form, or the error.
pub async fn pg_try_rows(
    client: &Client,
    sql: &str,
) -> Result<Vec<Vec<Option<String>>>, tokio_postgres::Error> {
    Ok(client
        .simple_query(sql)
        .await?
        .into_iter()
        .filter_map(|m| match m {
            SimpleQueryMessage::Row(r) => {
                Some((0..r.len()).map(|i| r.get(i).map(str::to_owned)).collect())
            }
            _ => None,
        })
        .collect())
}

/// [`pg_try_rows`], panicking on an error.
pub async fn pg_rows(client: &Client, sql: &str) -> Vec<Vec<Option<String>>> {
    pg_try_rows(client, sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e:?}"))
}

/// One number from a query (0 when the table is not there yet).
pub async fn pg_count(client: &Client, sql: &str) -> i64 {
    match pg_try_rows(client, sql).await {
        Ok(r) => r
            .first()
            .and_then(|r| r[0].as_deref())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0),
        Err(_) => 0,
    }
}

/// A `[targets.NAME]` section for `schema` on the cluster at `url`.
pub fn postgres_target(name: &str, url: &str, schema: &str) -> String {
    format!("\n[targets.{name}]\nkind = \"postgres\"\nurl = \"{url}\"\nschema = \"{schema}\"\n")
}

/// The pipeline's checkpoint position (`file:pos`) in `schema`, if any.
pub async fn pg_checkpoint(client: &Client, schema: &str, pipeline: &str) -> Option<String> {
    let r = pg_try_rows(
        client,
        &format!("SELECT binlog_file || ':' || binlog_pos FROM {schema}.sluice_checkpoint WHERE pipeline = '{pipeline}'"),
    )
    .await
    .ok()?;
    r.first().and_then(|r| r[0].clone())
}

/// The throwaway cluster a test may stop and start
/// (`SLUICE_TEST_FAULTY_PG_DIR`, with the scripts `scripts/lib.sh` wrote).
pub struct PgServer {
    dir: std::path::PathBuf,
}

impl PgServer {
    pub fn from_env(var: &str) -> PgServer {
        PgServer {
            dir: std::env::var(var)
                .unwrap_or_else(|_| panic!("{var}: run through scripts/test"))
                .into(),
        }
    }

    fn run(&self, script: &str) {
        let st = std::process::Command::new(self.dir.join(script))
            .stdout(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(st.success(), "{script} of {}", self.dir.display());
    }

    /// `pg_ctl stop -m fast`, waiting until it is down.
    pub fn stop(&self) {
        self.run("stop.sh");
    }

    /// `pg_ctl start`, waiting until it accepts connections.
    pub fn start(&self) {
        self.run("start.sh");
    }
}
