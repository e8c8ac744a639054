//! Time zones, each place in a different one: the source server runs in
//! +08:00 (`--default-time-zone`), the writing session in -05:00, the MySQL
//! target server in the machine's zone (UTC), the PostgreSQL target in
//! America/New_York, and Sluice itself under `TZ=Europe/London`.
//! TIMESTAMP and DATETIME values must arrive exact, including on both sides
//! of New York's and London's daylight-saving changes, a DATETIME that
//! does not exist in New York's local time, and one that London's repeats;
//! an `ON UPDATE CURRENT_TIMESTAMP` column carries the source's value, not
//! one the target makes when the update is applied.

use std::time::Duration;

use mysql_async::prelude::Queryable;
use sluice_e2e::*;

const TABLE: &str = "CREATE TABLE {db}.ev (id INT PRIMARY KEY, ts TIMESTAMP(6) NULL, dt DATETIME(6) NULL, \
    note VARCHAR(20) NOT NULL, \
    changed TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6))";

const PG_TABLE: &str = "CREATE TABLE {s}.ev (id integer PRIMARY KEY, ts timestamptz(6), dt timestamp(6), \
    note varchar(20) NOT NULL, changed timestamptz(6) NOT NULL)";

/// Rows as (id, ts in UTC, dt, note, changed in UTC), from a session in UTC.
const MYSQL_ROWS: &str = "SELECT id, DATE_FORMAT(ts, '%Y-%m-%d %H:%i:%s.%f'), DATE_FORMAT(dt, '%Y-%m-%d %H:%i:%s.%f'), \
    note, DATE_FORMAT(changed, '%Y-%m-%d %H:%i:%s.%f') FROM {db}.ev ORDER BY id";
const PG_ROWS: &str = "SELECT id::text, to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US'), \
    to_char(dt, 'YYYY-MM-DD HH24:MI:SS.US'), note, \
    to_char(changed AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') FROM tz.ev ORDER BY id";

async fn utc_rows(url: &str, db: &str) -> Vec<Vec<Option<String>>> {
    let mut c = connect(url).await;
    exec(&mut c, "SET SESSION time_zone = '+00:00'").await;
    let rows: Vec<mysql_async::Row> = c.query(MYSQL_ROWS.replace("{db}", db)).await.unwrap();
    rows.into_iter()
        .map(|r| {
            (0..r.len())
                .map(|i| r.get::<Option<String>, _>(i).flatten())
                .collect()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn timestamps_arrive_exact_whatever_each_side_runs_in() {
    let env = env();
    let source = var("SLUICE_TEST_EDGE");
    let dir = scratch("time_zones");
    let mut src = connect(&source).await;
    let zone: String = src
        .query_first("SELECT @@global.time_zone")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(zone, "+08:00", "the source server runs in +08:00");
    let mut tgt = connect(&env.target).await;
    recreate(&mut src, "tz_src", TABLE).await;
    recreate(&mut tgt, "tz_dst", TABLE).await;
    let pg = pg_connect(&pg_url()).await;
    pg_recreate(&pg, "tz", PG_TABLE).await;
    let start = source_position(&mut src).await;
    let port = free_port();
    write_config(
        &dir,
        &(config_head(&source, 5150, &start, port)
            + &mysql_target(&env, "my", "tz_dst")
            + &postgres_target("pg", &pg_url(), "tz")
            + "\n[[pipelines]]\nname = \"to_mysql\"\nsource_tables = [\"tz_src.ev\"]\ntarget = \"my\"\n"
            + "\n[[pipelines]]\nname = \"to_pg\"\nsource_tables = [\"tz_src.ev\"]\ntarget = \"pg\"\ntarget_table = \"ev\"\n"),
    );
    let mut sluice = Sluice::start_env(&env, &dir, port, &[], &[("TZ", "Europe/London")]);
    // In -05:00: New York changes at 2026-03-08 07:00 UTC (02:00 local),
    // London at 2026-03-29 01:00 UTC and back at 2026-10-25 01:00 UTC.
    exec(
        &mut src,
        "SET SESSION time_zone = '-05:00';
INSERT INTO tz_src.ev (id, ts, dt, note) VALUES
  (1, '2026-03-08 01:59:59.999999', '2026-03-08 01:59:59.999999', 'ny before'),
  (2, '2026-03-08 02:00:00.000001', '2026-03-08 02:30:00.000000', 'ny after'),
  (3, '2026-03-28 19:59:59.500000', '2026-03-29 01:30:00.000000', 'london before'),
  (4, '2026-03-28 20:00:00.500000', '2026-10-25 01:30:00.000000', 'london after'),
  (5, '1970-01-01 19:00:01.000000', '1000-01-01 00:00:00.000000', 'early'),
  (6, '2038-01-18 22:14:07.999999', '9999-12-31 23:59:59.999999', 'late')",
    )
    .await;
    // Later, an update: the source sets `changed` itself.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    exec(
        &mut src,
        "SET SESSION time_zone = '-05:00';
UPDATE tz_src.ev SET note = CONCAT(note, '!') WHERE id IN (1, 4)",
    )
    .await;
    let expected = utc_rows(&source, "tz_src").await;
    assert_eq!(expected.len(), 6);
    assert_eq!(
        expected[0][1].as_deref(),
        Some("2026-03-08 06:59:59.999999"),
        "the source holds the UTC instant"
    );
    wait_for(Duration::from_secs(30), "both targets to match", || {
        let (url, expected) = (env.target.clone(), expected.clone());
        let pg = &pg;
        async move {
            utc_rows(&url, "tz_dst").await == expected
                && pg_try_rows(pg, PG_ROWS).await.ok().as_ref() == Some(&expected)
        }
    })
    .await;
    // The targets applied the update later than the source made it: a
    // target-made `changed` would be later than the source's.
    let mysql = utc_rows(&env.target, "tz_dst").await;
    assert_eq!(mysql, expected);
    assert_eq!(pg_rows(&pg, PG_ROWS).await, expected);
    assert!(sluice.stop().success(), "{}", sluice.log_text());
    exec(&mut src, "DROP DATABASE tz_src").await;
    exec(&mut tgt, "DROP DATABASE tz_dst").await;
}
