//! The target stops for 30 s while the source keeps changing, then starts
//! again. The engine retries with backoff, logs the outage once (not once
//! per retry), stalls the source read instead of buffering (bounded queue),
//! and ends with the target equal to the source, every change applied once.
//! Runs against a target server of its own (`SLUICE_TEST_FAULTY_TARGET`).

use std::time::{Duration, Instant};

use mysql_async::prelude::Queryable;
use sluice_e2e::*;

const ROWS: u32 = 3000;

#[tokio::test(flavor = "multi_thread")]
async fn a_stopped_target_is_retried_and_nothing_is_lost_or_applied_twice() {
    let env = env();
    let target = std::env::var("SLUICE_TEST_FAULTY_TARGET")
        .expect("SLUICE_TEST_FAULTY_TARGET: run through scripts/test");
    let server = Server::from_env("SLUICE_TEST_FAULTY_TARGET_DIR");
    let dir = scratch("target_outage");
    let mut src = connect(&env.source).await;
    let mut tgt = connect(&target).await;
    recreate(
        &mut src,
        "to_src",
        "CREATE TABLE {db}.t (id INT PRIMARY KEY, pad VARCHAR(200) NOT NULL)",
    )
    .await;
    recreate(
        &mut tgt,
        "to_dst",
        &format!(
            "CREATE TABLE {{db}}.t (id INT PRIMARY KEY, pad VARCHAR(200) NOT NULL);\n{}",
            applied_log("t")
        ),
    )
    .await;
    drop(tgt);
    let start = source_position(&mut src).await;
    let port = free_port();
    write_config(
        &dir,
        &(config_head(&env.source, 5112, &start, port)
            + &format!("\n[targets.dst]\nkind = \"mysql\"\nurl = \"{target}/to_dst\"\n")
            + "\n[[pipelines]]\nname = \"outage\"\nsource_tables = [\"to_src.t\"]\ntarget = \"dst\"\n"),
    );
    let mut sluice = Sluice::start(&env, &dir, port);
    let pid = sluice.child_id();

    // The generator: one row per source transaction, throughout the outage.
    let src_url = env.source.clone();
    let generator = tokio::spawn(async move {
        let mut c = connect(&src_url).await;
        for i in 0..ROWS {
            c.exec_drop("INSERT INTO to_src.t VALUES (?, REPEAT('x', 200))", (i,))
                .await
                .unwrap();
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    });
    tokio::time::sleep(Duration::from_secs(3)).await;

    // Stop the target for 30 s.
    server.stop();
    let stopped = Instant::now();
    let mut peak_rss = 0;
    while stopped.elapsed() < Duration::from_secs(30) {
        peak_rss = peak_rss.max(rss_kib(pid));
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    server.start();

    generator.await.unwrap();
    let count = |url: String| async move {
        let Ok(mut c) = mysql_async::Conn::new(mysql_async::Opts::from_url(&url).unwrap()).await
        else {
            return 0;
        };
        let n: Option<u64> = c
            .query_first("SELECT COUNT(*) FROM to_dst.t")
            .await
            .unwrap_or(None);
        n.unwrap_or(0)
    };
    wait_for(Duration::from_secs(120), "every row in the target", || {
        let f = count(target.clone());
        async move { f.await == u64::from(ROWS) }
    })
    .await;
    peak_rss = peak_rss.max(rss_kib(pid));
    assert!(sluice.stop().success(), "{}", sluice.log_text());

    let mut tgt = connect(&target).await;
    let want = rows(&mut src, "SELECT id, pad FROM to_src.t ORDER BY id").await;
    let got = rows(&mut tgt, "SELECT id, pad FROM to_dst.t ORDER BY id").await;
    assert_eq!(got, want);
    let applied: Option<u64> = tgt
        .query_first("SELECT COUNT(*) FROM to_dst.applied")
        .await
        .unwrap();
    assert_eq!(
        applied,
        Some(u64::from(ROWS)),
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
        "peak RSS of sluice during a 30 s target outage: {} MiB",
        peak_rss / 1024
    );
    assert!(peak_rss < 150 * 1024, "RSS stays bounded: {peak_rss} KiB");
    exec(&mut src, "DROP DATABASE to_src").await;
    exec(&mut tgt, "DROP DATABASE to_dst").await;
}
