//! A target that rejects every write (`read_only=ON`, as on a replica or
//! during a failover): the pipeline neither spins nor loses data. It
//! retries with backoff, a handful of attempts in seconds, and its log says
//! what is wrong and what to do. Once the server is writable again every
//! change arrives, exactly once. Sluice connects as a user without
//! READ ONLY ADMIN, so `read_only` applies to it; every other test connects
//! as root, which it does not stop.

use std::time::Duration;

use sluice_e2e::*;

#[tokio::test(flavor = "multi_thread")]
async fn a_read_only_target_is_retried_with_backoff_and_loses_nothing() {
    let env = env();
    let dir = scratch("read_only_target");
    let mut src = connect(&env.source).await;
    let mut tgt = connect(&env.target).await;
    let table = "CREATE TABLE {db}.item (id INT PRIMARY KEY, name VARCHAR(20) NOT NULL)";
    recreate(&mut src, "ro_src", table).await;
    recreate(
        &mut tgt,
        "ro_dst",
        &format!("{table};\n{}", applied_log("item")),
    )
    .await;
    exec(
        &mut tgt,
        "CREATE USER IF NOT EXISTS 'ro_sluice'@'127.0.0.1';
GRANT ALL ON ro_dst.* TO 'ro_sluice'@'127.0.0.1'",
    )
    .await;
    let start = source_position(&mut src).await;
    let port = free_port();
    let url = env.target.replace("root@", "ro_sluice@");
    write_config(
        &dir,
        &(config_head(&env.source, 5144, &start, port)
            + &format!("\n[targets.dst]\nkind = \"mysql\"\nurl = \"{url}/ro_dst\"\n")
            + "\n[[pipelines]]\nname = \"ro\"\nsource_tables = [\"ro_src.item\"]\ntarget = \"dst\"\n"),
    );
    let count = |n: usize| {
        let url = env.target.clone();
        async move {
            rows(&mut connect(&url).await, "SELECT id FROM ro_dst.item")
                .await
                .len()
                == n
        }
    };
    let sluice = Sluice::start(&env, &dir, port);
    exec(&mut src, "INSERT INTO ro_src.item VALUES (1, 'a')").await;
    wait_for(Duration::from_secs(30), "row 1", || count(1)).await;

    exec(&mut tgt, "SET GLOBAL read_only = ON").await;
    let attempts = |s: &Sluice| {
        metric(
            &s.metrics(),
            "sluice_target_errors_total{target=\"dst\",kind=\"transient\"}",
        )
        .unwrap_or(0.0)
    };
    exec(
        &mut src,
        "INSERT INTO ro_src.item VALUES (2, 'b');\nINSERT INTO ro_src.item VALUES (3, 'c')",
    )
    .await;
    tokio::time::sleep(Duration::from_secs(8)).await;
    let tried = attempts(&sluice);
    exec(&mut tgt, "SET GLOBAL read_only = OFF").await;
    assert!(
        (1.0..=15.0).contains(&tried),
        "retried with backoff, not in a loop: {tried} attempts in 8 s"
    );
    let log = sluice.log_text();
    assert!(
        log.contains("target unavailable; retrying with backoff")
            && log.contains("read_only")
            && log.contains("point the target at the primary or run SET GLOBAL read_only=OFF"),
        "the log says what to do:\n{log}"
    );
    wait_for(
        Duration::from_secs(30),
        "rows 2 and 3 after read_only=OFF",
        || count(3),
    )
    .await;
    let mut sluice = sluice;
    assert!(sluice.stop().success(), "{}", sluice.log_text());
    assert_eq!(
        rows(
            &mut tgt,
            "SELECT k, COUNT(*) FROM ro_dst.applied GROUP BY k ORDER BY k"
        )
        .await,
        rows(
            &mut tgt,
            "SELECT 1, 1 UNION ALL SELECT 2, 1 UNION ALL SELECT 3, 1"
        )
        .await,
        "each row written exactly once"
    );
    exec(&mut src, "DROP DATABASE ro_src").await;
    exec(
        &mut tgt,
        "DROP DATABASE ro_dst;\nDROP USER 'ro_sluice'@'127.0.0.1'",
    )
    .await;
}
