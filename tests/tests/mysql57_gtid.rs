//! MySQL GTIDs, live on MySQL 5.7 (`gtid_mode=ON`): every checkpoint stores
//! the executed GTID set in full, a restart reads by that set
//! (`COM_BINLOG_DUMP_GTID`) and copies every row once, and a server that
//! lacks transactions Sluice already copied is refused, with both sets
//! named.

use std::time::Duration;

use mysql_async::prelude::Queryable;
use sluice_e2e::*;

fn source() -> String {
    var("SLUICE_TEST_MYSQL57_SOURCE")
}

async fn insert(src: &mut mysql_async::Conn, ids: std::ops::RangeInclusive<u32>) {
    for id in ids {
        src.exec_drop("INSERT INTO g57_src.t VALUES (?, ?)", (id, id * 10))
            .await
            .unwrap();
    }
}

async fn applied(url: &str) -> (u64, u64) {
    let mut c = connect(url).await;
    let rows: Option<(u64,)> = c
        .query_first("SELECT COUNT(*) FROM g57_dst.t")
        .await
        .unwrap();
    let log: Option<(u64,)> = c
        .query_first("SELECT COUNT(*) FROM g57_dst.applied")
        .await
        .unwrap();
    (rows.unwrap().0, log.unwrap().0)
}

#[tokio::test(flavor = "multi_thread")]
async fn checkpoints_hold_the_gtid_set_and_restarts_read_by_it() {
    let env = env();
    let dir = scratch("mysql57_gtid");
    let mut src = connect(&source()).await;
    let mut tgt = connect(&env.target).await;
    let table = "CREATE TABLE {db}.t (id INT PRIMARY KEY, v INT)";
    recreate(&mut src, "g57_src", table).await;
    recreate(
        &mut tgt,
        "g57_dst",
        &format!("{table};\n{}", applied_log("t")),
    )
    .await;
    let port = free_port();
    let config = |url: &str| {
        config_head(url, 5704, "current", port)
            + &mysql_target(&env, "dst", "g57_dst")
            + "\n[[pipelines]]\nname = \"g57\"\nsource_tables = [\"g57_src.t\"]\ntarget = \"dst\"\nsnapshot = \"never\"\n"
    };
    write_config(&dir, &config(&source()));
    let mut sluice = Sluice::start(&env, &dir, port);
    wait_for(Duration::from_secs(30), "sluice to stream", || async {
        sluice.get("/status").1.contains("streaming")
    })
    .await;
    insert(&mut src, 1..=50).await;
    wait_for(Duration::from_secs(30), "50 rows", || async {
        applied(&env.target).await == (50, 50)
    })
    .await;
    assert!(sluice.stop().success(), "{}", sluice.log_text());
    // The stored set is the server's executed set at the checkpoint's
    // position (PREVIOUS_GTIDS of the file and every GTID before it):
    // complete, not only the GTIDs read since the start. (Other tests
    // write to this server too, so @@gtid_executed itself moves on.)
    let (file, pos, stored): (String, u64, String) = tgt
        .query_first("SELECT binlog_file, binlog_pos, gtid FROM g57_dst.sluice_checkpoint WHERE pipeline = 'g57'")
        .await
        .unwrap()
        .unwrap();
    let at = format!("{file}:{pos}").parse().unwrap();
    let there = sluice::source::snapshot::mysql_gtids_at(&mut src, &at)
        .await
        .unwrap();
    assert_eq!(stored, there.to_string(), "the checkpoint's GTID set");
    let executed: (String,) = src
        .query_first("SELECT @@GLOBAL.gtid_executed")
        .await
        .unwrap()
        .unwrap();
    let executed = executed.0.replace('\n', "");
    let (subset,): (u8,) = src
        .exec_first("SELECT GTID_SUBSET(?, @@GLOBAL.gtid_executed)", (&stored,))
        .await
        .unwrap()
        .unwrap();
    assert!(
        stored.starts_with(&executed[..36]) && subset == 1,
        "{stored} against {executed}"
    );

    // Stopped: 50 more rows, then a restart reads by the set.
    insert(&mut src, 51..=100).await;
    let mut sluice = Sluice::start(&env, &dir, port);
    wait_for(Duration::from_secs(30), "100 rows, each once", || async {
        applied(&env.target).await == (100, 100)
    })
    .await;
    let log = sluice.log_text();
    assert!(
        log.contains("reading the binlog from=after MySQL GTID set"),
        "{log}"
    );
    assert!(sluice.stop().success(), "{log}");

    // A server that has not executed those transactions is refused.
    let other = var("SLUICE_TEST_MYSQL57_OTHER");
    write_config(&dir, &config(&other));
    let mut sluice = Sluice::start(&env, &dir, port);
    let status = sluice.wait(Duration::from_secs(30)).expect("sluice stops");
    let log = sluice.log_text();
    assert!(!status.success(), "{log}");
    assert!(
        log.contains("has not executed every transaction Sluice already copied")
            && log.contains(&executed[..36]),
        "{log}"
    );
    assert_eq!(
        applied(&env.target).await,
        (100, 100),
        "nothing more was applied"
    );
    exec(&mut src, "DROP DATABASE g57_src").await;
    exec(&mut tgt, "DROP DATABASE g57_dst").await;
}
