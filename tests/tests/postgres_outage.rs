//! PostgreSQL stops for 30 s while the source keeps changing, then starts
//! again. The engine retries with backoff, logs the outage once, stalls the
//! source read instead of buffering (bounded memory), and ends with the
//! target equal to the source, every change applied once (a trigger counts
//! the writes). Runs against a cluster of its own (`SLUICE_TEST_FAULTY_PG`).

use std::time::{Duration, Instant};

use mysql_async::prelude::Queryable;
use sluice_e2e::*;

const ROWS: u32 = 3000;

#[tokio::test(flavor = "multi_thread")]
async fn a_stopped_postgres_is_retried_and_nothing_is_lost_or_applied_twice() {
    let env = env();
    let url = std::env::var("SLUICE_TEST_FAULTY_PG")
        .expect("SLUICE_TEST_FAULTY_PG: run through scripts/test");
    let server = PgServer::from_env("SLUICE_TEST_FAULTY_PG_DIR");
    let dir = scratch("postgres_outage");
    let mut src = connect(&env.source).await;
    recreate(
        &mut src,
        "pto_src",
        "CREATE TABLE {db}.t (id INT PRIMARY KEY, pad VARCHAR(200) NOT NULL)",
    )
    .await;
    let pg = pg_connect(&url).await;
    pg_recreate(
        &pg,
        "pto",
        "CREATE TABLE {s}.t (id integer PRIMARY KEY, pad varchar(200) NOT NULL);
        CREATE TABLE {s}.applied (seq bigserial PRIMARY KEY, k integer NOT NULL);
        CREATE FUNCTION {s}.log_write() RETURNS trigger LANGUAGE plpgsql AS $$
          BEGIN INSERT INTO pto.applied (k) VALUES (NEW.id); RETURN NEW; END $$;
        CREATE TRIGGER t_log AFTER INSERT OR UPDATE ON {s}.t FOR EACH ROW EXECUTE FUNCTION {s}.log_write();",
    )
    .await;
    drop(pg);
    let start = source_position(&mut src).await;
    let port = free_port();
    write_config(
        &dir,
        &(config_head(&env.source, 5307, &start, port)
            + &postgres_target("pg", &url, "pto")
            + "\n[[pipelines]]\nname = \"outage\"\nsource_tables = [\"pto_src.t\"]\ntarget = \"pg\"\n"),
    );
    let mut sluice = Sluice::start(&env, &dir, port);
    let pid = sluice.child_id();
    let src_url = env.source.clone();
    let generator = tokio::spawn(async move {
        let mut c = connect(&src_url).await;
        for i in 0..ROWS {
            c.exec_drop("INSERT INTO pto_src.t VALUES (?, REPEAT('x', 200))", (i,))
                .await
                .unwrap();
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    });
    tokio::time::sleep(Duration::from_secs(3)).await;

    server.stop();
    let stopped = Instant::now();
    let mut peak_rss = 0;
    while stopped.elapsed() < Duration::from_secs(30) {
        peak_rss = peak_rss.max(rss_kib(pid));
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    server.start();
    generator.await.unwrap();
    let pg = pg_connect(&url).await;
    wait_for(
        Duration::from_secs(120),
        "every row in the target",
        || async { pg_count(&pg, "SELECT count(*) FROM pto.t").await == i64::from(ROWS) },
    )
    .await;
    peak_rss = peak_rss.max(rss_kib(pid));
    assert!(sluice.stop().success(), "{}", sluice.log_text());

    let want = rows(&mut src, "SELECT id, pad FROM pto_src.t ORDER BY id").await;
    let got = pg_rows(&pg, "SELECT id, pad FROM pto.t ORDER BY id").await;
    assert_eq!(got, want);
    assert_eq!(
        pg_count(&pg, "SELECT count(*) FROM pto.applied").await,
        i64::from(ROWS),
        "every row applied exactly once"
    );
    let log = sluice.log_text();
    assert_eq!(
        log.matches("target unavailable; retrying with backoff")
            .count(),
        1,
        "one log line per outage:\n{log}"
    );
    assert_eq!(log.matches("target is back").count(), 1, "{log}");
    eprintln!(
        "peak RSS of sluice during a 30 s PostgreSQL outage: {} MiB",
        peak_rss / 1024
    );
    assert!(peak_rss < 150 * 1024, "RSS stays bounded: {peak_rss} KiB");
    exec(&mut src, "DROP DATABASE pto_src").await;
    pg_exec(&pg, "DROP SCHEMA pto CASCADE").await;
}
