//! Missing PostgreSQL tables: `sluice check` lists each missing target
//! table of a plain-copy pipeline with the way out; with
//! `create_tables = true` the engine creates them at start from the source
//! tables' definitions (types mapped, NOT NULL and the key kept), logs the
//! statements, and the snapshot fills them.

use std::process::Command;
use std::time::Duration;

use sluice_e2e::*;

#[tokio::test(flavor = "multi_thread")]
async fn missing_tables_are_reported_by_check_and_created_when_asked() {
    let env = env();
    let dir = scratch("postgres_create_tables");
    let mut src = connect(&env.source).await;
    recreate(
        &mut src,
        "pct_src",
        "CREATE TABLE {db}.product (id BIGINT UNSIGNED PRIMARY KEY, sku VARCHAR(32) NOT NULL, price DECIMAL(12,2) NULL, seen TIMESTAMP(6) NULL, flags BIT(3) NOT NULL, doc JSON NULL);
        CREATE TABLE {db}.pair (a INT NOT NULL, b VARBINARY(8) NOT NULL, PRIMARY KEY (a, b));
        INSERT INTO {db}.product VALUES (18446744073709551615, 'MAX', 1.50, '2024-03-10 02:30:00.5', b'101', '{\"k\": 1}'), (1, 'ONE', NULL, NULL, b'0', NULL);
        INSERT INTO {db}.pair VALUES (1, 0x00ff), (2, '')",
    )
    .await;
    let pg = pg_connect(&pg_url()).await;
    pg_recreate(&pg, "pct", "").await;
    let port = free_port();
    let config = |create: bool| {
        config_head(&env.source, 5309, "current", port)
            + &postgres_target("pg", &pg_url(), "pct")
            + &format!("create_tables = {create}\n")
            + "\n[[pipelines]]\nname = \"copy\"\nsource_tables = [\"pct_src.*\"]\ntarget = \"pg\"\n"
    };

    write_config(&dir, &config(false));
    let out = Command::new(&env.bin)
        .args(["check", "--config"])
        .arg(dir.join("sluice.toml"))
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{text}");
    for want in [
        "no table pct.product for pct_src.product",
        "no table pct.pair for pct_src.pair",
        "create_tables = true",
    ] {
        assert!(text.contains(want), "check says {want}: {text}");
    }

    write_config(&dir, &config(true));
    let out = Command::new(&env.bin)
        .args(["check", "--config"])
        .arg(dir.join("sluice.toml"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "with create_tables nothing is missing: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        pg_count(&pg, "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'pct' AND table_name IN ('product', 'pair')").await,
        0,
        "check creates nothing"
    );

    let mut sluice = Sluice::start(&env, &dir, port);
    wait_for(
        Duration::from_secs(60),
        "the snapshot in the created tables",
        || async {
            pg_count(
                &pg,
                "SELECT (SELECT count(*) FROM pct.product) + (SELECT count(*) FROM pct.pair)",
            )
            .await
                == 4
        },
    )
    .await;
    assert!(sluice.stop().success(), "{}", sluice.log_text());
    let log = sluice.log_text();
    assert_eq!(
        log.matches("created a missing target table").count(),
        2,
        "{log}"
    );
    let cols = pg_rows(
        &pg,
        "SELECT string_agg(column_name || ' ' || udt_name || ' ' || is_nullable, ', ' ORDER BY ordinal_position) FROM information_schema.columns WHERE table_schema = 'pct' AND table_name = 'product'",
    )
    .await;
    // MariaDB's JSON is LONGTEXT in information_schema (MySQL's is json,
    // which becomes jsonb), so the copy's column is text.
    assert_eq!(
        cols[0][0].as_deref(),
        Some(
            "id numeric NO, sku varchar NO, price numeric YES, seen timestamptz YES, flags bit NO, doc text YES"
        )
    );
    assert_eq!(
        pg_rows(&pg, "SELECT id, sku, price, to_char(seen AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US'), flags, doc::text FROM pct.product ORDER BY id").await,
        vec![
            vec![Some("1".to_owned()), Some("ONE".to_owned()), None, None, Some("000".to_owned()), None],
            vec![
                Some("18446744073709551615".to_owned()),
                Some("MAX".to_owned()),
                Some("1.50".to_owned()),
                Some("2024-03-10 02:30:00.500000".to_owned()),
                Some("101".to_owned()),
                Some("{\"k\": 1}".to_owned())
            ],
        ]
    );
    assert_eq!(
        pg_rows(&pg, "SELECT a, encode(b, 'hex') FROM pct.pair ORDER BY a").await,
        vec![
            vec![Some("1".to_owned()), Some("00ff".to_owned())],
            vec![Some("2".to_owned()), Some(String::new())]
        ]
    );
    exec(&mut src, "DROP DATABASE pct_src").await;
    pg_exec(&pg, "DROP SCHEMA pct CASCADE").await;
}
