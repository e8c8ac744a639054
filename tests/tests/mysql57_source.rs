//! A real MySQL 5.7 source: no `binlog_row_metadata`, so its table maps
//! carry no column names, key or signedness, and Sluice decodes with its
//! schema history (`source::history`). Against it:
//! * the default first start, a snapshot, which MySQL can only position
//!   under a global read lock, then streaming, with every type exact;
//! * ADD, DROP and CHANGE (rename) COLUMN, and CREATE, RENAME and DROP
//!   TABLE in the middle of a stream, then a restart from a position older
//!   than all of them, which decodes with the shapes the target stored;
//! * the same restart without the stored history stops, naming the
//!   statement, and so do a statement it cannot compute followed by one
//!   more, and a table map that disagrees with the history.

use std::time::Duration;

use mysql_async::prelude::Queryable;
use sluice_e2e::*;

fn source() -> String {
    var("SLUICE_TEST_MYSQL57_SOURCE")
}

/// Every column type, with values at their edges.
const TYPES: &str = "CREATE TABLE {db}.t (
    id INT UNSIGNED NOT NULL PRIMARY KEY,
    ti TINYINT, tu TINYINT UNSIGNED, si SMALLINT, mi MEDIUMINT, mu MEDIUMINT UNSIGNED,
    bi BIGINT, bu BIGINT UNSIGNED, d DECIMAL(20,6), f FLOAT, db DOUBLE,
    c CHAR(3), vc VARCHAR(20), l1 VARCHAR(10) CHARACTER SET latin1, tx TEXT,
    bn BINARY(4), vb VARBINARY(8), bl BLOB,
    e ENUM('a','b','it''s'), st SET('x','y','z'), bt BIT(12),
    dt DATETIME(6), ts TIMESTAMP(3) NULL, tm TIME(2), dd DATE, yr YEAR) DEFAULT CHARSET=utf8mb4";

const ROWS: &str = "INSERT INTO {db}.t VALUES
    (1, -128, 255, -32768, -8388608, 16777215, -9223372036854775808, 18446744073709551615,
     -12345678901234.123456, 1.5, -2.25, 'abc', 'héllo wörld 😀', 'café', 'long text',
     0x00010203, 0x0a0b, 0xdeadbeef, 'it''s', 'x,z', b'101010101010',
     '2024-02-29 23:59:59.999999', '2038-01-19 03:14:07.999', '-838:59:59.00', '1000-01-01', 2155),
    (2, 127, 0, 32767, 8388607, 0, 9223372036854775807, 0,
     99999999999999.999999, NULL, NULL, '', '', '', '',
     0x00, X'', X'', 'a', '', b'0',
     '1000-01-01 00:00:00', '1970-01-01 00:00:01', '00:00:00.01', '9999-12-31', 1901)";

/// Every column as text, in the same form on MySQL 5.7 and MariaDB.
const Q: &str = "SELECT id, ti, tu, si, mi, mu, bi, bu, d, f, db, c, vc, l1, tx, HEX(bn), HEX(vb), HEX(bl), e, st, bt + 0,
    dt, ts, tm, dd, yr FROM {db}.t ORDER BY id";

#[tokio::test(flavor = "multi_thread")]
async fn a_snapshot_then_streaming_copy_every_type_exactly() {
    let env = env();
    let dir = scratch("mysql57_snapshot");
    let mut src = connect(&source()).await;
    let mut tgt = connect(&env.target).await;
    exec(&mut src, "SET SESSION time_zone = '+00:00'").await;
    exec(&mut tgt, "SET SESSION time_zone = '+00:00'").await;
    recreate(&mut src, "m57_src", TYPES).await;
    recreate(&mut tgt, "m57_dst", TYPES).await;
    exec(&mut src, &ROWS.replace("{db}", "m57_src")).await;
    let port = free_port();
    write_config(
        &dir,
        &(config_head(&source(), 5701, "current", port)
            + &mysql_target(&env, "dst", "m57_dst")
            + "\n[[pipelines]]\nname = \"m57\"\nsource_tables = [\"m57_src.t\"]\ntarget = \"dst\"\n"),
    );
    let mut sluice = Sluice::start(&env, &dir, port);
    let same = |want: Vec<Vec<Option<String>>>| {
        let url = env.target.clone();
        move || {
            let (url, want) = (url.clone(), want.clone());
            async move {
                let mut t = connect(&url).await;
                exec(&mut t, "SET SESSION time_zone = '+00:00'").await;
                try_rows(&mut t, &Q.replace("{db}", "m57_dst")).await.ok() == Some(want)
            }
        }
    };
    let copied = rows(&mut src, &Q.replace("{db}", "m57_src")).await;
    assert_eq!(copied.len(), 2);
    wait_for(
        Duration::from_secs(60),
        "the snapshot to copy both rows",
        same(copied),
    )
    .await;
    let log = sluice.log_text();
    assert!(log.contains("under a global read lock"), "{log}");
    let held = metric(&sluice.metrics(), "sluice_snapshot_lock_seconds").expect("the lock time");
    assert!(held < 1.0, "writers were blocked {held} s");

    // Streaming: the binlog rows decode with the history's shape.
    exec(
        &mut src,
        &(ROWS.replace("{db}", "m57_src").replace("(1, -128", "(3, -128").replace("(2, 127", "(4, 127")
            + ";\nUPDATE m57_src.t SET vc = 'changed', bu = 18446744073709551614 WHERE id = 1;\nDELETE FROM m57_src.t WHERE id = 2"),
    )
    .await;
    let streamed = rows(&mut src, &Q.replace("{db}", "m57_src")).await;
    assert_eq!(streamed.len(), 3);
    wait_for(
        Duration::from_secs(30),
        "the streamed changes",
        same(streamed),
    )
    .await;
    assert!(sluice.stop().success(), "{}", sluice.log_text());
}

async fn target_rows(url: &str) -> Vec<Vec<Option<String>>> {
    let mut c = connect(url).await;
    rows(&mut c, "SELECT id, a, b, c, b2 FROM m57h_dst.t ORDER BY id").await
}

fn expected() -> Vec<Vec<Option<String>>> {
    let r = |v: [Option<&str>; 5]| v.iter().map(|c| c.map(str::to_owned)).collect();
    vec![
        r([Some("1"), Some("10"), Some("x"), None, None]),
        r([Some("2"), Some("20"), Some("y"), Some("200"), None]),
        r([Some("3"), None, Some("z"), Some("300"), None]),
        r([Some("4"), None, None, Some("400"), Some("w")]),
    ]
}

#[tokio::test(flavor = "multi_thread")]
async fn ddl_mid_stream_and_a_restart_older_than_every_change() {
    let env = env();
    let dir = scratch("mysql57_history");
    let mut src = connect(&source()).await;
    let mut tgt = connect(&env.target).await;
    recreate(
        &mut src,
        "m57h_src",
        "CREATE TABLE {db}.t (id INT PRIMARY KEY, a INT, b VARCHAR(10))",
    )
    .await;
    recreate(
        &mut tgt,
        "m57h_dst",
        "CREATE TABLE {db}.t (id INT PRIMARY KEY, a INT NULL, b VARCHAR(10) NULL, c INT NULL, b2 VARCHAR(10) NULL);
        CREATE TABLE {db}.u (id INT PRIMARY KEY, s VARCHAR(5));
        CREATE TABLE {db}.u2 (id INT PRIMARY KEY, s VARCHAR(5))",
    )
    .await;
    let port = free_port();
    let config = config_head(&source(), 5702, "current", port)
        + &mysql_target(&env, "dst", "m57h_dst")
        + "\n[[pipelines]]\nname = \"m57h\"\nsource_tables = [\"m57h_src.*\"]\ntarget = \"dst\"\nddl = \"ignore\"\nsnapshot = \"never\"\n";
    write_config(&dir, &config);
    let mut sluice = Sluice::start(&env, &dir, port);
    wait_for(Duration::from_secs(30), "sluice to stream", || async {
        let (code, body) = sluice.get("/status");
        code == 200 && body.contains("streaming")
    })
    .await;
    // With GTIDs on, a checkpoint also holds the executed set, and a
    // restart reads by it: rewinding means both, read from one SHOW MASTER
    // STATUS row (other tests write to this server at the same time).
    let status: mysql_async::Row = src
        .query_first("SHOW MASTER STATUS")
        .await
        .unwrap()
        .unwrap();
    let start = format!(
        "{}:{}",
        status.get::<String, _>(0).unwrap(),
        status.get::<u64, _>(1).unwrap()
    );
    let start_gtids = status.get::<String, _>(4).unwrap().replace('\n', "");
    // Back to back, faster than Sluice reads them: each shape comes from
    // the statement (a re-read would see the later ones).
    exec(
        &mut src,
        "INSERT INTO m57h_src.t VALUES (1, 10, 'x');
        ALTER TABLE m57h_src.t ADD COLUMN c INT;
        INSERT INTO m57h_src.t VALUES (2, 20, 'y', 200);
        ALTER TABLE m57h_src.t DROP COLUMN a;
        INSERT INTO m57h_src.t VALUES (3, 'z', 300);
        ALTER TABLE m57h_src.t CHANGE COLUMN b b2 VARCHAR(10);
        INSERT INTO m57h_src.t VALUES (4, 'w', 400);
        CREATE TABLE m57h_src.u (id INT PRIMARY KEY, s VARCHAR(5)) DEFAULT CHARSET=utf8mb4;
        INSERT INTO m57h_src.u VALUES (1, 'u');
        RENAME TABLE m57h_src.u TO m57h_src.u2;
        INSERT INTO m57h_src.u2 VALUES (2, 'u2');
        DROP TABLE m57h_src.u2",
    )
    .await;
    wait_for(Duration::from_secs(30), "the four rows", || async {
        target_rows(&env.target).await == expected()
    })
    .await;
    // The created table's rows, before and after its rename.
    let renamed = || async {
        let mut c = connect(&env.target).await;
        rows(
            &mut c,
            "SELECT 'u', id, s FROM m57h_dst.u UNION ALL SELECT 'u2', id, s FROM m57h_dst.u2",
        )
        .await
    };
    let want = |t: &str, id: &str, v: &str| {
        vec![Some(t.to_owned()), Some(id.to_owned()), Some(v.to_owned())]
    };
    wait_for(Duration::from_secs(30), "the rows of u and u2", || async {
        renamed().await == vec![want("u", "1", "u"), want("u2", "2", "u2")]
    })
    .await;
    // The history is in the target, one version per change.
    let versions: Vec<(String, u64)> = tgt
        .query("SELECT source_table, binlog_pos FROM m57h_dst.sluice_schema_history WHERE pipeline = 'm57h' ORDER BY binlog_index, binlog_pos")
        .await
        .unwrap();
    let of_t = versions.iter().filter(|(t, _)| t == "t").count();
    assert!(
        of_t >= 4,
        "the first shape of t and three changes: {versions:?}"
    );
    assert!(sluice.stop().success(), "{}", sluice.log_text());

    // Restart from before every change: the stored shapes decode it.
    let (file, pos) = start.rsplit_once(':').unwrap();
    exec(&mut tgt, "DELETE FROM m57h_dst.t").await;
    tgt.exec_drop(
        "UPDATE m57h_dst.sluice_checkpoint SET binlog_file = ?, binlog_pos = ?, gtid = ? WHERE pipeline = 'm57h'",
        (file, pos.parse::<u64>().unwrap(), &start_gtids),
    )
    .await
    .unwrap();
    let mut sluice = Sluice::start(&env, &dir, port);
    wait_for(Duration::from_secs(30), "the four rows again", || async {
        target_rows(&env.target).await == expected()
    })
    .await;
    assert!(sluice.stop().success(), "{}", sluice.log_text());

    // Without the stored history that restart cannot know the old shape.
    exec(&mut tgt, "DELETE FROM m57h_dst.sluice_schema_history").await;
    tgt.exec_drop(
        "UPDATE m57h_dst.sluice_checkpoint SET binlog_file = ?, binlog_pos = ?, gtid = ? WHERE pipeline = 'm57h'",
        (file, pos.parse::<u64>().unwrap(), &start_gtids),
    )
    .await
    .unwrap();
    let mut sluice = Sluice::start(&env, &dir, port);
    let status = sluice.wait(Duration::from_secs(30)).expect("sluice stops");
    let log = sluice.log_text();
    assert!(!status.success(), "{log}");
    assert!(
        log.contains("cannot know the columns of m57h_src.t") && log.contains("ADD COLUMN c"),
        "{log}"
    );
    exec(&mut src, "DROP DATABASE m57h_src").await;
    exec(&mut tgt, "DROP DATABASE m57h_dst").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn what_the_history_cannot_know_stops_loudly() {
    let env = env();
    let dir = scratch("mysql57_stops");
    let mut src = connect(&source()).await;
    let mut tgt = connect(&env.target).await;
    let table = "CREATE TABLE {db}.t (id INT PRIMARY KEY, v VARCHAR(10), z INT NULL, q INT NULL)";
    recreate(
        &mut src,
        "m57s_src",
        "CREATE TABLE {db}.t (id INT PRIMARY KEY, v VARCHAR(10))",
    )
    .await;
    recreate(&mut tgt, "m57s_dst", table).await;
    let port = free_port();
    let config = config_head(&source(), 5703, "current", port)
        + &mysql_target(&env, "dst", "m57s_dst")
        + "\n[[pipelines]]\nname = \"m57s\"\nsource_tables = [\"m57s_src.t\"]\ntarget = \"dst\"\nddl = \"ignore\"\nsnapshot = \"never\"\n";
    write_config(&dir, &config);
    let mut sluice = Sluice::start(&env, &dir, port);
    wait_for(Duration::from_secs(30), "sluice to stream", || async {
        sluice.get("/status").1.contains("streaming")
    })
    .await;
    exec(&mut src, "INSERT INTO m57s_src.t VALUES (1, 'a')").await;
    wait_for(Duration::from_secs(30), "the first row", || async {
        let mut t = connect(&env.target).await;
        rows(&mut t, "SELECT id FROM m57s_dst.t").await.len() == 1
    })
    .await;
    assert!(sluice.stop().success(), "{}", sluice.log_text());

    // A statement the history does not compute, then one more on the same
    // table before Sluice reads the first: information_schema shows only
    // the later shape.
    exec(
        &mut src,
        "ALTER TABLE m57s_src.t CONVERT TO CHARACTER SET latin1;
        ALTER TABLE m57s_src.t ADD COLUMN z INT;
        INSERT INTO m57s_src.t VALUES (2, 'b', 2)",
    )
    .await;
    let mut sluice = Sluice::start(&env, &dir, port);
    let status = sluice.wait(Duration::from_secs(30)).expect("sluice stops");
    let log = sluice.log_text();
    assert!(!status.success(), "{log}");
    assert!(
        log.contains("cannot know the columns of m57s_src.t after `ALTER TABLE m57s_src.t CONVERT TO CHARACTER SET latin1`")
            && log.contains("ADD COLUMN z"),
        "{log}"
    );
    let mut t = connect(&env.target).await;
    assert_eq!(
        rows(&mut t, "SELECT id FROM m57s_dst.t").await.len(),
        1,
        "nothing after the statement was applied"
    );

    // A schema change that never reached the binlog: the next table map
    // disagrees with the history.
    recreate(
        &mut src,
        "m57s_src",
        "CREATE TABLE {db}.t (id INT PRIMARY KEY, v VARCHAR(10))",
    )
    .await;
    exec(&mut tgt, "DELETE FROM m57s_dst.sluice_checkpoint").await;
    let mut sluice = Sluice::start(&env, &dir, port);
    wait_for(Duration::from_secs(30), "sluice to stream", || async {
        sluice.get("/status").1.contains("streaming")
    })
    .await;
    exec(
        &mut src,
        "SET SESSION sql_log_bin = 0;
        ALTER TABLE m57s_src.t ADD COLUMN q INT;
        SET SESSION sql_log_bin = 1;
        INSERT INTO m57s_src.t VALUES (3, 'c', 3)",
    )
    .await;
    let status = sluice.wait(Duration::from_secs(30)).expect("sluice stops");
    let log = sluice.log_text();
    assert!(!status.success(), "{log}");
    assert!(
        log.contains("does not match the schema history")
            && log.contains("3 columns in the binlog, 2 in the history")
            && log.contains("id int(11), v varchar(10)"),
        "{log}"
    );
    exec(&mut src, "DROP DATABASE m57s_src").await;
    exec(&mut tgt, "DROP DATABASE m57s_dst").await;
}

/// The accounts MySQL 5.7 offers: `mysql_native_password` works;
/// `sha256_password` is a plugin the driver does not speak, refused at
/// once with the plugin named and the way out, never retried for ever.
#[tokio::test(flavor = "multi_thread")]
async fn native_password_accounts_work_and_sha256_ones_are_refused_clearly() {
    let env = env();
    let dir = scratch("mysql57_auth");
    let mut src = connect(&source()).await;
    let mut tgt = connect(&env.target).await;
    recreate(
        &mut src,
        "m57a_src",
        "CREATE TABLE {db}.t (id INT PRIMARY KEY)",
    )
    .await;
    recreate(
        &mut tgt,
        "m57a_dst",
        "CREATE TABLE {db}.t (id INT PRIMARY KEY)",
    )
    .await;
    exec(
        &mut src,
        "DROP USER IF EXISTS 'm57_native'@'%', 'm57_sha'@'%';
        CREATE USER 'm57_native'@'%' IDENTIFIED WITH mysql_native_password BY 'n4tive';
        CREATE USER 'm57_sha'@'%' IDENTIFIED WITH sha256_password BY 'sh4';
        GRANT SELECT, RELOAD, REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO 'm57_native'@'%', 'm57_sha'@'%'",
    )
    .await;
    let (_, hostport) = source()
        .split_once('@')
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
        .unwrap();
    let port = free_port();
    let config = |user: &str| {
        config_head(&format!("mysql://{user}@{hostport}"), 5705, "current", port)
            + &mysql_target(&env, "dst", "m57a_dst")
            + "\n[[pipelines]]\nname = \"m57a\"\nsource_tables = [\"m57a_src.t\"]\ntarget = \"dst\"\n"
    };
    write_config(&dir, &config("m57_native:n4tive"));
    let mut sluice = Sluice::start(&env, &dir, port);
    exec(&mut src, "INSERT INTO m57a_src.t VALUES (1)").await;
    wait_for(
        Duration::from_secs(30),
        "the row, read as m57_native",
        || async {
            let mut t = connect(&env.target).await;
            rows(&mut t, "SELECT id FROM m57a_dst.t").await.len() == 1
        },
    )
    .await;
    assert!(sluice.stop().success(), "{}", sluice.log_text());

    exec(&mut tgt, "DELETE FROM m57a_dst.sluice_checkpoint").await;
    write_config(&dir, &config("m57_sha:sh4"));
    let mut sluice = Sluice::start(&env, &dir, port);
    let status = sluice
        .wait(Duration::from_secs(30))
        .expect("sluice stops at once");
    let log = sluice.log_text();
    assert!(!status.success(), "{log}");
    assert!(
        log.contains("authenticates with the plugin sha256_password")
            && log.contains("IDENTIFIED WITH mysql_native_password"),
        "{log}"
    );
    exec(
        &mut src,
        "DROP USER 'm57_native'@'%', 'm57_sha'@'%';\nDROP DATABASE m57a_src",
    )
    .await;
    exec(&mut tgt, "DROP DATABASE m57a_dst").await;
}
