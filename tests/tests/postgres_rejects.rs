//! Values PostgreSQL cannot hold, and rows it rejects: the zero date, a
//! NUL byte in text, and a CHECK constraint. Under `halt` the error names
//! the table, the key, the column or constraint and the binlog position,
//! and what came before still applies; under `dead-letter` each rejected
//! row is stored with its error in `sluice_dead_letter`, in the same
//! transaction as the checkpoint, and the rest applies.

use std::time::Duration;

use sluice_e2e::*;

const SOURCE: &str = "SET SESSION sql_mode = '';
    CREATE TABLE {db}.item (id INT PRIMARY KEY, name VARCHAR(20) NOT NULL, qty INT NOT NULL, made DATE NULL)";
const TARGET: &str = "CREATE TABLE {s}.item (id integer PRIMARY KEY, name varchar(20) NOT NULL, qty integer NOT NULL CHECK (qty >= 0), made date NULL)";

/// One good row, then one bad row per kind of rejection, then a good one.
const WRITES: &str = "SET SESSION sql_mode = '';
    INSERT INTO prj_src.item VALUES (1, 'ok', 1, '2024-01-01');
    INSERT INTO prj_src.item VALUES (2, 'zero date', 1, '0000-00-00');
    INSERT INTO prj_src.item VALUES (3, CONCAT('nul', CHAR(0), 'byte'), 1, NULL);
    INSERT INTO prj_src.item VALUES (4, 'negative', -1, NULL);
    INSERT INTO prj_src.item VALUES (5, 'late', 1, NULL)";

async fn setup(schema: &str) -> (Env, mysql_async::Conn, tokio_postgres::Client, String) {
    let env = env();
    let mut src = connect(&env.source).await;
    let db = format!("{schema}_src");
    recreate(&mut src, &db, SOURCE).await;
    let pg = pg_connect(&pg_url()).await;
    pg_recreate(&pg, schema, TARGET).await;
    let start = source_position(&mut src).await;
    exec(&mut src, &WRITES.replace("prj_src", &db)).await;
    (env, src, pg, start)
}

fn config(env: &Env, start: &str, port: u16, schema: &str, on_error: &str) -> String {
    let id = if on_error == "halt" { 5303 } else { 5304 };
    config_head(&env.source, id, start, port)
        + &postgres_target("pg", &pg_url(), schema)
        + &format!(
            "\n[[pipelines]]\nname = \"items\"\nsource_tables = [\"{schema}_src.item\"]\ntarget = \"pg\"\non_error = \"{on_error}\"\n"
        )
}

#[tokio::test(flavor = "multi_thread")]
async fn halt_on_a_value_postgres_cannot_hold_names_the_column_key_and_position() {
    let dir = scratch("postgres_rejects_halt");
    let (env, mut src, pg, start) = setup("prj_halt").await;
    let port = free_port();
    write_config(&dir, &config(&env, &start, port, "prj_halt", "halt"));
    let mut sluice = Sluice::start(&env, &dir, port);
    let status = sluice
        .wait(Duration::from_secs(30))
        .expect("the engine stops when its only pipeline halts");
    assert!(!status.success());
    let log = sluice.log_text();
    for want in [
        "item",
        "id=2",
        "column `made`",
        "zero",
        "at binlog position binlog.0",
    ] {
        assert!(log.contains(want), "the error names {want}:\n{log}");
    }
    let ids = pg_rows(&pg, "SELECT id FROM prj_halt.item ORDER BY id").await;
    assert_eq!(
        ids,
        [[Some("1".to_owned())]],
        "the row before applied, none after"
    );
    exec(&mut src, "DROP DATABASE prj_halt_src").await;
    pg_exec(&pg, "DROP SCHEMA prj_halt CASCADE").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn dead_letter_stores_each_value_postgres_rejects_and_applies_the_rest() {
    let dir = scratch("postgres_rejects_dl");
    let (env, mut src, pg, start) = setup("prj_dl").await;
    let port = free_port();
    write_config(&dir, &config(&env, &start, port, "prj_dl", "dead-letter"));
    let mut sluice = Sluice::start(&env, &dir, port);
    // The last row and the three dead letters: each commits with its
    // checkpoint. (Waiting for the checkpoint to reach the source's end
    // would race the other test here, which writes to the same source.)
    wait_for(
        Duration::from_secs(30),
        "the last row and the dead letters",
        || async {
            pg_count(&pg, "SELECT count(*) FROM prj_dl.item WHERE id = 5").await == 1
                && pg_count(&pg, "SELECT count(*) FROM prj_dl.sluice_dead_letter").await == 3
        },
    )
    .await;
    assert!(sluice.stop().success(), "{}", sluice.log_text());
    let ids = pg_rows(&pg, "SELECT id FROM prj_dl.item ORDER BY id").await;
    assert_eq!(ids, [[Some("1".to_owned())], [Some("5".to_owned())]]);
    let dead = pg_rows(
        &pg,
        "SELECT source_table, op, change_json, error, binlog_file FROM prj_dl.sluice_dead_letter ORDER BY id",
    )
    .await;
    assert_eq!(dead.len(), 3, "{dead:?}");
    let errors: Vec<&str> = dead.iter().map(|d| d[3].as_deref().unwrap()).collect();
    assert!(
        errors[0].contains("zero") && errors[0].contains("made"),
        "{errors:?}"
    );
    assert!(
        errors[1].contains("NUL") && errors[1].contains("name"),
        "{errors:?}"
    );
    assert!(
        errors[2].contains("check constraint") || errors[2].contains("23514"),
        "{errors:?}"
    );
    for (d, id) in dead.iter().zip([2, 3, 4]) {
        assert_eq!(d[0].as_deref(), Some("prj_dl_src.item"));
        assert_eq!(d[1].as_deref(), Some("insert"));
        let change: serde_json::Value = serde_json::from_str(d[2].as_deref().unwrap()).unwrap();
        assert_eq!(change["after"]["id"], id, "{change}");
        assert!(d[4].as_deref().unwrap().starts_with("binlog."));
    }
    exec(&mut src, "DROP DATABASE prj_dl_src").await;
    pg_exec(&pg, "DROP SCHEMA prj_dl CASCADE").await;
}
