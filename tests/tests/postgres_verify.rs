//! `sluice verify` between MariaDB and PostgreSQL: an equal copy (latin1
//! text, decimals, TIMESTAMP(6), binary, JSON, a float) is reported equal;
//! a changed, a missing and an extra row are reported with their keys;
//! `--repair` makes the copy equal while the engine keeps running; and a
//! table whose key is text is refused with the reason.

use std::time::Duration;

use sluice_e2e::*;

const SOURCE: &str = "CREATE TABLE {db}.items (id INT NOT NULL PRIMARY KEY, name VARCHAR(40) CHARACTER SET latin1 NOT NULL, price DECIMAL(10,2) NULL, seen TIMESTAMP(6) NULL, tag VARBINARY(8) NULL, doc JSON NULL, f DOUBLE NULL)";
const TARGET: &str = "CREATE TABLE {s}.items (id integer PRIMARY KEY, name varchar(40) NOT NULL, price numeric(10,2), seen timestamptz(6), tag bytea, doc jsonb, f double precision)";

#[tokio::test(flavor = "multi_thread")]
async fn verify_compares_mysql_with_postgres_and_repairs_it() {
    let env = env();
    let dir = scratch("postgres_verify");
    let mut src = connect(&env.source).await;
    recreate(&mut src, "pver_src", SOURCE).await;
    let pg = pg_connect(&pg_url()).await;
    pg_recreate(&pg, "pver", TARGET).await;
    exec(
        &mut src,
        "INSERT INTO pver_src.items SELECT seq, CONCAT('caf\u{e9} ', seq), IF(seq % 5 = 0, NULL, seq / 4), \
         FROM_UNIXTIME(1700000000 + seq) + INTERVAL seq MICROSECOND, IF(seq % 3 = 0, NULL, UNHEX(HEX(seq))), \
         IF(seq % 2 = 0, CONCAT('{\"z\": ', seq, ', \"a\": [1, 2.5]}'), NULL), seq / 3 FROM pver_src.seq_1_to_10000",
    )
    .await;
    let port = free_port();
    write_config(
        &dir,
        &(config_head(&env.source, 5308, "current", port)
            + &postgres_target("pg", &pg_url(), "pver")
            + "\n[[pipelines]]\nname = \"items\"\nsource_tables = [\"pver_src.*\"]\ntarget = \"pg\"\n"),
    );
    let mut sluice = Sluice::start(&env, &dir, port);
    wait_for(
        Duration::from_secs(60),
        "the snapshot to be copied",
        || async { pg_count(&pg, "SELECT count(*) FROM pver.items").await == 10_000 },
    )
    .await;

    let (code, out) = run_verify(&env, &dir, &[]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("pver_src.items -> items: equal (10000 rows in 6 ranges)"),
        "{out}"
    );

    pg_exec(
        &pg,
        "UPDATE pver.items SET price = 0.01 WHERE id = 777;
         DELETE FROM pver.items WHERE id = 4321;
         INSERT INTO pver.items (id, name) VALUES (99999, 'extra')",
    )
    .await;
    let (code, out) = run_verify(&env, &dir, &["--settle-secs", "5"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("DIFFERENT in 3 of 6 ranges"), "{out}");
    for row in [
        "id=777 differs",
        "id=4321 missing in the target",
        "id=99999 only in the target",
    ] {
        assert!(out.contains(row), "{row}: {out}");
    }

    exec(
        &mut src,
        "UPDATE pver_src.items SET price = 1.25 WHERE id = 778",
    )
    .await;
    let (code, out) = run_verify(&env, &dir, &["--repair", "--settle-secs", "30"]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(out.matches("repaired keys").count(), 3, "{out}");
    exec(
        &mut src,
        "UPDATE pver_src.items SET price = 2.50 WHERE id = 779",
    )
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (code, out) = run_verify(&env, &dir, &["--settle-secs", "30"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("equal (10000 rows"), "{out}");
    assert!(sluice.stop().success(), "{}", sluice.log_text());

    // A text key: the two servers order text differently.
    exec(
        &mut src,
        "CREATE TABLE pver_src.named (name VARCHAR(20) PRIMARY KEY, n INT)",
    )
    .await;
    pg_exec(
        &pg,
        "CREATE TABLE pver.named (name varchar(20) PRIMARY KEY, n integer)",
    )
    .await;
    let (code, out) = run_verify(&env, &dir, &[]);
    assert_ne!(code, 0, "{out}");
    assert!(out.contains("key column `name` is text"), "{out}");
    exec(&mut src, "DROP DATABASE pver_src").await;
    pg_exec(&pg, "DROP SCHEMA pver CASCADE").await;
}
