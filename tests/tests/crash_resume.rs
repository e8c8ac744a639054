//! Exactly-once across crashes: 10,000 small source transactions each
//! increment a counter while the engine is SIGKILLed twice and restarted.
//! Triggers on the target log every row write, so an update applied twice
//! would show up as a value written again or going backwards; none may.

use std::time::Duration;

use mysql_async::prelude::Queryable;
use sluice_e2e::*;

const KEYS: u64 = 100;
const TXNS: u64 = 10_000;

#[tokio::test(flavor = "multi_thread")]
async fn resumes_after_sigkill_without_loss_or_duplicates() {
    let env = env();
    let dir = scratch("crash_resume");
    let mut src = connect(&env.source).await;
    let mut tgt = connect(&env.target).await;
    recreate(
        &mut src,
        "cr_src",
        "CREATE TABLE {db}.counter (id INT PRIMARY KEY, n INT NOT NULL)",
    )
    .await;
    recreate(
        &mut tgt,
        "cr_dst",
        "CREATE TABLE {db}.counter (id INT PRIMARY KEY, n INT NOT NULL);
        CREATE TABLE {db}.applied (seq BIGINT AUTO_INCREMENT PRIMARY KEY, k INT NOT NULL, n INT NOT NULL);
        CREATE TRIGGER {db}.counter_ai AFTER INSERT ON {db}.counter FOR EACH ROW INSERT INTO {db}.applied (k, n) VALUES (NEW.id, NEW.n);
        CREATE TRIGGER {db}.counter_au AFTER UPDATE ON {db}.counter FOR EACH ROW INSERT INTO {db}.applied (k, n) VALUES (NEW.id, NEW.n)",
    )
    .await;
    let start = source_position(&mut src).await;
    let values: Vec<String> = (0..KEYS).map(|k| format!("({k}, 0)")).collect();
    exec(
        &mut src,
        &format!("INSERT INTO cr_src.counter VALUES {}", values.join(",")),
    )
    .await;

    let port = free_port();
    write_config(
        &dir,
        &(config_head(&env.source, 5102, &start, port)
            + &mysql_target(&env, "dst", "cr_dst")
            + "\n[[pipelines]]\nname = \"counter\"\nsource_tables = [\"cr_src.counter\"]\ntarget = \"dst\"\n"),
    );

    // The generator: one autocommit UPDATE per transaction.
    let src_url = env.source.clone();
    let generator = tokio::spawn(async move {
        let mut c = connect(&src_url).await;
        for i in 0..TXNS {
            c.exec_drop(
                "UPDATE cr_src.counter SET n = n + 1 WHERE id = ?",
                (i % KEYS,),
            )
            .await
            .unwrap();
        }
    });

    let applied = |url: String| async move {
        let mut t = connect(&url).await;
        let sum: Option<u64> = t
            .query_first("SELECT CAST(COALESCE(SUM(n), 0) AS UNSIGNED) FROM cr_dst.counter")
            .await
            .unwrap();
        sum.unwrap_or(0)
    };

    let mut sluice = Sluice::start(&env, &dir, port);
    for threshold in [1_500u64, 5_000] {
        wait_for(
            Duration::from_secs(120),
            &format!("{threshold} applied updates"),
            || {
                let f = applied(env.target.clone());
                async move { f.await >= threshold }
            },
        )
        .await;
        sluice.kill();
        sluice = Sluice::start(&env, &dir, port);
    }
    generator.await.unwrap();
    wait_for(Duration::from_secs(120), "all updates applied", || {
        let f = applied(env.target.clone());
        async move { f.await >= TXNS }
    })
    .await;
    assert!(sluice.stop().success(), "{}", sluice.log_text());
    let log = sluice.log_text();
    assert_eq!(
        log.matches("pipeline ready pipeline=counter checkpoint=Some")
            .count(),
        2,
        "both restarts resumed from a checkpoint:\n{log}"
    );

    let source_rows = rows(&mut src, "SELECT id, n FROM cr_src.counter ORDER BY id").await;
    let target_rows = rows(&mut tgt, "SELECT id, n FROM cr_dst.counter ORDER BY id").await;
    assert_eq!(source_rows, target_rows, "target equals source");
    // Group commit may fold several updates of a key into one write, so
    // the writes per key are fewer than the updates; but a transaction
    // applied twice would write an old value again. Per key, the logged
    // values must rise strictly, with no value written twice.
    let log: Vec<(i64, i64)> = tgt
        .query("SELECT k, n FROM cr_dst.applied ORDER BY seq")
        .await
        .unwrap();
    let mut last = std::collections::HashMap::new();
    for (k, n) in &log {
        if let Some(prev) = last.insert(*k, *n) {
            assert!(
                n > &prev,
                "key {k} written {n} after {prev}: a change applied twice"
            );
        }
    }
    assert_eq!(last.len() as u64, KEYS);
    exec(&mut src, "DROP DATABASE cr_src").await;
    exec(&mut tgt, "DROP DATABASE cr_dst").await;
}
