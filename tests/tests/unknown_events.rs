//! Events with compressed payloads (`log_bin_compress=ON`, MariaDB types
//! 165-171) decode like plain ones: the target ends equal to the source,
//! a compressed DDL statement included. An event the engine cannot use
//! (here a statement-based INSERT) stops it with an error naming what and
//! where; it is never skipped, and nothing after it is applied.

use std::time::Duration;

use mysql_async::prelude::Queryable;
use sluice_e2e::*;

#[tokio::test(flavor = "multi_thread")]
async fn compressed_events_decode_and_an_unusable_event_stops_the_engine() {
    let env = env();
    let url = std::env::var("SLUICE_TEST_COMPRESSED")
        .expect("SLUICE_TEST_COMPRESSED: run through scripts/test");
    let dir = scratch("unknown_events");
    let mut src = connect(&url).await;
    let mut tgt = connect(&env.target).await;
    let table = "CREATE TABLE {db}.t (id INT PRIMARY KEY, body TEXT, n BIGINT UNSIGNED)";
    recreate(&mut src, "ue_src", table).await;
    recreate(&mut tgt, "ue_dst", table).await;
    let start = source_position(&mut src).await;
    for i in 1..=50u32 {
        src.exec_drop(
            "INSERT INTO ue_src.t VALUES (?, ?, ?)",
            (
                i,
                format!("{i}-").repeat(300 + i as usize),
                u64::MAX - u64::from(i),
            ),
        )
        .await
        .unwrap();
    }
    exec(
        &mut src,
        "UPDATE ue_src.t SET body = CONCAT(body, REPEAT('u', 500)) WHERE id % 3 = 0;
        DELETE FROM ue_src.t WHERE id % 5 = 0;
        ALTER TABLE ue_src.t ADD COLUMN note VARCHAR(200) NOT NULL DEFAULT 'a default long enough to be compressed'",
    )
    .await;
    src.exec_drop(
        "INSERT INTO ue_src.t VALUES (100, ?, 1, 'after the alter')",
        ("z".repeat(1000),),
    )
    .await
    .unwrap();
    let (file, _) = start.split_once(':').unwrap();
    let types: Vec<String> = src
        .query_map(
            format!("SHOW BINLOG EVENTS IN '{file}'"),
            |r: mysql_async::Row| r.get::<String, _>(2).unwrap(),
        )
        .await
        .unwrap();
    for want in [
        "Write_rows_compressed",
        "Update_rows_compressed",
        "Delete_rows_compressed",
        "Query_compressed",
    ] {
        assert!(
            types.iter().any(|t| t.starts_with(want)),
            "the server wrote {want} events: {types:?}"
        );
    }
    let port = free_port();
    write_config(
        &dir,
        &(config_head(&url, 5107, &start, port)
            + &mysql_target(&env, "dst", "ue_dst")
            + "\n[[pipelines]]\nname = \"p\"\nsource_tables = [\"ue_src.t\"]\ntarget = \"dst\"\n"),
    );
    let mut sluice = Sluice::start(&env, &dir, port);
    let query = "SELECT id, body, n, note FROM ue_src.t ORDER BY id";
    let want = rows(&mut src, query).await;
    assert_eq!(want.len(), 41);
    let dst = query.replace("ue_src", "ue_dst");
    wait_for(
        Duration::from_secs(30),
        "the target equals the source",
        || async {
            let mut c = connect(&env.target).await;
            // Fails until the ALTER has reached the target.
            try_rows(&mut c, &dst).await.is_ok_and(|got| got == want)
        },
    )
    .await;

    // A statement-based change cannot be copied exactly: a loud stop.
    exec(
        &mut src,
        "SET SESSION binlog_format = 'STATEMENT';
        INSERT INTO ue_src.t (id, body, n) VALUES (200, 'statement', 2);
        SET SESSION binlog_format = 'ROW';
        INSERT INTO ue_src.t (id, body, n) VALUES (201, 'after', 3)",
    )
    .await;
    let status = sluice
        .wait(Duration::from_secs(30))
        .expect("the engine stops");
    assert!(!status.success());
    let log = sluice.log_text();
    assert!(
        log.contains("statement-based change") && log.contains("binlog_format=ROW"),
        "names what and how to fix it:\n{log}"
    );
    assert!(
        log.contains("at binlog position binlog.0"),
        "names the position:\n{log}"
    );
    let n: Option<u64> = tgt
        .query_first("SELECT COUNT(*) FROM ue_dst.t WHERE id >= 200")
        .await
        .unwrap();
    assert_eq!(n, Some(0), "nothing was applied past the event");
    exec(&mut src, "DROP DATABASE ue_src").await;
    exec(&mut tgt, "DROP DATABASE ue_dst").await;
}
