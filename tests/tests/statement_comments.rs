//! A statement-based change that starts with a comment is still a change:
//! `/* app */ UPDATE …` (as client libraries send it) and a version comment
//! `/*!100000 UPDATE … */` (which even the `mariadb` client keeps) were once
//! taken for DDL by their first word, logged and dropped. Each must stop
//! the engine loudly, naming the statement and the position, with nothing
//! after it applied.

use std::time::Duration;

use mysql_async::prelude::Queryable;
use sluice_e2e::*;

async fn halts_on(env: &Env, start: &str, pipeline: &str, want: &str) {
    let dir = scratch(&format!("statement_comments_{pipeline}"));
    let port = free_port();
    write_config(
        &dir,
        &(config_head(&env.source, 5313, start, port)
            + &mysql_target(env, "dst", "sc_dst")
            + &format!(
                "\n[[pipelines]]\nname = \"{pipeline}\"\nsource_tables = [\"sc_src.t\"]\ntarget = \"dst\"\n"
            )),
    );
    let mut sluice = Sluice::start(env, &dir, port);
    let status = sluice
        .wait(Duration::from_secs(30))
        .expect("the engine stops on a statement-based change");
    assert!(!status.success());
    let log = sluice.log_text();
    for w in [
        "statement-based change",
        want,
        "binlog_format=ROW",
        "at binlog position binlog.0",
    ] {
        assert!(log.contains(w), "names {w}:\n{log}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_commented_statement_based_change_stops_the_engine() {
    let env = env();
    let mut src = connect(&env.source).await;
    let mut tgt = connect(&env.target).await;
    recreate(&mut src, "sc_src", "CREATE TABLE {db}.t (id INT PRIMARY KEY, n INT NOT NULL);\nINSERT INTO {db}.t VALUES (1, 0)").await;
    recreate(
        &mut tgt,
        "sc_dst",
        "CREATE TABLE {db}.t (id INT PRIMARY KEY, n INT NOT NULL)",
    )
    .await;
    let before_plain = source_position(&mut src).await;
    // One session, statement-based, sending the comments as written.
    src.query_drop("SET SESSION binlog_format = 'STATEMENT'")
        .await
        .unwrap();
    src.query_drop("/* app */ UPDATE sc_src.t SET n = n + 1 WHERE id = 1")
        .await
        .unwrap();
    let before_version = source_position(&mut src).await;
    src.query_drop("/*!100000 UPDATE sc_src.t SET n = n + 10 WHERE id = 1 */")
        .await
        .unwrap();
    src.query_drop("SET SESSION binlog_format = 'ROW'")
        .await
        .unwrap();
    src.query_drop("INSERT INTO sc_src.t VALUES (2, 0)")
        .await
        .unwrap();

    halts_on(&env, &before_plain, "plain", "/* app */ UPDATE").await;
    halts_on(&env, &before_version, "version", "/*!100000 UPDATE").await;
    let n: Option<u64> = tgt
        .query_first("SELECT COUNT(*) FROM sc_dst.t")
        .await
        .unwrap();
    assert_eq!(n, Some(0), "nothing was applied past the statement");
    exec(&mut src, "DROP DATABASE sc_src").await;
    exec(&mut tgt, "DROP DATABASE sc_dst").await;
}
