//! An online schema change as gh-ost and pt-online-schema-change make it,
//! while writes go on: a shadow table `_t_gho` is created like `t` and
//! altered, triggers mirror every write on `t` into it (pt-osc's way; gh-ost
//! mirrors from the binlog, which lands in the binlog the same), existing
//! rows are copied, then `RENAME TABLE t TO _t_del, _t_gho TO t` swaps
//! them and `_t_del` is dropped. Under `ddl = "apply"` the target follows:
//! it ends equal to the source, with the new column, no row lost or
//! duplicated, and no shadow table left.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use mysql_async::prelude::Queryable;
use sluice_e2e::*;

const Q: &str = "SELECT id, v, note FROM {db}.t ORDER BY id";

#[tokio::test(flavor = "multi_thread")]
async fn the_target_follows_a_shadow_table_swap_while_writes_go_on() {
    let env = env();
    let dir = scratch("online_schema_change");
    let mut src = connect(&env.source).await;
    let mut tgt = connect(&env.target).await;
    let table = "CREATE TABLE {db}.t (id INT PRIMARY KEY, v INT NOT NULL)";
    recreate(&mut src, "osc_src", table).await;
    recreate(&mut tgt, "osc_dst", table).await;
    let start = source_position(&mut src).await;
    exec(
        &mut src,
        "INSERT INTO osc_src.t SELECT seq, seq FROM osc_src.seq_1_to_2000",
    )
    .await;
    let port = free_port();
    write_config(
        &dir,
        &(config_head(&env.source, 5143, &start, port)
            + &mysql_target(&env, "dst", "osc_dst")
            + "\n[[pipelines]]\nname = \"osc\"\nsource_tables = [\"osc_src.t\"]\ntarget = \"dst\"\nddl = \"apply\"\n"),
    );
    let mut sluice = Sluice::start(&env, &dir, port);

    // Writes on `t` all along: new rows, and updates of old ones.
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (url, stop) = (env.source.clone(), stop.clone());
        tokio::spawn(async move {
            let mut c = connect(&url).await;
            let mut n = 0u32;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                c.exec_drop(
                    "INSERT INTO osc_src.t (id, v) VALUES (?, ?)",
                    (100_000 + n, n),
                )
                .await
                .unwrap();
                c.exec_drop(
                    "UPDATE osc_src.t SET v = v + 1 WHERE id = ?",
                    (n * 7 % 2000 + 1,),
                )
                .await
                .unwrap();
                if n.is_multiple_of(10) {
                    c.exec_drop("DELETE FROM osc_src.t WHERE id = ?", (n * 13 % 2000 + 1,))
                        .await
                        .unwrap();
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            n
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    exec(
        &mut src,
        "CREATE TABLE osc_src._t_gho LIKE osc_src.t;
ALTER TABLE osc_src._t_gho ADD COLUMN note VARCHAR(10) NULL;
CREATE TRIGGER osc_src.t_ins AFTER INSERT ON osc_src.t FOR EACH ROW REPLACE INTO osc_src._t_gho (id, v) VALUES (NEW.id, NEW.v);
CREATE TRIGGER osc_src.t_upd AFTER UPDATE ON osc_src.t FOR EACH ROW REPLACE INTO osc_src._t_gho (id, v) VALUES (NEW.id, NEW.v);
CREATE TRIGGER osc_src.t_del AFTER DELETE ON osc_src.t FOR EACH ROW DELETE FROM osc_src._t_gho WHERE id = OLD.id",
    )
    .await;
    // The copy, in chunks, as the tools do.
    for lo in (0..2000).step_by(500) {
        exec(
            &mut src,
            &format!(
                "INSERT IGNORE INTO osc_src._t_gho (id, v) SELECT id, v FROM osc_src.t WHERE id > {lo} AND id <= {} LOCK IN SHARE MODE",
                lo + 500
            ),
        )
        .await;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    exec(
        &mut src,
        "INSERT IGNORE INTO osc_src._t_gho (id, v) SELECT id, v FROM osc_src.t WHERE id > 2000 LOCK IN SHARE MODE",
    )
    .await;
    exec(
        &mut src,
        "RENAME TABLE osc_src.t TO osc_src._t_del, osc_src._t_gho TO osc_src.t",
    )
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    exec(&mut src, "DROP TABLE osc_src._t_del").await;
    exec(
        &mut src,
        "UPDATE osc_src.t SET note = 'after' WHERE id % 100 = 0",
    )
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::Relaxed);
    let writes = writer.await.unwrap();
    assert!(writes > 50, "writes went on during the change: {writes}");

    let expected = rows(&mut src, &Q.replace("{db}", "osc_src")).await;
    wait_for(
        Duration::from_secs(60),
        "the target to equal the source",
        || {
            let (url, expected) = (env.target.clone(), expected.clone());
            async move {
                let mut t = connect(&url).await;
                try_rows(&mut t, &Q.replace("{db}", "osc_dst")).await.ok() == Some(expected)
            }
        },
    )
    .await;
    let left: Vec<String> = tgt
        .query("SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'osc_dst' AND TABLE_NAME LIKE '\\_t\\_%'")
        .await
        .unwrap();
    assert!(
        left.is_empty(),
        "no shadow table left in the target: {left:?}"
    );
    assert!(sluice.stop().success(), "{}", sluice.log_text());
    exec(&mut src, "DROP DATABASE osc_src").await;
    exec(&mut tgt, "DROP DATABASE osc_dst").await;
}
