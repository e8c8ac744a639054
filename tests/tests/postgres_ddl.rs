//! `ddl = "apply"` into PostgreSQL: CREATE TABLE (types mapped, key kept),
//! ADD, RENAME and DROP COLUMN, RENAME, TRUNCATE and DROP TABLE are
//! translated (a literal DEFAULT kept, so rows that existed before an ADD
//! COLUMN get it as in MySQL), and rows after each change carry its columns. Replaying a
//! run of schema changes (as after a crash between a statement and its
//! checkpoint) leaves the same tables. A statement that is not translated
//! (ADD INDEX) halts the pipeline with the statement and the position.

use std::time::Duration;

use sluice_e2e::*;

fn pipeline() -> &'static str {
    "\n[[pipelines]]\nname = \"ddl\"\nsource_tables = [\"pdd_src.*\"]\ntarget = \"pg\"\nddl = \"apply\"\n"
}

#[tokio::test(flavor = "multi_thread")]
async fn schema_changes_are_translated_for_postgres_and_replay_harmlessly() {
    let env = env();
    let dir = scratch("postgres_ddl");
    let mut src = connect(&env.source).await;
    recreate(&mut src, "pdd_src", "").await;
    let pg = pg_connect(&pg_url()).await;
    pg_recreate(&pg, "pdd", "").await;
    let start = source_position(&mut src).await;
    exec(
        &mut src,
        "CREATE TABLE pdd_src.t (id BIGINT UNSIGNED PRIMARY KEY, a INT, price DECIMAL(10,2) NOT NULL DEFAULT 0, KEY ka (a));
        INSERT INTO pdd_src.t VALUES (1, 10, 1.50), (3, 30, 3.00);
        ALTER TABLE pdd_src.t ADD COLUMN c VARCHAR(20) NOT NULL DEFAULT 'none';
        INSERT INTO pdd_src.t VALUES (2, 20, 2.25, 'two');
        CREATE TABLE pdd_src.old (id INT PRIMARY KEY);
        INSERT INTO pdd_src.old VALUES (5);
        CREATE TABLE pdd_src.trunc (id INT PRIMARY KEY);
        INSERT INTO pdd_src.trunc VALUES (1), (2);
        CREATE TABLE pdd_src.gone (id INT PRIMARY KEY)",
    )
    .await;
    // A run of schema changes with no rows between: replayed below.
    let before_run = source_position(&mut src).await;
    exec(
        &mut src,
        "ALTER TABLE pdd_src.t RENAME COLUMN a TO a2, ADD COLUMN tmp INT;
        ALTER TABLE pdd_src.t DROP COLUMN tmp;
        RENAME TABLE pdd_src.old TO pdd_src.new;
        TRUNCATE TABLE pdd_src.trunc;
        DROP TABLE pdd_src.gone",
    )
    .await;
    exec(
        &mut src,
        "UPDATE pdd_src.t SET a2 = 11 WHERE id = 1;
        INSERT INTO pdd_src.new VALUES (6);
        INSERT INTO pdd_src.trunc VALUES (3)",
    )
    .await;
    let end = source_position(&mut src).await;

    let port = free_port();
    write_config(
        &dir,
        &(config_head(&env.source, 5305, &start, port)
            + &postgres_target("pg", &pg_url(), "pdd")
            + pipeline()),
    );
    let check = |what: &'static str| {
        let pg = &pg;
        async move {
            assert_eq!(
                pg_rows(pg, "SELECT id, a2, price, c FROM pdd.t ORDER BY id").await,
                [
                    [Some("1"), Some("11"), Some("1.50"), Some("none")],
                    [Some("2"), Some("20"), Some("2.25"), Some("two")],
                    [Some("3"), Some("30"), Some("3.00"), Some("none")]
                ]
                .map(|r| r.map(|c| c.map(str::to_owned)).to_vec())
                .to_vec(),
                "{what}: t"
            );
            assert_eq!(
                pg_rows(pg, "SELECT id FROM pdd.new ORDER BY id").await,
                [[Some("5".to_owned())], [Some("6".to_owned())]],
                "{what}: renamed table"
            );
            assert_eq!(
                pg_rows(pg, "SELECT id FROM pdd.trunc ORDER BY id").await,
                [[Some("3".to_owned())]],
                "{what}: truncated table"
            );
            let tables = pg_rows(
                pg,
                "SELECT string_agg(table_name, ',' ORDER BY table_name) FROM information_schema.tables WHERE table_schema = 'pdd' AND table_name NOT LIKE 'sluice%'",
            )
            .await;
            assert_eq!(
                tables[0][0].as_deref(),
                Some("new,t,trunc"),
                "{what}: tables"
            );
            let types = pg_rows(
                pg,
                "SELECT string_agg(column_name || ' ' || data_type, ', ' ORDER BY ordinal_position) FROM information_schema.columns WHERE table_schema = 'pdd' AND table_name = 't'",
            )
            .await;
            assert_eq!(
                types[0][0].as_deref(),
                Some("id numeric, a2 integer, price numeric, c character varying"),
                "{what}: columns"
            );
        }
    };
    let mut sluice = Sluice::start(&env, &dir, port);
    wait_for(
        Duration::from_secs(30),
        "the checkpoint at the end",
        || async { pg_checkpoint(&pg, "pdd", "ddl").await.as_deref() == Some(end.as_str()) },
    )
    .await;
    assert!(sluice.stop().success(), "{}", sluice.log_text());
    check("first run").await;
    let key = pg_rows(
        &pg,
        "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) WHERE i.indrelid = 'pdd.t'::regclass AND i.indisprimary",
    )
    .await;
    assert_eq!(
        key,
        [[Some("id".to_owned())]],
        "the primary key was created"
    );

    // As after crashes between each statement and its checkpoint: back to
    // before the run of schema changes, and everything after it again.
    let (file, pos) = before_run.split_once(':').unwrap();
    pg_exec(
        &pg,
        &format!("UPDATE pdd.sluice_checkpoint SET binlog_file = '{file}', binlog_pos = {pos}"),
    )
    .await;
    let mut sluice = Sluice::start(&env, &dir, port);
    wait_for(
        Duration::from_secs(30),
        "the checkpoint at the end again",
        || async { pg_checkpoint(&pg, "pdd", "ddl").await.as_deref() == Some(end.as_str()) },
    )
    .await;
    assert!(sluice.stop().success(), "{}", sluice.log_text());
    check("replayed").await;

    // A statement that is not translated halts, naming it and the position.
    exec(&mut src, "ALTER TABLE pdd_src.t ADD INDEX ic (c)").await;
    let mut sluice = Sluice::start(&env, &dir, port);
    let status = sluice
        .wait(Duration::from_secs(30))
        .expect("the pipeline halts before the untranslated statement");
    assert!(!status.success());
    let log = sluice.log_text();
    for want in [
        "ADD INDEX ic (c)",
        "cannot translate",
        "ddl = \"ignore\"",
        "at binlog position",
    ] {
        assert!(log.contains(want), "the error says {want}:\n{log}");
    }
    assert_eq!(
        pg_checkpoint(&pg, "pdd", "ddl").await.as_deref(),
        Some(end.as_str()),
        "the checkpoint stays before the statement"
    );
    exec(&mut src, "DROP DATABASE pdd_src").await;
    pg_exec(&pg, "DROP SCHEMA pdd CASCADE").await;
}
