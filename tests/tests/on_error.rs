//! The `on_error` policies. With `dead-letter`, a change a plugin fails on
//! and a row the target rejects are stored in `sluice_dead_letter` with the
//! error and the position, in the same transaction as the checkpoint, and
//! the other rows of the transaction still apply. With `skip`, they are
//! dropped and counted. Neither pipeline halts.

use std::time::Duration;

use mysql_async::prelude::Queryable;
use sluice_e2e::*;

#[tokio::test(flavor = "multi_thread")]
async fn dead_letter_and_skip_set_bad_changes_aside_and_apply_the_rest() {
    let env = env();
    let dir = scratch("on_error");
    let mut src = connect(&env.source).await;
    let mut tgt = connect(&env.target).await;
    recreate(
        &mut src,
        "oe_src",
        "CREATE TABLE {db}.item (id INT PRIMARY KEY, name VARCHAR(20) NOT NULL)",
    )
    .await;
    // The target column is too short for one of the names: the target rejects that row.
    let short = "CREATE TABLE {db}.item (id INT PRIMARY KEY, name VARCHAR(4) NOT NULL)";
    recreate(&mut tgt, "oe_dl", short).await;
    recreate(&mut tgt, "oe_sk", short).await;
    let start = source_position(&mut src).await;
    let plugins = plugin_dir(&env, &dir, &["trap_on_marker"]);
    let port = free_port();
    let pipeline = |name: &str, policy: &str| {
        format!(
            "\n[[pipelines]]\nname = \"{name}\"\nsource_tables = [\"oe_src.item\"]\nfilters = [\"trap_on_marker\"]\ntarget = \"{name}\"\non_error = \"{policy}\"\n"
        )
    };
    write_config(
        &dir,
        &(config_head(&env.source, 5114, &start, port)
            + &format!("\n[plugins]\ndir = \"{}\"\n", plugins.display())
            + &mysql_target(&env, "dl", "oe_dl")
            + &mysql_target(&env, "sk", "oe_sk")
            + &pipeline("dl", "dead-letter")
            + &pipeline("sk", "skip")),
    );
    exec(
        &mut src,
        "INSERT INTO oe_src.item VALUES (1, 'ok');
        INSERT INTO oe_src.item VALUES (2, 'boom');
        BEGIN;
        INSERT INTO oe_src.item VALUES (3, 'too long');
        INSERT INTO oe_src.item VALUES (4, 'fine');
        COMMIT;
        INSERT INTO oe_src.item VALUES (5, 'end')",
    )
    .await;
    let mut sluice = Sluice::start(&env, &dir, port);
    let ids = |db: &'static str| {
        let url = env.target.clone();
        async move {
            let mut c = connect(&url).await;
            let v: Vec<u64> = c
                .query(format!("SELECT id FROM {db}.item ORDER BY id"))
                .await
                .unwrap();
            v
        }
    };
    wait_for(
        Duration::from_secs(30),
        "both targets to hold 1, 4, 5",
        || async { ids("oe_dl").await == [1, 4, 5] && ids("oe_sk").await == [1, 4, 5] },
    )
    .await;
    assert_eq!(sluice.get("/readyz").0, 200, "neither pipeline halted");

    let dead: Vec<(String, String, String, String, u64)> = tgt
        .query("SELECT source_table, op, change_json, error, binlog_pos FROM oe_dl.sluice_dead_letter ORDER BY id")
        .await
        .unwrap();
    assert_eq!(dead.len(), 2, "{dead:?}");
    assert_eq!(
        (dead[0].0.as_str(), dead[0].1.as_str()),
        ("oe_src.item", "insert")
    );
    assert!(
        dead[0].2.contains("\"name\":\"boom\"") && dead[0].3.contains("trap_on_marker"),
        "{dead:?}"
    );
    assert!(
        dead[1].2.contains("\"name\":\"too long\"") && dead[1].3.contains("Data too long"),
        "{dead:?}"
    );
    assert!(
        dead[1].4 > dead[0].4,
        "each dead letter carries its transaction's position"
    );
    let cp: Option<u64> = tgt
        .query_first("SELECT binlog_pos FROM oe_dl.sluice_checkpoint")
        .await
        .unwrap();
    assert!(
        cp.unwrap() > dead[1].4,
        "the checkpoint moved past the dead letters"
    );
    let none: Option<u64> = tgt
        .query_first("SELECT COUNT(*) FROM oe_sk.sluice_dead_letter")
        .await
        .unwrap();
    assert_eq!(none, Some(0), "skip stores nothing");

    let text = sluice.metrics();
    assert_eq!(
        metric(
            &text,
            "sluice_pipeline_rows_total{pipeline=\"sk\",outcome=\"skipped\"}"
        ),
        Some(2.0),
        "{text}"
    );
    assert_eq!(
        metric(
            &text,
            "sluice_pipeline_rows_total{pipeline=\"dl\",outcome=\"dead_lettered\"}"
        ),
        Some(2.0),
        "{text}"
    );
    assert!(sluice.stop().success(), "{}", sluice.log_text());
    exec(&mut src, "DROP DATABASE oe_src").await;
    exec(&mut tgt, "DROP DATABASE oe_dl;\nDROP DATABASE oe_sk").await;
}
