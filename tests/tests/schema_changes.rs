//! ALTER TABLE ADD, DROP and RENAME COLUMN and CREATE, RENAME and DROP
//! TABLE in the middle of a stream: every row decodes with the columns it
//! had when it was written, also after a restart at a position older than
//! every change. DDL reaches the pipeline as an event; a statement Sluice
//! cannot parse is logged and counted, and stops nothing. (The target keeps
//! its shape here, `ddl = "ignore"`; `ddl_apply.rs` follows the changes.)

use std::time::Duration;

use mysql_async::prelude::Queryable;
use sluice_e2e::*;

const EXPECTED: [[Option<&str>; 5]; 4] = [
    [Some("1"), Some("10"), Some("x"), None, None],
    [Some("2"), Some("20"), Some("y"), Some("200"), None],
    [Some("3"), None, Some("z"), Some("300"), None],
    [Some("4"), None, None, Some("400"), Some("w")],
];

async fn target_rows(url: &str) -> Vec<Vec<Option<String>>> {
    let mut c = connect(url).await;
    rows(&mut c, "SELECT id, a, b, c, b2 FROM sc_dst.t ORDER BY id").await
}

fn expected() -> Vec<Vec<Option<String>>> {
    EXPECTED
        .iter()
        .map(|r| r.iter().map(|c| c.map(str::to_owned)).collect())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn rows_decode_with_the_columns_they_had_across_ddl_and_restarts() {
    let env = env();
    let dir = scratch("schema_changes");
    let mut src = connect(&env.source).await;
    let mut tgt = connect(&env.target).await;
    recreate(
        &mut src,
        "sc_src",
        "CREATE TABLE {db}.t (id INT PRIMARY KEY, a INT, b VARCHAR(10))",
    )
    .await;
    // The target has every column any version of the source table had.
    let target_ddl = "CREATE TABLE {db}.t (id INT PRIMARY KEY, a INT NULL, b VARCHAR(10) NULL, c INT NULL, b2 VARCHAR(10) NULL)";
    recreate(&mut tgt, "sc_dst", target_ddl).await;
    let start = source_position(&mut src).await;
    exec(
        &mut src,
        "INSERT INTO sc_src.t VALUES (1, 10, 'x');
        ALTER TABLE sc_src.t ADD COLUMN c INT;
        INSERT INTO sc_src.t VALUES (2, 20, 'y', 200);
        ALTER TABLE sc_src.t DROP COLUMN a;
        INSERT INTO sc_src.t VALUES (3, 'z', 300);
        ALTER TABLE sc_src.t RENAME COLUMN b TO b2;
        INSERT INTO sc_src.t VALUES (4, 'w', 400);
        CREATE TABLE sc_src.u (id INT PRIMARY KEY);
        INSERT INTO sc_src.u VALUES (1);
        RENAME TABLE sc_src.u TO sc_src.u2;
        DROP TABLE sc_src.u2;
        DROP USER IF EXISTS 'sc_user1'@'localhost', 'sc_user2'@'localhost';
        CREATE USER 'sc_user1'@'localhost';
        RENAME USER 'sc_user1'@'localhost' TO 'sc_user2'@'localhost';
        DROP USER 'sc_user2'@'localhost'",
    )
    .await;
    let port = free_port();
    write_config(
        &dir,
        &(config_head(&env.source, 5115, &start, port)
            + &mysql_target(&env, "dst", "sc_dst")
            + "\n[[pipelines]]\nname = \"schema\"\nsource_tables = [\"sc_src.t\"]\ntarget = \"dst\"\nddl = \"ignore\"\n"),
    );
    let mut sluice = Sluice::start(&env, &dir, port);
    wait_for(Duration::from_secs(30), "the four rows", || async {
        target_rows(&env.target).await == expected()
    })
    .await;
    let text = sluice.metrics();
    assert!(
        metric(&text, "sluice_source_ddl_unparsed_total").unwrap() >= 1.0,
        "RENAME USER is not understood: {text}"
    );
    assert!(sluice.stop().success(), "{}", sluice.log_text());
    let log = sluice.log_text();
    assert!(
        log.contains("schema change on a copied table") && log.contains("RENAME COLUMN b TO b2"),
        "{log}"
    );
    assert!(
        log.contains("a DDL statement Sluice does not understand") && log.contains("RENAME USER"),
        "{log}"
    );

    // Start again from before every change, with an empty target.
    recreate(&mut tgt, "sc_dst", target_ddl).await;
    let mut sluice = Sluice::start(&env, &dir, port);
    wait_for(Duration::from_secs(30), "the four rows again", || async {
        target_rows(&env.target).await == expected()
    })
    .await;
    assert!(sluice.stop().success(), "{}", sluice.log_text());
    let n: Option<u64> = tgt
        .query_first("SELECT COUNT(*) FROM sc_dst.t")
        .await
        .unwrap();
    assert_eq!(n, Some(4));
    exec(&mut src, "DROP DATABASE sc_src").await;
    exec(&mut tgt, "DROP DATABASE sc_dst").await;
}
