//! Exactly-once across crashes: 10,000 small source transactions each
//! increment a counter while the engine is SIGKILLed twice and restarted.
//! Triggers on the target log every row write, so an update applied twice
//! would show up as a duplicate log entry; none may.

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
    exec(
        &mut src,
        "DROP DATABASE IF EXISTS cr_src;
        CREATE DATABASE cr_src;
        CREATE TABLE cr_src.counter (id INT PRIMARY KEY, n INT NOT NULL)",
    )
    .await;
    exec(
        &mut tgt,
        "DROP DATABASE IF EXISTS cr_dst;
        CREATE DATABASE cr_dst;
        CREATE TABLE cr_dst.counter (id INT PRIMARY KEY, n INT NOT NULL);
        CREATE TABLE cr_dst.applied (seq BIGINT AUTO_INCREMENT PRIMARY KEY, k INT NOT NULL, n INT NOT NULL);
        CREATE TRIGGER cr_dst.counter_ai AFTER INSERT ON cr_dst.counter FOR EACH ROW INSERT INTO cr_dst.applied (k, n) VALUES (NEW.id, NEW.n);
        CREATE TRIGGER cr_dst.counter_au AFTER UPDATE ON cr_dst.counter FOR EACH ROW INSERT INTO cr_dst.applied (k, n) VALUES (NEW.id, NEW.n)",
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
    std::fs::write(
        dir.join("sluice.toml"),
        format!(
            r#"
[source]
url = "{src}"
server_id = 5102
start = "{start}"

[metrics]
listen = "127.0.0.1:{port}"

[targets.dst]
kind = "mysql"
url = "{tgt}/cr_dst"

[[pipelines]]
name = "counter"
source_tables = ["cr_src.counter"]
target = "dst"
"#,
            src = env.source,
            tgt = env.target,
        ),
    )
    .unwrap();

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

    let source_rows = rows(&mut src, "SELECT id, n FROM cr_src.counter ORDER BY id").await;
    let target_rows = rows(&mut tgt, "SELECT id, n FROM cr_dst.counter ORDER BY id").await;
    assert_eq!(source_rows, target_rows, "target equals source");
    let writes: u64 = tgt
        .query_first("SELECT COUNT(*) FROM cr_dst.applied")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        writes,
        KEYS + TXNS,
        "every source row change written exactly once"
    );
    let dups: Vec<(i64, i64, i64)> = tgt
        .query("SELECT k, n, COUNT(*) FROM cr_dst.applied GROUP BY k, n HAVING COUNT(*) > 1")
        .await
        .unwrap();
    assert!(dups.is_empty(), "changes applied twice: {dups:?}");
    exec(&mut src, "DROP DATABASE cr_src").await;
    exec(&mut tgt, "DROP DATABASE cr_dst").await;
}
