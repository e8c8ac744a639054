//! A row the target refuses in the late pieces of a large source
//! transaction, under the default `on_error = "halt"`: the pipeline rolls
//! back the open target transaction, so none of the transaction's rows
//! show and the checkpoint stays before it. Once the cause is fixed, a
//! restart applies the whole transaction from its start.

use std::time::Duration;

use mysql_async::prelude::Queryable;
use sluice_e2e::*;

const ROWS: u64 = 30_000;
/// The refused row, in the transaction's last pieces.
const BAD: u64 = 25_010;

async fn target_rows(url: &str) -> u64 {
    let mut c = connect(url).await;
    let n: Option<u64> = c
        .query_first("SELECT COUNT(*) FROM lh_dst.items")
        .await
        .unwrap();
    n.unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread")]
async fn halt_in_the_middle_of_a_large_transaction_leaves_none_of_it() {
    let env = env();
    let dir = scratch("large_transaction_halt");
    let table = "(id INT PRIMARY KEY, qty BIGINT NOT NULL, note VARCHAR(200) NOT NULL)";
    let mut src = connect(&env.source).await;
    let mut tgt = connect(&env.target).await;
    recreate(
        &mut src,
        "lh_src",
        &format!("CREATE TABLE {{db}}.items {table}"),
    )
    .await;
    recreate(
        &mut tgt,
        "lh_dst",
        &format!(
            "CREATE TABLE {{db}}.items {}",
            table.replace(
                "NOT NULL)",
                "NOT NULL, CONSTRAINT qty_fits CHECK (qty < 1000000000))"
            )
        ),
    )
    .await;
    let start = source_position(&mut src).await;
    let port = free_port();
    write_config(
        &dir,
        &(config_head(&env.source, 5137, &start, port)
            + &mysql_target(&env, "dst", "lh_dst")
            + "\n[[pipelines]]\nname = \"halt\"\nsource_tables = [\"lh_src.items\"]\ntarget = \"dst\"\n"),
    );
    let mut sluice = Sluice::start(&env, &dir, port);

    // A small transaction first, so the checkpoint is a real one.
    exec(
        &mut src,
        "INSERT INTO lh_src.items SELECT seq, seq, 'small' FROM lh_src.seq_1_to_10",
    )
    .await;
    wait_for(Duration::from_secs(30), "the first 10 rows", || async {
        target_rows(&env.target).await == 10
    })
    .await;
    let checkpoint = rows(
        &mut tgt,
        "SELECT binlog_file, binlog_pos FROM lh_dst.sluice_checkpoint WHERE pipeline = 'halt'",
    )
    .await;

    // About 6 MB of binlog in one transaction; the target refuses row BAD.
    exec(
        &mut src,
        &format!(
            "INSERT INTO lh_src.items SELECT seq, IF(seq = {BAD}, 2000000000, seq), \
             REPEAT('n', 150) FROM lh_src.seq_11_to_{ROWS}"
        ),
    )
    .await;
    let status = sluice
        .wait(Duration::from_secs(90))
        .expect("sluice exits once its only pipeline halted");
    assert!(!status.success());
    let log = sluice.log_text();
    assert!(
        log.contains("applying it in pieces"),
        "the transaction came in pieces:\n{log}"
    );
    assert!(
        log.contains("pipeline halted")
            && log.contains("qty_fits")
            && log.contains(&format!("id={BAD}")),
        "the halt names the constraint and the row:\n{log}"
    );
    assert_eq!(
        target_rows(&env.target).await,
        10,
        "none of the refused transaction shows"
    );
    assert_eq!(
        rows(
            &mut tgt,
            "SELECT binlog_file, binlog_pos FROM lh_dst.sluice_checkpoint WHERE pipeline = 'halt'",
        )
        .await,
        checkpoint,
        "the checkpoint stays before the transaction"
    );

    // Fix the cause; a restart applies the whole transaction.
    exec(
        &mut tgt,
        "ALTER TABLE lh_dst.items DROP CONSTRAINT qty_fits",
    )
    .await;
    let mut sluice = Sluice::start(&env, &dir, port);
    wait_for(
        Duration::from_secs(60),
        "the whole transaction after the fix",
        || async { target_rows(&env.target).await == ROWS },
    )
    .await;
    assert!(sluice.stop().success(), "{}", sluice.log_text());
    let want = rows(
        &mut src,
        "SELECT SUM(qty), SUM(CRC32(note)) FROM lh_src.items",
    )
    .await;
    let got = rows(
        &mut tgt,
        "SELECT SUM(qty), SUM(CRC32(note)) FROM lh_dst.items",
    )
    .await;
    assert_eq!(got, want);
    exec(&mut src, "DROP DATABASE lh_src").await;
    exec(&mut tgt, "DROP DATABASE lh_dst").await;
}
