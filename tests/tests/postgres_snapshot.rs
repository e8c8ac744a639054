//! The initial snapshot into PostgreSQL: a 200,000-row table and one with a
//! composite binary key already hold data when the pipeline starts, a
//! generator keeps inserting, updating, deleting and re-keying rows, and
//! the engine is SIGKILLed in the middle of the copy. After the restart the
//! copy continues from its last chunk (fewer rows copied the second time),
//! and once streaming has caught up both tables equal the source row for
//! row. The progress rows live in `sluice_snapshot` in PostgreSQL, written
//! in each chunk's transaction.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use mysql_async::prelude::Queryable;
use sluice_e2e::*;

const ROWS: u64 = 200_000;

#[tokio::test(flavor = "multi_thread")]
async fn snapshot_into_postgres_survives_a_kill_and_hands_over_to_streaming() {
    let env = env();
    let dir = scratch("postgres_snapshot");
    let mut src = connect(&env.source).await;
    recreate(
        &mut src,
        "psn_src",
        "CREATE TABLE {db}.big (id BIGINT NOT NULL PRIMARY KEY, a INT NOT NULL, b VARCHAR(40) NOT NULL, c DECIMAL(12,2) NULL, d DATETIME(6) NOT NULL);
        CREATE TABLE {db}.pairs (grp INT NOT NULL, k VARBINARY(16) NOT NULL, v VARCHAR(20) NULL, PRIMARY KEY (grp, k))",
    )
    .await;
    let pg = pg_connect(&pg_url()).await;
    pg_recreate(
        &pg,
        "psn",
        "CREATE TABLE {s}.big (id bigint PRIMARY KEY, a integer NOT NULL, b varchar(40) NOT NULL, c numeric(12,2), d timestamp(6) NOT NULL);
        CREATE TABLE {s}.pairs (grp integer NOT NULL, k bytea NOT NULL, v varchar(20), PRIMARY KEY (grp, k))",
    )
    .await;
    exec(
        &mut src,
        &format!(
            "INSERT INTO psn_src.big SELECT seq, seq % 1000, CONCAT('row-', seq), IF(seq % 7 = 0, NULL, seq / 100), \
             TIMESTAMP'2020-01-01 00:00:00' + INTERVAL seq SECOND + INTERVAL (seq % 999999) MICROSECOND FROM psn_src.seq_1_to_{ROWS};
            INSERT INTO psn_src.pairs SELECT seq % 50, UNHEX(MD5(seq)), CONCAT('v', seq) FROM psn_src.seq_1_to_20000"
        ),
    )
    .await;

    let stop = Arc::new(AtomicBool::new(false));
    let generator = {
        let (url, stop) = (env.source.clone(), stop.clone());
        tokio::spawn(async move {
            let mut c = connect(&url).await;
            let mut i: u64 = 0;
            while !stop.load(Ordering::Relaxed) {
                i += 1;
                let id = (i * 7919) % ROWS + 1;
                let sql = match i % 5 {
                    0 => format!(
                        "INSERT INTO psn_src.big VALUES ({}, 1, 'new', 1.50, NOW(6))",
                        2 * ROWS + i
                    ),
                    1 => format!(
                        "UPDATE psn_src.big SET a = a + 1, b = CONCAT(b, '+') WHERE id = {id}"
                    ),
                    2 => format!("DELETE FROM psn_src.big WHERE id = {id}"),
                    3 => format!(
                        "UPDATE IGNORE psn_src.big SET id = id + {} WHERE id = {id}",
                        3 * ROWS
                    ),
                    _ => format!(
                        "BEGIN; UPDATE psn_src.pairs SET v = CONCAT('g', {i}) WHERE grp = {g}; \
                         DELETE FROM psn_src.pairs WHERE grp = {g} AND k = UNHEX(MD5({i})); \
                         INSERT IGNORE INTO psn_src.pairs VALUES ({g}, UNHEX(MD5({n})), 'ins'); COMMIT",
                        g = i % 50,
                        n = 100_000 + i
                    ),
                };
                c.query_drop(sql).await.unwrap();
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        })
    };

    let port = free_port();
    write_config(
        &dir,
        &(config_head(&env.source, 5306, "current", port)
            + &postgres_target("pg", &pg_url(), "psn")
            + "\n[[pipelines]]\nname = \"snap\"\nsource_tables = [\"psn_src.*\"]\ntarget = \"pg\"\nsnapshot_chunk_rows = 2000\n"),
    );
    let copied = |s: &Sluice| {
        s.metrics()
            .lines()
            .filter(|l| l.starts_with("sluice_snapshot_rows_total{"))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum::<f64>()
    };
    let mut sluice = Sluice::start(&env, &dir, port);
    wait_for(Duration::from_secs(120), "40,000 rows copied", || {
        let n = copied(&sluice);
        async move { n >= 40_000.0 }
    })
    .await;
    let first = copied(&sluice);
    sluice.kill();
    let progress = pg_rows(
        &pg,
        "SELECT source_table, done FROM psn.sluice_snapshot WHERE pipeline = 'snap'",
    )
    .await;
    assert!(
        progress
            .iter()
            .any(|r| r[0].as_deref() == Some("big") && r[1].as_deref() == Some("f")),
        "the kill came in the middle of the big table: {progress:?}"
    );

    let mut sluice = Sluice::start(&env, &dir, port);
    wait_for(Duration::from_secs(300), "the snapshot to finish", || {
        let (_, s) = sluice.get("/status");
        let s: serde_json::Value = serde_json::from_str(&s).unwrap_or_default();
        async move { s["pipelines"]["snap"]["state"] == "streaming" }
    })
    .await;
    let second = copied(&sluice);
    // Both tables hold ROWS + 20,000 rows; starting over would copy them
    // all again, continuing copies what the first run had not committed.
    let total = (ROWS + 20_000) as f64;
    assert!(
        second > 0.0 && second < total - first / 2.0,
        "the restart continued the copy instead of starting over: {first} rows before the kill, {second} after"
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    stop.store(true, Ordering::Relaxed);
    generator.await.unwrap();
    let end = source_position(&mut src).await;
    wait_for(
        Duration::from_secs(120),
        "the checkpoint at the source's end",
        || async { pg_checkpoint(&pg, "psn", "snap").await.as_deref() == Some(end.as_str()) },
    )
    .await;
    let a = rows(
        &mut src,
        "SELECT id, a, b, c, DATE_FORMAT(d, '%Y-%m-%d %H:%i:%s.%f') FROM psn_src.big ORDER BY id",
    )
    .await;
    let b = pg_rows(
        &pg,
        "SELECT id, a, b, c, to_char(d, 'YYYY-MM-DD HH24:MI:SS.US') FROM psn.big ORDER BY id",
    )
    .await;
    assert_eq!(a.len(), b.len(), "big: same row count");
    assert!(a == b, "big: same rows");
    let a = rows(
        &mut src,
        "SELECT grp, LOWER(HEX(k)), v FROM psn_src.pairs ORDER BY grp, k",
    )
    .await;
    let b = pg_rows(
        &pg,
        "SELECT grp, encode(k, 'hex'), v FROM psn.pairs ORDER BY grp, k",
    )
    .await;
    assert_eq!(a, b, "pairs: same rows");
    let log = sluice.log_text();
    assert!(sluice.stop().success(), "{log}");
    for table in ["psn_src.big", "psn_src.pairs"] {
        assert!(
            log.contains(&format!(
                "snapshot: table copied pipeline=snap table={table}"
            )),
            "{log}"
        );
    }
    exec(&mut src, "DROP DATABASE psn_src").await;
    pg_exec(&pg, "DROP SCHEMA psn CASCADE").await;
}
