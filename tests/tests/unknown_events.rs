//! An event the engine cannot decode stops it with an error naming the
//! event type and the binlog position; it is never skipped. MariaDB's
//! compressed row events (log_bin_compress) are such events for now.

use std::time::Duration;

use mysql_async::prelude::Queryable;
use sluice_e2e::*;

#[tokio::test(flavor = "multi_thread")]
async fn a_compressed_event_stops_the_engine_naming_type_and_position() {
    let env = env();
    let url = std::env::var("SLUICE_TEST_COMPRESSED")
        .expect("SLUICE_TEST_COMPRESSED: run through scripts/test");
    let dir = scratch("unknown_events");
    let mut src = connect(&url).await;
    let mut tgt = connect(&env.target).await;
    let table = "CREATE TABLE {db}.t (id INT PRIMARY KEY, body TEXT)";
    recreate(&mut src, "ue_src", table).await;
    recreate(&mut tgt, "ue_dst", table).await;
    let start = source_position(&mut src).await;
    src.exec_drop("INSERT INTO ue_src.t VALUES (1, ?)", ("x".repeat(2000),))
        .await
        .unwrap();
    let port = free_port();
    write_config(
        &dir,
        &(config_head(&url, 5107, &start, port)
            + &mysql_target(&env, "dst", "ue_dst")
            + "\n[[pipelines]]\nname = \"p\"\nsource_tables = [\"ue_src.t\"]\ntarget = \"dst\"\n"),
    );
    let mut sluice = Sluice::start(&env, &dir, port);
    let status = sluice
        .wait(Duration::from_secs(30))
        .expect("the engine stops");
    assert!(!status.success());
    let log = sluice.log_text();
    assert!(
        log.contains("binlog event type 16"),
        "names the event type:\n{log}"
    );
    assert!(log.contains("mariadb_compressed"), "{log}");
    assert!(
        log.contains("at binlog position binlog.0"),
        "names the position:\n{log}"
    );
    let n: Option<u64> = tgt
        .query_first("SELECT COUNT(*) FROM ue_dst.t")
        .await
        .unwrap();
    assert_eq!(n, Some(0), "nothing was applied past the undecodable event");
    exec(&mut tgt, "DROP DATABASE ue_dst").await;
}
