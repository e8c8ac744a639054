//! One source transaction far larger than memory should hold streams
//! through in pieces, and the target still shows all of it or none:
//! * 1,000,000 inserts in one transaction (about 200 MB of binlog) arrive
//!   whole; a reader polling the target meanwhile never sees a part of them;
//!   the peak RSS of `sluice` stays under 150 MB;
//! * 300,000 updates in one transaction, with the target's connection
//!   killed in the middle of applying them: the open target transaction is
//!   lost, and the engine reads the transaction again and applies it once;
//! * 300,000 deletes in one transaction, with the source's dump connection
//!   killed in the middle: the reader sends it again from its first piece,
//!   and the pipeline starts it over;
//! * 200,000 updates in one transaction, one of which the target refuses:
//!   under `on_error = "dead-letter"` only its piece is written again, without
//!   it, and the rest of the transaction applies.
//!
//! This runs on a source server of its own (`SLUICE_TEST_LARGE`), so no
//! other test has to read past these transactions.

use std::time::{Duration, Instant};

use mysql_async::prelude::Queryable;
use sluice_e2e::*;

const ROWS: u64 = 1_000_000;

/// Peak resident memory of a process, in KiB.
fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/PID/status")
}

async fn count(url: &str, sql: &str) -> u64 {
    let mut c = connect(url).await;
    let n: Option<u64> = c.query_first(sql).await.unwrap();
    n.unwrap_or(0)
}

/// A fault injected once the target holds an open transaction of more
/// than 50,000 row changes (a large one being applied in pieces).
#[derive(Clone, Copy, PartialEq)]
enum Fault {
    None,
    /// KILL the target connection that applies it.
    KillTarget,
    /// KILL the source's dump connection.
    KillDump,
}

/// Poll the target until `sql` gives `want`; every value seen on the way
/// must be `before` or `want` (the transaction is all or nothing). Returns
/// whether `fault` was injected.
async fn watch_until(
    env: &Env,
    source: &str,
    sql: &str,
    (before, want): (u64, u64),
    what: &str,
    fault: Fault,
) -> bool {
    let mut c = connect(&env.target).await;
    let started = Instant::now();
    let mut injected = false;
    loop {
        let got: Option<u64> = c.query_first(sql).await.unwrap();
        let got = got.unwrap_or(0);
        if got == want {
            return injected;
        }
        assert_eq!(
            got, before,
            "{what}: the target showed part of a source transaction"
        );
        assert!(
            started.elapsed() < Duration::from_secs(240),
            "{what}: timed out"
        );
        if fault != Fault::None
            && !injected
            && let Some(id) = open_target_writer(&env.target, 50_000).await
        {
            let (url, victim) = match fault {
                Fault::KillTarget => (env.target.as_str(), Some(id)),
                _ => {
                    let mut s = connect(source).await;
                    let dump: Option<u64> = s
                        .query_first("SELECT ID FROM information_schema.PROCESSLIST WHERE COMMAND = 'Binlog Dump'")
                        .await
                        .unwrap();
                    (source, dump)
                }
            };
            if let Some(victim) = victim {
                let mut k = connect(url).await;
                k.query_drop(format!("KILL {victim}")).await.unwrap();
                injected = true;
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The target connection that holds an open transaction with more than
/// `rows` row changes, if any.
async fn open_target_writer(tgt: &str, rows: u64) -> Option<u64> {
    let mut c = connect(tgt).await;
    c.query_first(format!(
        "SELECT trx_mysql_thread_id FROM information_schema.INNODB_TRX WHERE trx_rows_modified > {rows}"
    ))
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_million_row_transaction_streams_in_pieces_all_or_nothing() {
    let env = env();
    let url =
        std::env::var("SLUICE_TEST_LARGE").expect("SLUICE_TEST_LARGE: run through scripts/test");
    let dir = scratch("large_transaction");
    let table = "(id INT PRIMARY KEY, name VARCHAR(40) NOT NULL, qty BIGINT NOT NULL, \
                 price DECIMAL(12,2) NOT NULL, at DATETIME(6) NOT NULL, note VARCHAR(200) NOT NULL)";
    let mut src = connect(&url).await;
    let mut tgt = connect(&env.target).await;
    recreate(
        &mut src,
        "lt_src",
        &format!("CREATE TABLE {{db}}.items {table}"),
    )
    .await;
    // The target refuses a quantity the source allows (step 4).
    let checked = table.replace(
        "NOT NULL)",
        "NOT NULL, CONSTRAINT qty_fits CHECK (qty < 1000000000))",
    );
    recreate(
        &mut tgt,
        "lt_dst",
        &format!("CREATE TABLE {{db}}.items {checked}"),
    )
    .await;
    let start = source_position(&mut src).await;
    let port = free_port();
    write_config(
        &dir,
        &(config_head(&url, 5136, &start, port)
            + &mysql_target(&env, "dst", "lt_dst")
            + "\n[[pipelines]]\nname = \"large\"\nsource_tables = [\"lt_src.items\"]\ntarget = \"dst\"\non_error = \"dead-letter\"\n"),
    );
    let mut sluice = Sluice::start(&env, &dir, port);

    // 1. A million inserts in one transaction.
    let t = Instant::now();
    src.query_drop(format!(
        "INSERT INTO lt_src.items SELECT seq, CONCAT('item-', seq), seq * 3, seq / 100, \
         TIMESTAMP'2026-01-01 00:00:00' + INTERVAL seq SECOND + INTERVAL seq MICROSECOND, \
         REPEAT(CHAR(97 + seq % 26), 150) FROM lt_src.seq_1_to_{ROWS}"
    ))
    .await
    .unwrap();
    eprintln!("source insert took {:?}", t.elapsed());
    let (file, size): (String, u64) = src
        .query_first("SHOW MASTER STATUS")
        .await
        .unwrap()
        .map(|r: mysql_async::Row| (r.get(0).unwrap(), r.get(1).unwrap()))
        .unwrap();
    eprintln!("binlog {file} is {} MB", size >> 20);
    let count_sql = "SELECT COUNT(*) FROM lt_dst.items";
    watch_until(
        &env,
        &url,
        count_sql,
        (0, ROWS),
        "the million inserts",
        Fault::None,
    )
    .await;
    eprintln!("applied in {:?} after the insert began", t.elapsed());
    let text = sluice.metrics();
    assert!(
        metric(&text, "sluice_source_large_transactions_total").unwrap_or(0.0) >= 1.0,
        "the transaction came in pieces:\n{text}"
    );
    let rss = peak_rss_kib(sluice.child_id());
    eprintln!(
        "peak RSS of sluice after the million-row transaction: {} MiB",
        rss >> 10
    );
    assert!(
        rss < 150 << 10,
        "peak RSS {} MiB, more than 150 MiB",
        rss >> 10
    );

    // 2. 300,000 updates in one transaction; the target connection is
    //    killed while the pieces are being applied.
    let sum_sql = "SELECT SUM(qty) FROM lt_dst.items";
    let before = count(&env.target, sum_sql).await;
    src.query_drop("UPDATE lt_src.items SET qty = qty + 1 WHERE id <= 300000")
        .await
        .unwrap();
    let killed = watch_until(
        &env,
        &url,
        sum_sql,
        (before, before + 300_000),
        "the updates",
        Fault::KillTarget,
    )
    .await;
    assert!(killed, "the target connection was killed mid-transaction");
    let log = sluice.log_text();
    assert!(
        log.contains("restarting from the checkpoints to read it again"),
        "the lost transaction was read again:\n{log}"
    );

    // 3. 300,000 deletes in one transaction; the dump connection is
    //    killed while the pieces are being applied.
    src.query_drop("DELETE FROM lt_src.items WHERE id > 700000")
        .await
        .unwrap();
    let killed = watch_until(
        &env,
        &url,
        count_sql,
        (ROWS, 700_000),
        "the deletes",
        Fault::KillDump,
    )
    .await;
    assert!(killed, "the dump connection was killed mid-transaction");
    let log = sluice.log_text();
    assert!(
        log.contains("again from its start"),
        "the re-sent transaction was started over:\n{log}"
    );

    // Equal, row for row (by checksum) and by count.
    let mut src = connect(&url).await;
    let a = rows(&mut src, "CHECKSUM TABLE lt_src.items").await;
    let b = rows(&mut tgt, "CHECKSUM TABLE lt_dst.items").await;
    assert_eq!(a[0][1], b[0][1], "the target equals the source");

    // 4. 200,000 updates in one transaction, one of which the target
    //    refuses: with on_error = "dead-letter" only its piece is rolled
    //    back (to a savepoint) and written again without it; the rest of
    //    the transaction applies, and the row is in sluice_dead_letter.
    let before = count(&env.target, sum_sql).await;
    src.query_drop(
        "UPDATE lt_src.items SET qty = IF(id = 12345, 2000000000, qty + 1) WHERE id <= 200000",
    )
    .await
    .unwrap();
    watch_until(
        &env,
        &url,
        sum_sql,
        (before, before + 199_999),
        "the updates with a refused row",
        Fault::None,
    )
    .await;
    let dead = rows(
        &mut tgt,
        "SELECT source_table, change_json, error FROM lt_dst.sluice_dead_letter",
    )
    .await;
    assert_eq!(dead.len(), 1, "one dead letter: {dead:?}");
    let (change, error) = (dead[0][1].clone().unwrap(), dead[0][2].clone().unwrap());
    assert!(
        change.contains("12345") && change.contains("2000000000"),
        "{change}"
    );
    assert!(error.contains("qty_fits"), "{error}");
    let rest = "SELECT COUNT(*), SUM(qty), SUM(CRC32(CONCAT_WS('|', id, name, qty, price, at, note)))                 FROM {db}.items WHERE id <> 12345";
    assert_eq!(
        rows(&mut src, &rest.replace("{db}", "lt_src")).await,
        rows(&mut tgt, &rest.replace("{db}", "lt_dst")).await,
        "every other row applied"
    );
    // Rows of a transaction that was rolled back and applied again are
    // counted once: 300,000 updates (step 2) and 199,999 (step 4).
    let text = sluice.metrics();
    assert_eq!(
        metric(
            &text,
            "sluice_target_rows_total{target=\"dst\",op=\"update\"}"
        ),
        Some(499_999.0),
        "{text}"
    );
    assert!(sluice.stop().success(), "{}", sluice.log_text());
    exec(&mut src, "DROP DATABASE lt_src").await;
    exec(&mut tgt, "DROP DATABASE lt_dst").await;
}
