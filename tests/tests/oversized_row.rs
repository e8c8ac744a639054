//! A row larger than the target's `max_allowed_packet` (a 64 MiB
//! LONGBLOB, from a source that allows it, into a target left at its
//! 16 MiB default): the server would drop the connection on such a
//! statement, which looks like an outage and was retried for ever. It is a
//! definite error on that row instead. The target is a server of its own
//! (SLUICE_TEST_SMALL_PACKET): other tests raise the shared target's limit.
//! Under `halt` the pipeline stops with
//! a message that names the row and the fix and keeps its checkpoint
//! before the row; under `skip` the row is set aside and the rest arrives.

use std::time::Duration;

use mysql_async::prelude::Queryable;
use sluice_e2e::*;

const TABLE: &str = "CREATE TABLE {db}.blobs (id INT PRIMARY KEY, body LONGBLOB NOT NULL)";

#[tokio::test(flavor = "multi_thread")]
async fn a_row_over_the_targets_packet_limit_is_a_definite_error_on_that_row() {
    let env = env();
    let source = var("SLUICE_TEST_EDGE");
    let dir = scratch("oversized_row");
    let mut src = connect(&source).await;
    let target = var("SLUICE_TEST_SMALL_PACKET");
    let mut tgt = connect(&target).await;
    let packet: u64 = tgt
        .query_first("SELECT @@max_allowed_packet")
        .await
        .unwrap()
        .unwrap();
    assert!(
        packet < 64 << 20,
        "the target keeps a smaller limit: {packet}"
    );
    recreate(&mut src, "big_src", TABLE).await;
    recreate(&mut tgt, "big_halt", TABLE).await;
    recreate(&mut tgt, "big_skip", TABLE).await;
    let start = source_position(&mut src).await;
    let port = free_port();
    write_config(
        &dir,
        &(config_head(&source, 5145, &start, port)
            + &format!("\n[targets.halt]\nkind = \"mysql\"\nurl = \"{target}/big_halt\"\n")
            + &format!("\n[targets.skip]\nkind = \"mysql\"\nurl = \"{target}/big_skip\"\n")
            + "\n[[pipelines]]\nname = \"halts\"\nsource_tables = [\"big_src.blobs\"]\ntarget = \"halt\"\n"
            + "\n[[pipelines]]\nname = \"skips\"\nsource_tables = [\"big_src.blobs\"]\ntarget = \"skip\"\non_error = \"skip\"\n"),
    );
    let mut sluice = Sluice::start(&env, &dir, port);
    exec(
        &mut src,
        "INSERT INTO big_src.blobs VALUES (1, 'small');
INSERT INTO big_src.blobs VALUES (2, REPEAT('x', 64 * 1024 * 1024));
INSERT INTO big_src.blobs VALUES (3, 'after')",
    )
    .await;
    let ids = |db: &'static str| {
        let url = target.clone();
        async move {
            rows(
                &mut connect(&url).await,
                &format!("SELECT id FROM {db}.blobs ORDER BY id"),
            )
            .await
        }
    };
    wait_for(
        Duration::from_secs(60),
        "the skipping pipeline to pass row 2",
        || async { ids("big_skip").await.len() == 2 },
    )
    .await;
    assert_eq!(
        ids("big_skip").await,
        rows(&mut tgt, "SELECT 1 UNION SELECT 3").await
    );
    wait_for(
        Duration::from_secs(30),
        "the halting pipeline to halt",
        || async {
            let (_, body) = sluice.get("/status");
            body.contains("\"state\": \"halted\"")
        },
    )
    .await;
    assert_eq!(ids("big_halt").await, rows(&mut tgt, "SELECT 1").await);
    let (_, body) = sluice.get("/status");
    let status: serde_json::Value = serde_json::from_str(&body).unwrap();
    let error = status["pipelines"]["halts"]["error"]
        .as_str()
        .unwrap_or_default();
    assert!(
        error.contains("insert row (id=2)")
            && error.contains("max_allowed_packet")
            && error.contains("raise max_allowed_packet on the target server"),
        "{error}"
    );
    let transient = metric(
        &sluice.metrics(),
        "sluice_target_errors_total{target=\"halt\",kind=\"transient\"}",
    )
    .unwrap_or(0.0);
    assert_eq!(transient, 0.0, "never taken for an outage");
    assert_eq!(sluice.stop().code(), Some(1), "a halted pipeline exits 1");
    exec(&mut src, "DROP DATABASE big_src").await;
    exec(&mut tgt, "DROP DATABASE big_halt;\nDROP DATABASE big_skip").await;
}
