//! Mapping rules are hot-reloaded: a table added to a pipeline in the config
//! starts flowing without a restart; a broken config and a change that needs
//! a restart are refused as a whole and counted, and the running rules stay.
//! Nothing is lost or applied twice across the reloads.

use std::time::Duration;

use mysql_async::prelude::Queryable;
use sluice_e2e::*;

fn config(env: &Env, start: &str, port: u16, server_id: u32, tables: &str) -> String {
    config_head(&env.source, server_id, start, port)
        + &mysql_target(env, "dst", "cf_dst")
        + &format!(
            "\n[[pipelines]]\nname = \"rules\"\nsource_tables = [{tables}]\ntarget = \"dst\"\n"
        )
}

/// Replace the config the way editors and deploy tools do: write, then rename.
fn replace(dir: &std::path::Path, text: &str) {
    std::fs::write(dir.join(".sluice.toml.new"), text).unwrap();
    std::fs::rename(dir.join(".sluice.toml.new"), dir.join("sluice.toml")).unwrap();
}

async fn ids(url: &str, table: &str) -> Vec<u64> {
    let mut c = connect(url).await;
    c.query(format!("SELECT id FROM cf_dst.{table} ORDER BY id"))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn adding_a_table_applies_live_and_bad_configs_change_nothing() {
    let env = env();
    let dir = scratch("config_reload");
    let mut src = connect(&env.source).await;
    let mut tgt = connect(&env.target).await;
    let tables =
        "CREATE TABLE {db}.a (id INT PRIMARY KEY);\nCREATE TABLE {db}.b (id INT PRIMARY KEY)";
    recreate(&mut src, "cf_src", tables).await;
    recreate(
        &mut tgt,
        "cf_dst",
        &format!("{tables};\n{}", applied_log("a")),
    )
    .await;
    let start = source_position(&mut src).await;
    let port = free_port();
    write_config(&dir, &config(&env, &start, port, 5117, "\"cf_src.a\""));
    let mut sluice = Sluice::start(&env, &dir, port);
    src.query_drop("INSERT INTO cf_src.a VALUES (1)")
        .await
        .unwrap();
    wait_for(Duration::from_secs(20), "a:1", || async {
        ids(&env.target, "a").await == [1]
    })
    .await;

    // Add table b to the pipeline.
    replace(
        &dir,
        &config(&env, &start, port, 5117, "\"cf_src.a\", \"cf_src.b\""),
    );
    wait_for(Duration::from_secs(20), "the reload", || async {
        sluice.log_text().contains("config reloaded")
    })
    .await;
    src.query_drop("INSERT INTO cf_src.b VALUES (1)")
        .await
        .unwrap();
    src.query_drop("INSERT INTO cf_src.a VALUES (2)")
        .await
        .unwrap();
    wait_for(Duration::from_secs(20), "b:1 and a:2", || async {
        ids(&env.target, "b").await == [1] && ids(&env.target, "a").await == [1, 2]
    })
    .await;

    // A broken config: refused, counted, the running rules stay.
    std::fs::write(dir.join("sluice.toml"), "[source]\nurl = 42\n").unwrap();
    wait_for(Duration::from_secs(20), "the refusal", || async {
        metric(&sluice.metrics(), "sluice_config_reload_failures_total") == Some(1.0)
    })
    .await;
    src.query_drop("INSERT INTO cf_src.a VALUES (3)")
        .await
        .unwrap();
    wait_for(Duration::from_secs(20), "a:3", || async {
        ids(&env.target, "a").await == [1, 2, 3]
    })
    .await;

    // A change that needs a restart (the replica server id): refused too.
    replace(&dir, &config(&env, &start, port, 5999, "\"cf_src.a\""));
    wait_for(Duration::from_secs(20), "the second refusal", || async {
        metric(&sluice.metrics(), "sluice_config_reload_failures_total") == Some(2.0)
    })
    .await;
    src.query_drop("INSERT INTO cf_src.b VALUES (2)")
        .await
        .unwrap();
    wait_for(
        Duration::from_secs(20),
        "b:2 (b is still copied)",
        || async { ids(&env.target, "b").await == [1, 2] },
    )
    .await;

    assert!(sluice.stop().success(), "{}", sluice.log_text());
    let log = sluice.log_text();
    assert!(
        log.contains("config reload refused") && log.contains("source.url"),
        "{log}"
    );
    assert!(
        log.contains("needs a restart") && log.contains("[source]"),
        "{log}"
    );
    let applied: Option<u64> = tgt
        .query_first("SELECT COUNT(*) FROM cf_dst.applied")
        .await
        .unwrap();
    assert_eq!(
        applied,
        Some(3),
        "a:1..3 each applied once across the reload"
    );
    exec(&mut src, "DROP DATABASE cf_src").await;
    exec(&mut tgt, "DROP DATABASE cf_dst").await;
}
