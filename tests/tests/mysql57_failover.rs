//! Source failover on MySQL 5.7, GTIDs on, no row metadata (so a schema
//! history decodes the stream): a primary and a replica with
//! `MASTER_AUTO_POSITION=1`; `[source] url` lists both. Under a steady
//! load, with Sluice behind (its target table locked) and a schema change
//! in its history, the primary is killed (SIGKILL) and the replica
//! promoted. Sluice moves its checkpoint and history to the replica
//! (`history::rebase`), follows it through another schema change, and the
//! target ends equal to the new primary with every row written once
//! (counted by a trigger).
//!
//! The load pauses for the instant of the kill, until the replica holds
//! every transaction of the primary: with asynchronous replication a
//! replica may lose the primary's last transactions, and a replica that
//! lacks some Sluice already applied must be refused (the refusal is
//! `mysql57_gtid.rs`). What the test fixes is the state Sluice is in: rows
//! read but not yet applied, and a history keyed by the dead primary.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use mysql_async::prelude::Queryable;
use sluice_e2e::*;

/// `None` while the query fails (a column the ALTER has not brought yet).
async fn maybe_count(url: &str, sql: &str) -> Option<u64> {
    let mut c = connect(url).await;
    let n: Result<Option<(u64,)>, _> = c.query_first(sql).await;
    n.ok().flatten().map(|n| n.0)
}

async fn count(url: &str, sql: &str) -> u64 {
    let mut c = connect(url).await;
    let n: Option<(u64,)> = c.query_first(sql).await.unwrap();
    n.unwrap().0
}

/// Drop the test's tables without writing them to the binlog, and start
/// both servers' binlogs and GTID sets afresh (a replica must have no
/// transactions of its own for the history to move to it). The replica's
/// binlog starts one file later, so no position of the primary happens to
/// name the same place on it.
async fn fresh(primary: &mut mysql_async::Conn, replica: &mut mysql_async::Conn, port: u16) {
    exec(
        replica,
        "STOP SLAVE;\nRESET SLAVE ALL;\nSET sql_log_bin = 0;\nDROP DATABASE IF EXISTS fo57_src;\nSET sql_log_bin = 1;\nRESET MASTER;\nFLUSH BINARY LOGS",
    )
    .await;
    exec(
        primary,
        "SET sql_log_bin = 0;\nDROP DATABASE IF EXISTS fo57_src;\nSET sql_log_bin = 1;\nRESET MASTER",
    )
    .await;
    replica
        .query_drop(format!(
            "CHANGE MASTER TO MASTER_HOST = '127.0.0.1', MASTER_PORT = {port}, MASTER_USER = 'root', MASTER_PASSWORD = '', MASTER_AUTO_POSITION = 1"
        ))
        .await
        .unwrap();
    exec(replica, "START SLAVE").await;
}

/// Wait until the replica has executed everything the primary has.
async fn caught_up(primary: &mut mysql_async::Conn, replica: &mut mysql_async::Conn) {
    let (set,): (String,) = primary
        .query_first("SELECT @@GLOBAL.gtid_executed")
        .await
        .unwrap()
        .unwrap();
    let (r,): (i64,) = replica
        .exec_first("SELECT WAIT_FOR_EXECUTED_GTID_SET(?, 60)", (set,))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(r, 0, "the replica caught up with the primary");
}

/// A connection to a server that may still be starting (crash recovery).
async fn up(url: &str) -> mysql_async::Conn {
    for _ in 0..150 {
        if let Ok(c) = mysql_async::Conn::new(mysql_async::Opts::from_url(url).unwrap()).await {
            return c;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("{url} does not start");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_primary_dies_under_load_and_sluice_follows_the_promoted_replica() {
    let env = env();
    let dir = scratch("mysql57_failover");
    let primary_url = var("SLUICE_TEST_MYSQL57_PRIMARY");
    let replica_url = var("SLUICE_TEST_MYSQL57_REPLICA");
    let primary_server = Server::from_env("SLUICE_TEST_MYSQL57_PRIMARY_DIR");
    let port: u16 = primary_url.rsplit(':').next().unwrap().parse().unwrap();
    // A rerun finds the primary killed by the last run: start it again.
    if mysql_async::Conn::new(mysql_async::Opts::from_url(&primary_url).unwrap())
        .await
        .is_err()
    {
        primary_server.start();
    }
    let mut primary = up(&primary_url).await;
    let mut replica = connect(&replica_url).await;
    fresh(&mut primary, &mut replica, port).await;
    exec(
        &mut primary,
        "CREATE DATABASE fo57_src;\nCREATE TABLE fo57_src.t (id INT PRIMARY KEY, v INT)",
    )
    .await;
    let mut tgt = connect(&env.target).await;
    recreate(
        &mut tgt,
        "fo57_dst",
        &format!(
            "CREATE TABLE {{db}}.t (id INT PRIMARY KEY, v INT);\n{}",
            applied_log("t")
        ),
    )
    .await;
    caught_up(&mut primary, &mut replica).await;

    let metrics = free_port();
    let config = config_head(
        &format!("{primary_url},{replica_url}"),
        5706,
        "current",
        metrics,
    ) + &mysql_target(&env, "dst", "fo57_dst")
        + "\n[[pipelines]]\nname = \"fo57\"\nsource_tables = [\"fo57_src.t\"]\ntarget = \"dst\"\nsnapshot = \"never\"\ngroup_max_rows = 1\n";
    write_config(&dir, &config);
    let mut sluice = Sluice::start(&env, &dir, metrics);
    wait_for(Duration::from_secs(30), "sluice to stream", || async {
        sluice.get("/status").1.contains("streaming")
    })
    .await;

    // A steady load on the primary, with a schema change in the middle of
    // it: the history then holds a version keyed by the primary.
    let next = Arc::new(AtomicU32::new(1));
    let paused = Arc::new(AtomicBool::new(false));
    let load = |url: String, with_w: bool| {
        let (next, paused) = (next.clone(), paused.clone());
        tokio::spawn(async move {
            let mut c = connect(&url).await;
            while !paused.load(Ordering::SeqCst) {
                let id = next.fetch_add(1, Ordering::SeqCst);
                let sql = if with_w {
                    format!("INSERT INTO fo57_src.t VALUES ({id}, {id}, {})", id * 2)
                } else {
                    format!("INSERT INTO fo57_src.t VALUES ({id}, {id})")
                };
                c.query_drop(sql).await.unwrap();
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        })
    };
    let writer = load(primary_url.clone(), false);
    tokio::time::sleep(Duration::from_secs(2)).await;
    paused.store(true, Ordering::SeqCst);
    writer.await.unwrap();
    exec(&mut primary, "ALTER TABLE fo57_src.t ADD COLUMN w INT").await;
    paused.store(false, Ordering::SeqCst);
    let writer = load(primary_url.clone(), true);
    wait_for(
        Duration::from_secs(30),
        "rows after the ALTER applied",
        || async {
            maybe_count(
                &env.target,
                "SELECT COUNT(*) FROM fo57_dst.t WHERE w IS NOT NULL",
            )
            .await
                > Some(50)
        },
    )
    .await;

    // Sluice falls behind: its target table is locked while the load goes on.
    let mut lock = connect(&env.target).await;
    exec(
        &mut lock,
        "LOCK TABLES fo57_dst.t WRITE, fo57_dst.applied WRITE",
    )
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    paused.store(true, Ordering::SeqCst);
    writer.await.unwrap();
    caught_up(&mut primary, &mut replica).await;
    let before_kill = count(&primary_url, "SELECT COUNT(*) FROM fo57_src.t").await;
    drop(primary);
    primary_server.signal("KILL");
    // Promote the replica; the load goes on there.
    exec(&mut replica, "STOP SLAVE;\nRESET SLAVE ALL").await;
    // Read through the lock's own session (others wait for the lock).
    let (applied_at_kill,): (u64,) = lock
        .query_first("SELECT COUNT(*) FROM fo57_dst.applied")
        .await
        .unwrap()
        .unwrap();
    // The lock holds until the source has moved: the move then happens
    // with rows read from the dead primary and not yet applied; the
    // pipeline stops after the one transaction it is applying
    // (group_max_rows = 1), and the rest is read again from the replica.
    wait_for(Duration::from_secs(30), "the source to move", || async {
        sluice
            .log_text()
            .contains("the source moved to another server")
    })
    .await;
    let (applied_at_move,): (u64,) = lock
        .query_first("SELECT COUNT(*) FROM fo57_dst.applied")
        .await
        .unwrap()
        .unwrap();
    eprintln!("applied when the source moved: {applied_at_move}");
    exec(&mut lock, "UNLOCK TABLES").await;
    drop(lock);
    assert!(
        applied_at_kill < before_kill,
        "Sluice was behind at the kill ({applied_at_kill} of {before_kill} rows applied)"
    );
    paused.store(false, Ordering::SeqCst);
    let writer = load(replica_url.clone(), true);
    tokio::time::sleep(Duration::from_secs(2)).await;
    paused.store(true, Ordering::SeqCst);
    writer.await.unwrap();
    // A schema change on the new primary, keyed by its own positions.
    exec(
        &mut replica,
        "ALTER TABLE fo57_src.t ADD COLUMN z INT;\nUPDATE fo57_src.t SET z = id WHERE id % 10 = 0",
    )
    .await;
    let rows = count(&replica_url, "SELECT COUNT(*) FROM fo57_src.t").await;
    let updated = count(
        &replica_url,
        "SELECT COUNT(*) FROM fo57_src.t WHERE z IS NOT NULL",
    )
    .await;
    assert!(rows > before_kill, "the load went on on the replica");

    wait_for(
        Duration::from_secs(60),
        "the target to equal the new primary",
        || async {
            maybe_count(
                &env.target,
                "SELECT COUNT(*) FROM fo57_dst.t WHERE z IS NOT NULL",
            )
            .await
                == Some(updated)
        },
    )
    .await;
    let log = sluice.log_text();
    eprintln!(
        "rows {rows}, at the kill {before_kill} on the primary and {applied_at_kill} applied, {updated} updated"
    );
    assert_eq!(
        count(&env.target, "SELECT COUNT(*) FROM fo57_dst.t").await,
        rows,
        "{log}"
    );
    // Every row once: one trigger entry per insert, plus the updates.
    assert_eq!(
        count(&env.target, "SELECT COUNT(*) FROM fo57_dst.applied").await,
        rows + updated,
        "each row written once"
    );
    assert_eq!(
        count(
            &env.target,
            "SELECT COUNT(*) FROM (SELECT k FROM fo57_dst.applied GROUP BY k HAVING COUNT(*) > IF(k % 10 = 0, 2, 1)) d"
        )
        .await,
        0,
        "no row written twice"
    );
    // The values, not only the counts.
    let sum = |url: String, db: &'static str| async move {
        let mut c = connect(&url).await;
        let s: Option<(String,)> = c
            .query_first(format!(
                "SELECT CAST(SUM(id * 7 + v * 3 + COALESCE(w, -1) * 5 + COALESCE(z, -2)) AS CHAR) FROM {db}.t"
            ))
            .await
            .unwrap();
        s.unwrap().0
    };
    assert_eq!(
        sum(replica_url.clone(), "fo57_src").await,
        sum(env.target.clone(), "fo57_dst").await
    );
    assert!(
        log.contains("the checkpoint and schema history move to this server of [source] url"),
        "{log}"
    );
    assert!(sluice.stop().success(), "{log}");
    std::fs::write(dir.join("failover.log"), &log).unwrap();

    // The old primary back, first in the list, lacks what the replica took
    // since: refused, both sets named, nothing written.
    primary_server.start();
    drop(up(&primary_url).await);
    let mut sluice = Sluice::start(&env, &dir, metrics);
    let status = sluice.wait(Duration::from_secs(30)).expect("sluice stops");
    let log = sluice.log_text();
    assert!(!status.success(), "{log}");
    assert!(
        log.contains("has not executed every transaction Sluice already copied"),
        "{log}"
    );
    assert_eq!(
        count(&env.target, "SELECT COUNT(*) FROM fo57_dst.applied").await,
        rows + updated,
        "nothing more was written"
    );
    exec(&mut replica, "DROP DATABASE fo57_src").await;
    exec(&mut tgt, "DROP DATABASE fo57_dst").await;
}
