//! The binlog at the checkpoint purged while Sluice was stopped: the start
//! fails with an error that names the checkpoint, the oldest binlog the
//! server still has and the way out, applies nothing, and the way out
//! (`sluice reset-checkpoint`, then a new snapshot) makes the target equal
//! to the source again. On a server of its own (SLUICE_TEST_PURGE), since
//! purging would break every other test reading the shared source.

use std::process::Command;
use std::time::Duration;

use mysql_async::prelude::Queryable;
use sluice_e2e::*;

const TABLE: &str = "CREATE TABLE {db}.item (id INT PRIMARY KEY, name VARCHAR(20) NOT NULL)";

#[tokio::test(flavor = "multi_thread")]
async fn a_purged_checkpoint_stops_with_the_way_out_and_the_way_out_works() {
    let env = env();
    let source = var("SLUICE_TEST_PURGE");
    let dir = scratch("binlog_purged");
    let mut src = connect(&source).await;
    let mut tgt = connect(&env.target).await;
    recreate(&mut src, "bp_src", TABLE).await;
    recreate(&mut tgt, "bp_dst", TABLE).await;
    exec(
        &mut src,
        "INSERT INTO bp_src.item VALUES (1, 'a'), (2, 'b')",
    )
    .await;
    let port = free_port();
    write_config(
        &dir,
        &(config_head(&source, 5141, "current", port)
            + &mysql_target(&env, "dst", "bp_dst")
            + "\n[[pipelines]]\nname = \"items\"\nsource_tables = [\"bp_src.item\"]\ntarget = \"dst\"\n"),
    );
    let count = |n: usize| {
        let url = env.target.clone();
        async move {
            rows(&mut connect(&url).await, "SELECT id FROM bp_dst.item")
                .await
                .len()
                == n
        }
    };
    let mut sluice = Sluice::start(&env, &dir, port);
    wait_for(Duration::from_secs(30), "the snapshot of 2 rows", || {
        count(2)
    })
    .await;
    exec(&mut src, "INSERT INTO bp_src.item VALUES (3, 'c')").await;
    wait_for(Duration::from_secs(30), "row 3 streamed", || count(3)).await;
    assert!(sluice.stop().success(), "{}", sluice.log_text());

    // While it is stopped: changes, then the binlog they are in is purged.
    exec(
        &mut src,
        "INSERT INTO bp_src.item VALUES (4, 'd');\nDELETE FROM bp_src.item WHERE id = 1;\nFLUSH BINARY LOGS",
    )
    .await;
    exec(
        &mut src,
        "INSERT INTO bp_src.item VALUES (5, 'e');\nFLUSH BINARY LOGS",
    )
    .await;
    let newest = source_position(&mut src).await;
    let newest = newest.split(':').next().unwrap().to_owned();
    // A binlog a dump thread still reads is kept; the stopped sluice's
    // thread goes away within moments.
    let mut oldest = String::new();
    for _ in 0..100 {
        exec(&mut src, &format!("PURGE BINARY LOGS TO '{newest}'")).await;
        let first: Option<mysql_async::Row> = src.query_first("SHOW BINARY LOGS").await.unwrap();
        oldest = first.unwrap().get(0).unwrap();
        if oldest == newest {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(oldest, newest, "every older binlog purged");

    let mut sluice = Sluice::start(&env, &dir, port);
    let status = sluice
        .wait(Duration::from_secs(30))
        .expect("sluice stops on a purged checkpoint");
    assert_eq!(status.code(), Some(1), "{}", sluice.log_text());
    let log = sluice.log_text();
    for part in [
        "the source cannot send the binlog from the checkpoint",
        &format!("the oldest binlog it still has is {oldest}"),
        "sluice reset-checkpoint --config FILE --pipeline NAME",
        "start it with snapshot = ",
    ] {
        assert!(log.contains(part), "the error says `{part}`:\n{log}");
    }
    assert_eq!(
        rows(&mut tgt, "SELECT id FROM bp_dst.item ORDER BY id").await,
        rows(&mut tgt, "SELECT 1 UNION SELECT 2 UNION SELECT 3").await,
        "nothing was applied"
    );

    // The way out.
    let out = Command::new(&env.bin)
        .args(["reset-checkpoint", "--config"])
        .arg(dir.join("sluice.toml"))
        .args(["--pipeline", "items"])
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("pipeline `items`: checkpoint binlog."),
        "{text}"
    );
    let mut sluice = Sluice::start(&env, &dir, port);
    wait_for(Duration::from_secs(30), "the new snapshot", || async {
        let t = rows(
            &mut connect(&env.target).await,
            "SELECT id, name FROM bp_dst.item ORDER BY id",
        )
        .await;
        t.len() == 5
    })
    .await;
    // Row 1, deleted during the gap, is still in the target; verify finds
    // and repairs it.
    let (_, out) = run_verify(&env, &dir, &["--repair", "--settle-secs", "5"]);
    assert!(out.contains("id=1 only in the target"), "{out}");
    assert!(out.contains("repaired keys"), "{out}");
    assert_eq!(
        rows(&mut tgt, "SELECT id, name FROM bp_dst.item ORDER BY id").await,
        rows(&mut src, "SELECT id, name FROM bp_src.item ORDER BY id").await
    );
    assert!(sluice.stop().success(), "{}", sluice.log_text());
    exec(&mut src, "DROP DATABASE bp_src").await;
    exec(&mut tgt, "DROP DATABASE bp_dst").await;
}
