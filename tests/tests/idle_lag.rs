//! Lag on an idle source: with no writes for two minutes,
//! `sluice_replication_lag_seconds` stays near 0 and does not grow with
//! idleness; when the source freezes (`kill -STOP`) it rises, and it falls
//! back once the source runs again. On a server of its own
//! (SLUICE_TEST_IDLE), which no other test writes to.

use std::time::{Duration, Instant};

use sluice_e2e::*;

fn lag(sluice: &Sluice) -> f64 {
    metric(
        &sluice.metrics(),
        "sluice_replication_lag_seconds{pipeline=\"quiet\"}",
    )
    .unwrap_or(f64::NAN)
}

#[tokio::test(flavor = "multi_thread")]
async fn lag_stays_near_zero_when_idle_and_rises_when_the_source_freezes() {
    let env = env();
    let source = var("SLUICE_TEST_IDLE");
    let server = Server::from_env("SLUICE_TEST_IDLE_DIR");
    let dir = scratch("idle_lag");
    let mut src = connect(&source).await;
    let mut tgt = connect(&env.target).await;
    let table = "CREATE TABLE {db}.t (id INT PRIMARY KEY)";
    recreate(&mut src, "il_src", table).await;
    recreate(&mut tgt, "il_dst", table).await;
    let start = source_position(&mut src).await;
    let port = free_port();
    write_config(
        &dir,
        &(config_head(&source, 5142, &start, port)
            + &mysql_target(&env, "dst", "il_dst")
            + "\n[[pipelines]]\nname = \"quiet\"\nsource_tables = [\"il_src.t\"]\ntarget = \"dst\"\n"),
    );
    let mut sluice = Sluice::start(&env, &dir, port);
    exec(&mut src, "INSERT INTO il_src.t VALUES (1)").await;
    drop(src);
    wait_for(
        Duration::from_secs(30),
        "row 1 and a lag reading",
        || async { lag(&sluice).is_finite() },
    )
    .await;

    // Two minutes without a write.
    let began = Instant::now();
    let mut samples = Vec::new();
    while began.elapsed() < Duration::from_secs(120) {
        tokio::time::sleep(Duration::from_secs(5)).await;
        samples.push(lag(&sluice));
    }
    assert!(
        samples.iter().all(|&l| (0.0..1.5).contains(&l)),
        "lag stays near 0 on an idle source: {samples:?}"
    );

    // Frozen: nothing arrives, not even heartbeats.
    server.signal("STOP");
    tokio::time::sleep(Duration::from_secs(8)).await;
    let frozen = lag(&sluice);
    server.signal("CONT");
    assert!(frozen >= 5.0, "lag rises on a frozen source: {frozen}");
    wait_for(
        Duration::from_secs(60),
        "lag to fall back after the freeze",
        || async { lag(&sluice) < 1.5 },
    )
    .await;
    assert!(sluice.stop().success(), "{}", sluice.log_text());
    exec(&mut connect(&source).await, "DROP DATABASE il_src").await;
    exec(&mut tgt, "DROP DATABASE il_dst").await;
}
