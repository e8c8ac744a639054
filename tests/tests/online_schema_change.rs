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

/// One write of the application, retried as an application would when the
/// server refuses it with 1146 (no such table): MariaDB can fail a write on
/// `t` that races the swap, when the statement was prepared against the old
/// `t` whose trigger names `_t_gho`. A refused statement is rolled back and
/// never logged, so the source stays the truth the target is compared with.
async fn write(c: &mut mysql_async::Conn, sql: &str, params: impl Into<mysql_async::Params>) {
    let params: mysql_async::Params = params.into();
    for _ in 0..100 {
        match c.exec_drop(sql, params.clone()).await {
            Ok(()) => return,
            Err(mysql_async::Error::Server(e)) if e.code == 1146 => {
                tokio::time::sleep(Duration::from_millis(10)).await
            }
            Err(e) => panic!("{sql}: {e}"),
        }
    }
    panic!("{sql}: still refused with 1146 after 100 tries");
}

const Q: &str = "SELECT id, v, note FROM {db}.t ORDER BY id";

#[tokio::test(flavor = "multi_thread")]
async fn the_target_follows_a_shadow_table_swap_while_writes_go_on() {
    let env = env();
    swap(&env, &env.source.clone(), "online_schema_change", 5143).await;
}

/// The same on MySQL 5.7, which writes no row metadata: the schema
/// history follows the shadow through its creation, ALTER and the swap.
#[tokio::test(flavor = "multi_thread")]
async fn the_swap_is_followed_on_mysql_57_without_row_metadata() {
    let env = env();
    swap(
        &env,
        &var("SLUICE_TEST_MYSQL57_SOURCE"),
        "online_schema_change_57",
        5144,
    )
    .await;
}

async fn swap(env: &Env, source: &str, name: &str, server_id: u32) {
    let dir = scratch(name);
    // The target database: both tests share the target server.
    let dst = format!("{name}_dst");
    let dst = dst.as_str();
    let mut src = connect(source).await;
    let mut tgt = connect(&env.target).await;
    let table = "CREATE TABLE {db}.t (id INT PRIMARY KEY, v INT NOT NULL)";
    recreate(&mut src, "osc_src", table).await;
    recreate(&mut tgt, dst, table).await;
    let start = source_position(&mut src).await;
    let seed: Vec<String> = (1..=2000).map(|i| format!("({i}, {i})")).collect();
    exec(
        &mut src,
        &format!("INSERT INTO osc_src.t VALUES {}", seed.join(", ")),
    )
    .await;
    let port = free_port();
    write_config(
        &dir,
        &(config_head(source, server_id, &start, port)
            + &mysql_target(env, "dst", dst)
            + "\n[[pipelines]]\nname = \"osc\"\nsource_tables = [\"osc_src.t\"]\ntarget = \"dst\"\nddl = \"apply\"\n"),
    );
    let mut sluice = Sluice::start(env, &dir, port);

    // Writes on `t` all along: new rows, and updates of old ones.
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (url, stop) = (source.to_owned(), stop.clone());
        tokio::spawn(async move {
            let mut c = connect(&url).await;
            let mut n = 0u32;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                write(
                    &mut c,
                    "INSERT INTO osc_src.t (id, v) VALUES (?, ?)",
                    (100_000 + n, n),
                )
                .await;
                write(
                    &mut c,
                    "UPDATE osc_src.t SET v = v + 1 WHERE id = ?",
                    (n * 7 % 2000 + 1,),
                )
                .await;
                if n.is_multiple_of(10) {
                    write(
                        &mut c,
                        "DELETE FROM osc_src.t WHERE id = ?",
                        (n * 13 % 2000 + 1,),
                    )
                    .await;
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
                try_rows(&mut t, &Q.replace("{db}", dst)).await.ok() == Some(expected)
            }
        },
    )
    .await;
    let left: Vec<String> = tgt
        .query(format!("SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = '{dst}' AND TABLE_NAME LIKE '\\_t\\_%'"))
        .await
        .unwrap();
    assert!(
        left.is_empty(),
        "no shadow table left in the target: {left:?}"
    );
    assert!(sluice.stop().success(), "{}", sluice.log_text());
    exec(&mut src, "DROP DATABASE osc_src").await;
    exec(&mut tgt, &format!("DROP DATABASE {dst}")).await;
}
