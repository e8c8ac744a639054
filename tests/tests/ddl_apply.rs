//! `ddl = "apply"` (the default for plain copies): CREATE, ALTER (add and
//! rename a column), TRUNCATE, RENAME and DROP TABLE on copied tables run on
//! the target with the table names mapped, and rows after a change carry
//! its columns. A statement already in the target (as after a crash between
//! a DDL statement and its checkpoint) is taken as done. A pipeline with a
//! mapper halts before DDL by default, naming the statement.

use std::time::Duration;

use mysql_async::prelude::Queryable;
use sluice_e2e::*;

async fn table_rows(url: &str, sql: &str) -> Vec<Vec<Option<String>>> {
    let mut c = connect(url).await;
    try_rows(&mut c, sql)
        .await
        .unwrap_or_else(|_| vec![vec![Some("missing".into())]])
}

fn want(rows: &[&[Option<&str>]]) -> Vec<Vec<Option<String>>> {
    rows.iter()
        .map(|r| r.iter().map(|c| c.map(str::to_owned)).collect())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn schema_changes_are_applied_to_the_target_with_mapped_names() {
    let env = env();
    let dir = scratch("ddl_apply");
    let mut src = connect(&env.source).await;
    let mut tgt = connect(&env.target).await;
    recreate(&mut src, "da_src", "").await;
    // The target already has the first table: its CREATE is "already done".
    recreate(
        &mut tgt,
        "da_dst",
        "CREATE TABLE {db}.t_copy (id INT PRIMARY KEY, a INT)",
    )
    .await;
    let start = source_position(&mut src).await;
    exec(
        &mut src,
        "CREATE TABLE da_src.t (id INT PRIMARY KEY, a INT);
        INSERT INTO da_src.t VALUES (1, 10);
        ALTER TABLE da_src.t ADD COLUMN c VARCHAR(20) NOT NULL DEFAULT 'none';
        INSERT INTO da_src.t VALUES (2, 20, 'two');
        ALTER TABLE da_src.t RENAME COLUMN a TO a2;
        UPDATE da_src.t SET a2 = 11 WHERE id = 1;
        CREATE TABLE da_src.gone (id INT PRIMARY KEY);
        INSERT INTO da_src.gone VALUES (1);
        DROP TABLE da_src.gone;
        CREATE TABLE da_src.old (id INT PRIMARY KEY);
        INSERT INTO da_src.old VALUES (5);
        RENAME TABLE da_src.old TO da_src.new;
        INSERT INTO da_src.new VALUES (6);
        CREATE TABLE da_src.trunc (id INT PRIMARY KEY);
        INSERT INTO da_src.trunc VALUES (1), (2);
        TRUNCATE TABLE da_src.trunc;
        INSERT INTO da_src.trunc VALUES (3);
        CREATE TABLE da_src.not_copied (id INT PRIMARY KEY)",
    )
    .await;
    let port = free_port();
    write_config(
        &dir,
        &(config_head(&env.source, 5119, &start, port)
            + &mysql_target(&env, "dst", "da_dst")
            + "\n[[pipelines]]\nname = \"ddl\"\nsource_tables = [\"da_src.t\", \"da_src.gone\", \"da_src.old\", \"da_src.new\", \"da_src.trunc\"]\ntarget = \"dst\"\ntarget_table = \"{table}_copy\"\n"),
    );
    let mut sluice = Sluice::start(&env, &dir, port);
    wait_for(Duration::from_secs(30), "the last table's rows", || async {
        table_rows(&env.target, "SELECT id FROM da_dst.trunc_copy ORDER BY id").await
            == want(&[&[Some("3")]])
    })
    .await;
    assert_eq!(
        table_rows(
            &env.target,
            "SELECT id, a2, c FROM da_dst.t_copy ORDER BY id"
        )
        .await,
        want(&[
            &[Some("1"), Some("11"), Some("none")],
            &[Some("2"), Some("20"), Some("two")]
        ]),
        "columns added and renamed on the target; rows after carry them"
    );
    assert_eq!(
        table_rows(&env.target, "SELECT id FROM da_dst.new_copy ORDER BY id").await,
        want(&[&[Some("5")], &[Some("6")]]),
        "renamed table keeps its rows and gets new ones"
    );
    let mut tables: Vec<String> = tgt
        .query("SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'da_dst' AND TABLE_NAME NOT LIKE 'sluice%'")
        .await
        .unwrap();
    tables.sort();
    assert_eq!(
        tables,
        ["new_copy", "t_copy", "trunc_copy"],
        "gone_copy dropped, old_copy renamed, not_copied never created"
    );
    let text = sluice.metrics();
    assert_eq!(
        metric(
            &text,
            "sluice_schema_changes_total{pipeline=\"ddl\",outcome=\"applied\"}"
        ),
        Some(9.0),
        "{text}"
    );
    assert!(sluice.stop().success(), "{}", sluice.log_text());
    let log = sluice.log_text();
    assert!(
        log.contains("schema change already in the target"),
        "the pre-existing table is taken as done:\n{log}"
    );
    exec(&mut src, "DROP DATABASE da_src").await;
    exec(&mut tgt, "DROP DATABASE da_dst").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pipeline_with_a_mapper_halts_before_ddl_by_default() {
    let env = env();
    let dir = scratch("ddl_halt");
    let mut src = connect(&env.source).await;
    let mut tgt = connect(&env.target).await;
    let table = "CREATE TABLE {db}.product (id INT PRIMARY KEY, name VARCHAR(20), cost_price DECIMAL(10,2))";
    recreate(&mut src, "dh_src", table).await;
    recreate(
        &mut tgt,
        "dh_dst",
        "CREATE TABLE {db}.product (id INT PRIMARY KEY, product_name VARCHAR(20))",
    )
    .await;
    let start = source_position(&mut src).await;
    exec(
        &mut src,
        "INSERT INTO dh_src.product VALUES (1, 'a', 1.50);
        ALTER TABLE dh_src.product ADD COLUMN weight INT;
        INSERT INTO dh_src.product VALUES (2, 'b', 2.50, 7)",
    )
    .await;
    let plugins = plugin_dir(&env, &dir, &["hide_cost"]);
    let port = free_port();
    write_config(
        &dir,
        &(config_head(&env.source, 5120, &start, port)
            + &format!("\n[plugins]\ndir = \"{}\"\n", plugins.display())
            + &mysql_target(&env, "dst", "dh_dst")
            + "\n[[pipelines]]\nname = \"mapped\"\nsource_tables = [\"dh_src.product\"]\nmappers = [\"hide_cost\"]\ntarget = \"dst\"\n"),
    );
    let mut sluice = Sluice::start(&env, &dir, port);
    let status = sluice
        .wait(Duration::from_secs(30))
        .expect("the engine stops when its only pipeline halts");
    assert!(!status.success());
    let log = sluice.log_text();
    assert!(
        log.contains("ADD COLUMN weight") && log.contains("ddl = \"halt\""),
        "names the statement and the policy:\n{log}"
    );
    let ids: Vec<u32> = tgt
        .query("SELECT id FROM dh_dst.product ORDER BY id")
        .await
        .unwrap();
    assert_eq!(ids, [1], "the row before the DDL applied, nothing after");
    exec(&mut src, "DROP DATABASE dh_src").await;
    exec(&mut tgt, "DROP DATABASE dh_dst").await;
}
