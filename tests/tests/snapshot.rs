//! The initial snapshot: a 1,000,000-row table (and a small one with a
//! composite key) already hold data when the pipeline starts, a generator
//! keeps inserting, updating, deleting and moving rows to other keys, and
//! the engine is SIGKILLed once in the middle of the copy. After the
//! restart it continues from its last finished chunk (it copies fewer
//! rows the second time); in the second run the snapshot's source
//! connection is killed too, and the copy continues from its progress.
//! Once streaming has caught up both tables on the target equal the
//! source: same rows, same content sums (CRC32 of every row, summed; not
//! `CHECKSUM TABLE`, whose value depends on the server: the suite runs
//! against MySQL 5.7 targets too).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use mysql_async::prelude::Queryable;
use sluice_e2e::*;

const ROWS: u64 = 1_000_000;
const BIG: &str = "CREATE TABLE {db}.big (id BIGINT NOT NULL PRIMARY KEY, a INT NOT NULL, b VARCHAR(40) NOT NULL, c DECIMAL(12,2) NULL, d DATETIME(6) NOT NULL)";
const PAIRS: &str = "CREATE TABLE {db}.pairs (grp INT NOT NULL, k VARBINARY(16) NOT NULL, v VARCHAR(20) NULL, PRIMARY KEY (grp, k))";

async fn checksums(conn: &mut mysql_async::Conn, db: &str) -> Vec<Vec<Option<String>>> {
    let mut out = Vec::new();
    for (t, cols) in [
        ("big", "id, a, CAST(b AS BINARY), c, d"),
        ("pairs", "grp, HEX(k), CAST(v AS BINARY)"),
    ] {
        let sums = format!(
            "SELECT COUNT(*), SUM(CRC32(CONCAT_WS('#', {cols}))), BIT_XOR(CRC32(CONCAT_WS('#', {cols}, 'x'))) FROM {db}.{t}"
        );
        out.extend(rows(conn, &sums).await.remove(0));
    }
    vec![out]
}

#[tokio::test(flavor = "multi_thread")]
async fn snapshot_survives_a_kill_and_hands_over_to_streaming_exactly() {
    let env = env();
    let dir = scratch("snapshot");
    let mut src = connect(&env.source).await;
    let mut tgt = connect(&env.target).await;
    recreate(&mut src, "snap_src", &format!("{BIG};\n{PAIRS}")).await;
    recreate(&mut tgt, "snap_dst", &format!("{BIG};\n{PAIRS}")).await;
    exec(
        &mut src,
        &format!(
            "INSERT INTO snap_src.big SELECT seq, seq % 1000, CONCAT('row-', seq), IF(seq % 7 = 0, NULL, seq / 100), \
             TIMESTAMP'2020-01-01 00:00:00' + INTERVAL seq SECOND + INTERVAL (seq % 999999) MICROSECOND FROM snap_src.seq_1_to_{ROWS}"
        ),
    )
    .await;
    exec(
        &mut src,
        "INSERT INTO snap_src.pairs SELECT seq % 50, UNHEX(MD5(seq)), CONCAT('v', seq) FROM snap_src.seq_1_to_20000",
    )
    .await;

    // Insert, update, delete and re-key rows until told to stop.
    let stop = Arc::new(AtomicBool::new(false));
    let writes = Arc::new(AtomicU64::new(0));
    let generator = {
        let (url, stop, writes) = (env.source.clone(), stop.clone(), writes.clone());
        tokio::spawn(async move {
            let mut c = connect(&url).await;
            let mut i: u64 = 0;
            while !stop.load(Ordering::Relaxed) {
                i += 1;
                // Spread over the whole key range, so changes hit rows both
                // before and after the copy's position.
                let id = (i * 7919) % ROWS + 1;
                let sql = match i % 6 {
                    0 => format!(
                        "INSERT INTO snap_src.big VALUES ({}, 1, 'new', 1.50, NOW(6))",
                        2 * ROWS + i
                    ),
                    1 | 2 => format!(
                        "UPDATE snap_src.big SET a = a + 1, b = CONCAT(b, '+') WHERE id = {id}"
                    ),
                    3 => format!("DELETE FROM snap_src.big WHERE id = {id}"),
                    // Moves a row to a key far away (likely in another segment).
                    4 => format!(
                        "UPDATE IGNORE snap_src.big SET id = id + {} WHERE id = {id}",
                        3 * ROWS
                    ),
                    _ => format!(
                        "BEGIN; UPDATE snap_src.pairs SET v = CONCAT('g', {i}) WHERE grp = {g}; \
                         DELETE FROM snap_src.pairs WHERE grp = {g} AND k = UNHEX(MD5({i})); \
                         INSERT IGNORE INTO snap_src.pairs VALUES ({g}, UNHEX(MD5({n})), 'ins'); COMMIT",
                        g = i % 50,
                        n = 100_000 + i
                    ),
                };
                c.query_drop(sql).await.unwrap();
                writes.fetch_add(1, Ordering::Relaxed);
            }
        })
    };

    let port = free_port();
    write_config(
        &dir,
        &(config_head(&env.source, 5131, "current", port)
            + &mysql_target(&env, "dst", "snap_dst")
            + "\n[[pipelines]]\nname = \"snap\"\nsource_tables = [\"snap_src.*\"]\ntarget = \"dst\"\nsnapshot_chunk_rows = 5000\n"),
    );
    let copied = |s: &Sluice| {
        s.metrics()
            .lines()
            .filter(|l| l.starts_with("sluice_snapshot_rows_total{"))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum::<f64>()
    };
    let mut sluice = Sluice::start(&env, &dir, port);
    wait_for(Duration::from_secs(300), "300,000 rows copied", || {
        let n = copied(&sluice);
        async move { n >= 300_000.0 }
    })
    .await;
    let (code, status) = sluice.get("/status");
    assert_eq!(code, 200);
    let status: serde_json::Value = serde_json::from_str(&status).unwrap();
    let snap = &status["pipelines"]["snap"];
    assert_eq!(snap["state"], "snapshotting", "{status}");
    assert!(
        snap["snapshot"]["rows_copied"].as_u64().unwrap() > 0,
        "{status}"
    );
    assert_eq!(snap["snapshot"]["tables_total"], 2, "{status}");
    sluice.kill();
    let progress = rows(
        &mut tgt,
        "SELECT source_table, seq, done, rows_copied FROM snap_dst.sluice_snapshot WHERE pipeline = 'snap'",
    )
    .await;
    assert!(
        progress
            .iter()
            .any(|r| r[0].as_deref() == Some("big") && r[2].as_deref() == Some("0")),
        "the kill came in the middle of the big table: {progress:?}"
    );
    assert!(
        writes.load(Ordering::Relaxed) > 0,
        "the generator runs during the copy"
    );

    let mut sluice = Sluice::start(&env, &dir, port);
    // Kill the snapshot's source connection in the middle of a chunk read:
    // a transient error, so the copy continues from its recorded progress
    // in a new consistent read (a third segment).
    let mut killed = false;
    for _ in 0..2000 {
        let ids: Vec<u64> = src
            .query(
                "SELECT ID FROM information_schema.PROCESSLIST \
                 WHERE INFO LIKE 'SELECT %FROM `snap\\_src`.`big` WHERE%'",
            )
            .await
            .unwrap();
        if let Some(id) = ids.first()
            && copied(&sluice) >= 100_000.0
        {
            let _ = src.query_drop(format!("KILL {id}")).await;
            killed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(killed, "found the snapshot's read query to kill");
    wait_for(Duration::from_secs(300), "the snapshot to finish", || {
        let (_, s) = sluice.get("/status");
        let s: serde_json::Value = serde_json::from_str(&s).unwrap_or_default();
        async move { s["pipelines"]["snap"]["state"] == "streaming" }
    })
    .await;
    let second = copied(&sluice);
    assert!(
        second > 0.0 && second < (ROWS as f64) * 0.8,
        "the restart continued the copy instead of starting over: copied {second} rows"
    );
    // Let the stream run over the copy's positions with the generator on.
    tokio::time::sleep(Duration::from_secs(3)).await;
    stop.store(true, Ordering::Relaxed);
    generator.await.unwrap();

    wait_for(
        Duration::from_secs(180),
        "the target to equal the source",
        || {
            let (s, t) = (env.source.clone(), env.target.clone());
            async move {
                let a = checksums(&mut connect(&s).await, "snap_src").await;
                let b = checksums(&mut connect(&t).await, "snap_dst").await;
                a == b
            }
        },
    )
    .await;
    let a = rows(
        &mut src,
        "SELECT id, a, b, c, d FROM snap_src.big ORDER BY id",
    )
    .await;
    let b = rows(
        &mut tgt,
        "SELECT id, a, b, c, d FROM snap_dst.big ORDER BY id",
    )
    .await;
    assert!(a == b, "big: same rows");
    let a = rows(
        &mut src,
        "SELECT grp, HEX(k), v FROM snap_src.pairs ORDER BY grp, k",
    )
    .await;
    let b = rows(
        &mut tgt,
        "SELECT grp, HEX(k), v FROM snap_dst.pairs ORDER BY grp, k",
    )
    .await;
    assert_eq!(a, b, "pairs: same rows");
    let log = sluice.log_text();
    assert!(sluice.stop().success(), "{log}");
    assert!(
        log.contains("snapshot interrupted; continuing from its recorded progress"),
        "{log}"
    );
    for table in ["snap_src.big", "snap_src.pairs"] {
        assert!(
            log.contains(&format!(
                "snapshot: table copied pipeline=snap table={table}"
            )),
            "{log}"
        );
    }
    // Once the stream passed every copy's position, the progress rows go.
    let left = rows(
        &mut tgt,
        "SELECT COUNT(*) FROM snap_dst.sluice_snapshot WHERE pipeline = 'snap'",
    )
    .await;
    assert_eq!(left[0][0].as_deref(), Some("0"), "{log}");
    exec(&mut src, "DROP DATABASE snap_src").await;
    exec(&mut tgt, "DROP DATABASE snap_dst").await;
}
