//! Rows the target rejects: data too long, a CHECK constraint, a column the
//! target table lacks. `halt` (the default) names the table, the key, the
//! error and the binlog position, and the source transactions before the
//! failing one still apply. `dead-letter` stores each rejected row with its
//! error in the same target transaction as the checkpoint, and the other
//! rows apply. A table without a primary key is refused with how to fix it.

use std::time::Duration;

use mysql_async::prelude::Queryable;
use sluice_e2e::*;

const SOURCE: &str =
    "CREATE TABLE {db}.item (id INT PRIMARY KEY, name VARCHAR(20) NOT NULL, qty INT NOT NULL);
    CREATE TABLE {db}.wide (id INT PRIMARY KEY, extra VARCHAR(10));
    CREATE TABLE {db}.nopk (a INT)";
const TARGET: &str = "CREATE TABLE {db}.item (id INT PRIMARY KEY, name VARCHAR(4) NOT NULL, qty INT NOT NULL, CHECK (qty >= 0));
    CREATE TABLE {db}.wide (id INT PRIMARY KEY)";

fn pipeline(name: &str, tables: &str, on_error: &str) -> String {
    format!(
        "\n[[pipelines]]\nname = \"{name}\"\nsource_tables = [{tables}]\ntarget = \"dst\"\non_error = \"{on_error}\"\n"
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn halt_names_table_key_error_and_position_after_applying_what_came_before() {
    let env = env();
    let dir = scratch("target_rejects_halt");
    let mut src = connect(&env.source).await;
    let mut tgt = connect(&env.target).await;
    recreate(&mut src, "tj_src", SOURCE).await;
    recreate(&mut tgt, "tj_dst", TARGET).await;
    let start = source_position(&mut src).await;
    exec(
        &mut src,
        "INSERT INTO tj_src.item VALUES (1, 'ok', 1);
        INSERT INTO tj_src.item VALUES (2, 'much too long', 1);
        INSERT INTO tj_src.item VALUES (3, 'late', 1)",
    )
    .await;
    let port = free_port();
    write_config(
        &dir,
        &(config_head(&env.source, 5122, &start, port)
            + &mysql_target(&env, "dst", "tj_dst")
            + &pipeline("items", "\"tj_src.item\"", "halt")),
    );
    let mut sluice = Sluice::start(&env, &dir, port);
    let status = sluice
        .wait(Duration::from_secs(30))
        .expect("the engine stops when its only pipeline halts");
    assert!(!status.success());
    let log = sluice.log_text();
    for want in [
        "item",
        "id=2",
        "Data too long",
        "at binlog position binlog.0",
    ] {
        assert!(log.contains(want), "the error names {want}:\n{log}");
    }
    let ids: Vec<u32> = tgt
        .query("SELECT id FROM tj_dst.item ORDER BY id")
        .await
        .unwrap();
    assert_eq!(
        ids,
        [1],
        "the transaction before the bad row applied, none after"
    );
    exec(&mut src, "DROP DATABASE tj_src").await;
    exec(&mut tgt, "DROP DATABASE tj_dst").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn dead_letter_stores_each_rejected_row_and_applies_the_rest() {
    let env = env();
    let dir = scratch("target_rejects_dl");
    let mut src = connect(&env.source).await;
    let mut tgt = connect(&env.target).await;
    recreate(&mut src, "tk_src", SOURCE).await;
    recreate(&mut tgt, "tk_dst", TARGET).await;
    let start = source_position(&mut src).await;
    exec(
        &mut src,
        "BEGIN;
        INSERT INTO tk_src.item VALUES (3, 'fine', 1), (4, 'way too long', 1), (5, 'neg', -1);
        INSERT INTO tk_src.wide VALUES (1, 'x');
        UPDATE tk_src.item SET qty = 2 WHERE id = 3;
        COMMIT",
    )
    .await;
    let port = free_port();
    write_config(
        &dir,
        &(config_head(&env.source, 5123, &start, port)
            + &mysql_target(&env, "dst", "tk_dst")
            + &pipeline("items", "\"tk_src.item\", \"tk_src.wide\"", "dead-letter")),
    );
    let mut sluice = Sluice::start(&env, &dir, port);
    let dead_letters = || async {
        let mut c = connect(&env.target).await;
        let n: Option<u64> = c
            .query_first("SELECT COUNT(*) FROM tk_dst.sluice_dead_letter")
            .await
            .unwrap_or(None);
        n.unwrap_or(0)
    };
    // MySQL before 8.0.16 parses CHECK constraints and ignores them: there
    // the negative row is applied, not rejected.
    let version: String = tgt.query_first("SELECT VERSION()").await.unwrap().unwrap();
    let checks = version.contains("MariaDB") || !version.starts_with("5.");
    let want = if checks { 3 } else { 2 };
    wait_for(Duration::from_secs(30), "the dead letters", || async {
        dead_letters().await == want
    })
    .await;
    let rows: Vec<(u32, String, i32)> = tgt
        .query("SELECT id, name, qty FROM tk_dst.item ORDER BY id")
        .await
        .unwrap();
    let mut applied = vec![(3, "fine".to_owned(), 2)];
    if !checks {
        applied.push((5, "neg".to_owned(), -1));
    }
    assert_eq!(rows, applied, "the good rows and the update applied");
    let dead: Vec<(String, String, String, u64)> = tgt
        .query("SELECT source_table, change_json, error, binlog_pos FROM tk_dst.sluice_dead_letter ORDER BY id")
        .await
        .unwrap();
    let (cp_pos,): (u64,) = tgt
        .query_first("SELECT binlog_pos FROM tk_dst.sluice_checkpoint WHERE pipeline = 'items'")
        .await
        .unwrap()
        .unwrap();
    let errors: Vec<&str> = dead.iter().map(|d| d.2.as_str()).collect();
    assert!(
        errors[0].contains("Data too long") && dead[0].1.contains("way too long"),
        "{dead:?}"
    );
    if checks {
        assert!(
            errors[1].contains("CONSTRAINT") && dead[1].1.contains("\"qty\":-1"),
            "{dead:?}"
        );
    }
    let last = dead.len() - 1;
    assert!(
        errors[last].contains("Unknown column") && dead[last].0 == "tk_src.wide",
        "{dead:?}"
    );
    // Each names its own transaction's end; the checkpoint written with it
    // is that of its group, which may hold later (unrelated) transactions.
    let own = dead[0].3;
    assert!(
        dead.iter().all(|d| d.3 == own) && own <= cp_pos,
        "dead letters at their transaction's end, under the checkpoint: {dead:?} vs {cp_pos}"
    );
    assert!(sluice.stop().success(), "{}", sluice.log_text());
    exec(&mut src, "DROP DATABASE tk_src").await;
    exec(&mut tgt, "DROP DATABASE tk_dst").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_table_without_a_primary_key_is_refused_with_how_to_fix_it() {
    let env = env();
    let dir = scratch("target_rejects_nopk");
    let mut src = connect(&env.source).await;
    let mut tgt = connect(&env.target).await;
    recreate(&mut src, "tn_src", SOURCE).await;
    recreate(&mut tgt, "tn_dst", "CREATE TABLE {db}.nopk (a INT)").await;
    let start = source_position(&mut src).await;
    exec(&mut src, "INSERT INTO tn_src.nopk VALUES (1)").await;
    let port = free_port();
    write_config(
        &dir,
        &(config_head(&env.source, 5124, &start, port)
            + &mysql_target(&env, "dst", "tn_dst")
            + &pipeline("nopk", "\"tn_src.nopk\"", "halt")),
    );
    let mut sluice = Sluice::start(&env, &dir, port);
    let status = sluice
        .wait(Duration::from_secs(30))
        .expect("the pipeline halts");
    assert!(!status.success());
    let log = sluice.log_text();
    assert!(
        log.contains("tn_src.nopk has no primary key") && log.contains("add one"),
        "{log}"
    );
    exec(&mut src, "DROP DATABASE tn_src").await;
    exec(&mut tgt, "DROP DATABASE tn_dst").await;
}
