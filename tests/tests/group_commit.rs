//! Group commit: a backlog of small source transactions is applied in
//! groups, yet a reader of the target never sees a source transaction half
//! applied. Every transfer moves one unit between two accounts, so any
//! consistent read of the target must show the same total. Tables whose
//! changes must not be reordered (a secondary unique key whose values are
//! swapped, a case-insensitive text key deleted and re-inserted in another
//! case) still end equal to the source.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use mysql_async::prelude::Queryable;
use sluice_e2e::*;

const ACCOUNTS: u64 = 50;
const TRANSFERS: u64 = 4_000;

#[tokio::test(flavor = "multi_thread")]
async fn groups_never_show_a_half_applied_transaction() {
    let env = env();
    let dir = scratch("group_commit");
    let mut src = connect(&env.source).await;
    let mut tgt = connect(&env.target).await;
    let tables = "CREATE TABLE {db}.acct (id INT PRIMARY KEY, bal INT NOT NULL);
        CREATE TABLE {db}.person (id INT PRIMARY KEY, email VARCHAR(40) NOT NULL, UNIQUE KEY (email));
        CREATE TABLE {db}.code (code VARCHAR(10) PRIMARY KEY, v INT NOT NULL)";
    recreate(&mut src, "gc_src", tables).await;
    recreate(&mut tgt, "gc_dst", tables).await;
    let start = source_position(&mut src).await;
    let values: Vec<String> = (0..ACCOUNTS).map(|k| format!("({k}, 1000)")).collect();
    exec(
        &mut src,
        &format!(
            "INSERT INTO gc_src.acct VALUES {};
            INSERT INTO gc_src.person VALUES (1, 'a@x'), (2, 'b@x')",
            values.join(",")
        ),
    )
    .await;
    let transfer = async |c: &mut mysql_async::Conn, i: u64| {
        let (from, to) = (i % ACCOUNTS, (i * 7 + 3) % ACCOUNTS);
        let mut tx = c
            .start_transaction(mysql_async::TxOpts::default())
            .await
            .unwrap();
        tx.exec_drop("UPDATE gc_src.acct SET bal = bal - 1 WHERE id = ?", (from,))
            .await
            .unwrap();
        tx.exec_drop("UPDATE gc_src.acct SET bal = bal + 1 WHERE id = ?", (to,))
            .await
            .unwrap();
        tx.commit().await.unwrap();
    };
    // A backlog, so that groups form; then (in one transaction, so surely
    // in one group) a unique email handed from one row to a new one, and
    // case games with the text key, which a reordering would get wrong
    // without an error to notice it by.
    for i in 0..TRANSFERS / 2 {
        transfer(&mut src, i).await;
    }
    exec(
        &mut src,
        "BEGIN;
        UPDATE gc_src.person SET email = 'tmp' WHERE id = 1;
        INSERT INTO gc_src.person VALUES (3, 'a@x');
        UPDATE gc_src.person SET email = 'c@x' WHERE id = 1;
        INSERT INTO gc_src.code VALUES ('A', 1);
        DELETE FROM gc_src.code WHERE code = 'a';
        INSERT INTO gc_src.code VALUES ('a', 2);
        UPDATE gc_src.code SET v = 3 WHERE code = 'A';
        COMMIT",
    )
    .await;

    let port = free_port();
    write_config(
        &dir,
        &(config_head(&env.source, 5121, &start, port)
            + &mysql_target(&env, "dst", "gc_dst")
            + "\n[[pipelines]]\nname = \"bank\"\nsource_tables = [\"gc_src.*\"]\ntarget = \"dst\"\n"),
    );
    // The reader: every consistent read of the target shows either no
    // accounts yet or the full total.
    let stop = Arc::new(AtomicBool::new(false));
    let reader = {
        let (url, stop) = (env.target.clone(), stop.clone());
        tokio::spawn(async move {
            let mut c = connect(&url).await;
            let mut reads = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let (n, sum): (u64, Option<i64>) = c
                    .query_first("SELECT COUNT(*), CAST(SUM(bal) AS SIGNED) FROM gc_dst.acct")
                    .await
                    .unwrap()
                    .unwrap();
                if n > 0 {
                    assert_eq!(
                        (n, sum),
                        (ACCOUNTS, Some(ACCOUNTS as i64 * 1000)),
                        "a transfer is half applied in the target"
                    );
                }
                reads += 1;
            }
            reads
        })
    };
    let mut sluice = Sluice::start(&env, &dir, port);
    for i in TRANSFERS / 2..TRANSFERS {
        transfer(&mut src, i).await;
    }
    let query = "SELECT id, bal FROM gc_src.acct ORDER BY id";
    let want = rows(&mut src, query).await;
    let dst = query.replace("gc_src", "gc_dst");
    wait_for(
        Duration::from_secs(60),
        "every transfer applied",
        || async {
            let mut c = connect(&env.target).await;
            rows(&mut c, &dst).await == want
        },
    )
    .await;
    stop.store(true, Ordering::Relaxed);
    let reads = reader.await.expect("no read saw a half-applied transfer");
    assert!(reads > 10, "the reader read {reads} times");
    for q in [
        "SELECT id, email FROM gc_src.person ORDER BY id",
        "SELECT code, v FROM gc_src.code ORDER BY code",
    ] {
        let mut c = connect(&env.target).await;
        assert_eq!(
            rows(&mut c, &q.replace("gc_src", "gc_dst")).await,
            rows(&mut src, q).await,
            "{q}"
        );
    }
    let text = sluice.metrics();
    let count = metric(&text, "sluice_group_transactions_count").unwrap();
    let sum = metric(&text, "sluice_group_transactions_sum").unwrap();
    assert!(
        sum / count > 2.0,
        "the backlog was applied in groups: {sum} transactions in {count} groups"
    );
    assert!(sluice.stop().success(), "{}", sluice.log_text());
    exec(&mut src, "DROP DATABASE gc_src").await;
    exec(&mut tgt, "DROP DATABASE gc_dst").await;
}
