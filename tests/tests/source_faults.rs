//! The source fails in the three ways competitors' users report, one after
//! the other, while changes keep coming; the engine reconnects each time
//! and the target ends equal to the source with every change applied once:
//! * the dump connection is killed (`KILL` on the server);
//! * the server restarts (the stream ends with no error);
//! * the server freezes (`kill -STOP` for 30 s): reads would hang forever
//!   without the heartbeat and the read timeout.
//!
//! These run on a source server of their own (`SLUICE_TEST_FAULTY`).

use std::time::Duration;

use mysql_async::prelude::Queryable;
use sluice_e2e::*;

async fn insert_rows(url: &str, from: u32, to: u32) {
    let mut c = connect(url).await;
    for i in from..to {
        c.exec_drop("INSERT INTO sf_src.t VALUES (?, ?)", (i, i * 2))
            .await
            .unwrap();
    }
}

async fn wait_rows(target: &str, n: u64, what: &str) {
    wait_for(Duration::from_secs(90), what, || async {
        let mut c = connect(target).await;
        let have: Option<u64> = c
            .query_first("SELECT COUNT(*) FROM sf_dst.t")
            .await
            .unwrap();
        have == Some(n)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn reconnects_after_kill_restart_and_freeze_without_loss_or_duplicates() {
    let env = env();
    let url =
        std::env::var("SLUICE_TEST_FAULTY").expect("SLUICE_TEST_FAULTY: run through scripts/test");
    let server = Server::from_env("SLUICE_TEST_FAULTY_DIR");
    let dir = scratch("source_faults");
    let mut src = connect(&url).await;
    let mut tgt = connect(&env.target).await;
    recreate(
        &mut src,
        "sf_src",
        "CREATE TABLE {db}.t (id INT PRIMARY KEY, v INT NOT NULL)",
    )
    .await;
    recreate(
        &mut tgt,
        "sf_dst",
        &format!(
            "CREATE TABLE {{db}}.t (id INT PRIMARY KEY, v INT NOT NULL);\n{}",
            applied_log("t")
        ),
    )
    .await;
    let start = source_position(&mut src).await;
    drop(src);
    let port = free_port();
    write_config(
        &dir,
        &(config_head(&url, 5108, &start, port)
            + &mysql_target(&env, "dst", "sf_dst")
            + "\n[[pipelines]]\nname = \"faults\"\nsource_tables = [\"sf_src.t\"]\ntarget = \"dst\"\n"),
    );
    let mut sluice = Sluice::start(&env, &dir, port);
    insert_rows(&url, 0, 100).await;
    wait_rows(&env.target, 100, "the first 100 rows").await;

    // 1. Kill the dump connection.
    let mut admin = connect(&url).await;
    let dumps: Vec<u64> = admin
        .query("SELECT ID FROM information_schema.PROCESSLIST WHERE COMMAND = 'Binlog Dump'")
        .await
        .unwrap();
    assert_eq!(dumps.len(), 1, "one dump connection: {dumps:?}");
    admin
        .query_drop(format!("KILL {}", dumps[0]))
        .await
        .unwrap();
    drop(admin);
    insert_rows(&url, 100, 200).await;
    wait_rows(
        &env.target,
        200,
        "rows written after the dump connection was killed",
    )
    .await;

    // 2. Restart the server.
    server.stop();
    server.start();
    wait_for(
        Duration::from_secs(60),
        "the source to come back",
        || async {
            mysql_async::Conn::new(mysql_async::Opts::from_url(&url).unwrap())
                .await
                .is_ok()
        },
    )
    .await;
    insert_rows(&url, 200, 300).await;
    wait_rows(&env.target, 300, "rows written after the server restarted").await;

    // 3. Freeze the server for 30 s, then thaw it.
    server.signal("STOP");
    tokio::time::sleep(Duration::from_secs(30)).await;
    server.signal("CONT");
    insert_rows(&url, 300, 400).await;
    wait_rows(&env.target, 400, "rows written after the freeze").await;

    let text = sluice.metrics();
    let reconnects = metric(&text, "sluice_source_reconnects_total").unwrap_or(0.0);
    assert!(
        reconnects >= 3.0,
        "at least one reconnect per fault, saw {reconnects}"
    );
    assert!(sluice.stop().success(), "{}", sluice.log_text());
    let log = sluice.log_text();
    assert!(
        log.contains("frozen"),
        "the freeze was detected by the read timeout:\n{log}"
    );

    let mut src = connect(&url).await;
    let want = rows(&mut src, "SELECT id, v FROM sf_src.t ORDER BY id").await;
    let got = rows(&mut tgt, "SELECT id, v FROM sf_dst.t ORDER BY id").await;
    assert_eq!(got, want);
    let applied: Option<u64> = tgt
        .query_first("SELECT COUNT(*) FROM sf_dst.applied")
        .await
        .unwrap();
    assert_eq!(applied, Some(400), "every row applied exactly once");
    exec(&mut src, "DROP DATABASE sf_src").await;
    exec(&mut tgt, "DROP DATABASE sf_dst").await;
}
