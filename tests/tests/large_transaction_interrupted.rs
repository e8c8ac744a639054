//! Sluice stopped, and killed, in the middle of a large source transaction
//! whose pieces are being written into one open target transaction:
//!
//! - SIGTERM rolls the open target transaction back, so none of the
//!   source transaction shows and the checkpoint stays before it; the next
//!   run applies all of it;
//! - SIGKILL leaves the open transaction to the target, which rolls it
//!   back when the connection drops; the next run applies all of it once;
//! - a config reload that changes the pipeline rebuilds it, which rolls
//!   the open transaction back the same way; the new pipeline applies it.
//!
//! "In the middle" is observed on the target itself: its open transaction
//! has modified rows (`information_schema.innodb_trx`) but not all of them.

use std::time::Duration;

use mysql_async::prelude::Queryable;
use sluice_e2e::*;

const ROWS: u64 = 200_000;

async fn count_and_sum(url: &str, db: &str) -> (u64, u64) {
    let mut c = connect(url).await;
    let r: Option<(u64, Option<u64>)> = c
        .query_first(format!(
            "SELECT COUNT(*), CAST(SUM(qty) AS UNSIGNED) FROM {db}.items"
        ))
        .await
        .unwrap();
    let (n, s) = r.unwrap();
    (n, s.unwrap_or(0))
}

async fn checkpoint(url: &str) -> Vec<Vec<Option<String>>> {
    rows(
        &mut connect(url).await,
        "SELECT binlog_file, binlog_pos FROM li_dst.sluice_checkpoint WHERE pipeline = 'li'",
    )
    .await
}

/// Wait until the target has an open transaction that changed some rows
/// but fewer than `all`.
async fn wait_mid_transaction(url: &str, all: u64) {
    wait_for(
        Duration::from_secs(60),
        "the target to be in the middle of the large transaction",
        || async {
            let mut c = connect(url).await;
            let n: Option<u64> = c
                .query_first(
                    "SELECT CAST(COALESCE(MAX(trx_rows_modified), 0) AS UNSIGNED) FROM information_schema.innodb_trx",
                )
                .await
                .unwrap();
            let n = n.unwrap_or(0);
            assert!(n < all, "the transaction was applied before it was caught open");
            n > 0
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn stop_or_kill_in_the_middle_of_a_large_transaction_applies_it_once_later() {
    let env = env();
    let dir = scratch("large_transaction_interrupted");
    let table = "(id INT PRIMARY KEY, qty BIGINT NOT NULL, note VARCHAR(200) NOT NULL)";
    let mut src = connect(&env.source).await;
    let mut tgt = connect(&env.target).await;
    recreate(
        &mut src,
        "li_src",
        &format!("CREATE TABLE {{db}}.items {table}"),
    )
    .await;
    recreate(
        &mut tgt,
        "li_dst",
        &format!("CREATE TABLE {{db}}.items {table}"),
    )
    .await;
    let start = source_position(&mut src).await;
    let port = free_port();
    write_config(
        &dir,
        &(config_head(&env.source, 5140, &start, port)
            + &mysql_target(&env, "dst", "li_dst")
            + "\n[[pipelines]]\nname = \"li\"\nsource_tables = [\"li_src.items\"]\ntarget = \"dst\"\n"),
    );
    let mut sluice = Sluice::start(&env, &dir, port);
    exec(
        &mut src,
        "INSERT INTO li_src.items SELECT seq, seq, 'small' FROM li_src.seq_1_to_10",
    )
    .await;
    wait_for(Duration::from_secs(30), "the first 10 rows", || async {
        count_and_sum(&env.target, "li_dst").await.0 == 10
    })
    .await;
    let before = checkpoint(&env.target).await;

    // 1. SIGTERM while the inserts are being written.
    exec(
        &mut src,
        &format!(
            "INSERT INTO li_src.items SELECT seq, seq, REPEAT('n', 150) FROM li_src.seq_11_to_{ROWS}"
        ),
    )
    .await;
    wait_mid_transaction(&env.target, ROWS - 10).await;
    assert!(sluice.stop().success(), "{}", sluice.log_text());
    let log = sluice.log_text();
    assert!(
        log.contains("stopped in the middle of a large source transaction"),
        "{log}"
    );
    assert_eq!(
        count_and_sum(&env.target, "li_dst").await.0,
        10,
        "none of it shows"
    );
    assert_eq!(
        checkpoint(&env.target).await,
        before,
        "the checkpoint stays before it"
    );
    let mut sluice = Sluice::start(&env, &dir, port);
    let want = count_and_sum(&env.source, "li_src").await;
    wait_for(
        Duration::from_secs(90),
        "all of it after the restart",
        || async { count_and_sum(&env.target, "li_dst").await == want },
    )
    .await;
    let before = checkpoint(&env.target).await;

    // 2. SIGKILL while the updates are being written.
    exec(&mut src, "UPDATE li_src.items SET qty = qty + 1").await;
    wait_mid_transaction(&env.target, ROWS).await;
    sluice.kill();
    // The target rolls the orphaned transaction back once it notices the
    // connection is gone; until then its rows stay locked and unchanged.
    wait_for(
        Duration::from_secs(60),
        "the target to roll back",
        || async {
            let mut c = connect(&env.target).await;
            let n: Option<u64> = c
                .query_first("SELECT COUNT(*) FROM information_schema.innodb_trx")
                .await
                .unwrap();
            n == Some(0)
        },
    )
    .await;
    assert_eq!(
        count_and_sum(&env.target, "li_dst").await,
        want,
        "none of the updates show"
    );
    assert_eq!(checkpoint(&env.target).await, before);
    let mut sluice = Sluice::start(&env, &dir, port);
    let want = count_and_sum(&env.source, "li_src").await;
    assert_eq!(
        want.1,
        (1..=ROWS).sum::<u64>() + ROWS,
        "every row moved by one"
    );
    wait_for(
        Duration::from_secs(90),
        "every update exactly once",
        || async { count_and_sum(&env.target, "li_dst").await == want },
    )
    .await;

    // 3. A config reload that changes the pipeline, while the updates of
    //    another large transaction are being written.
    exec(&mut src, "UPDATE li_src.items SET qty = qty + 1").await;
    wait_mid_transaction(&env.target, ROWS).await;
    write_config(
        &dir,
        &(config_head(&env.source, 5140, &start, port)
            + &mysql_target(&env, "dst", "li_dst")
            + "\n[[pipelines]]\nname = \"li\"\nsource_tables = [\"li_src.items\"]\ntarget = \"dst\"\non_error = \"skip\"\n"),
    );
    wait_for(
        Duration::from_secs(30),
        "the reload to stop the pipeline mid-transaction",
        || async {
            // The log file is shared by all runs; the SIGTERM above wrote
            // the first of these lines.
            sluice
                .log_text()
                .matches("stopped in the middle of a large source transaction")
                .count()
                == 2
        },
    )
    .await;
    let want = count_and_sum(&env.source, "li_src").await;
    wait_for(
        Duration::from_secs(90),
        "the reloaded pipeline to apply it",
        || async { count_and_sum(&env.target, "li_dst").await == want },
    )
    .await;
    assert!(
        sluice.log_text().contains("config reloaded"),
        "{}",
        sluice.log_text()
    );
    assert!(sluice.stop().success(), "{}", sluice.log_text());
    exec(&mut src, "DROP DATABASE li_src").await;
    exec(&mut tgt, "DROP DATABASE li_dst").await;
}
