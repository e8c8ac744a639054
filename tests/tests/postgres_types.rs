//! Golden types into PostgreSQL: every MySQL type at its extremes, NULLs,
//! updates (one moving a key) and deletes, copied into the types
//! docs/targets/postgres.md gives, and every cell compared with the source
//! in a canonical form. The source session writes in +08:00 and the
//! PostgreSQL server runs in America/New_York, so a TIMESTAMP that any time
//! zone shifted would differ.

use std::time::Duration;

use sluice_e2e::*;

/// The source table.
const SOURCE: &str = "(
    id INT PRIMARY KEY,
    ti TINYINT, tu TINYINT UNSIGNED, si SMALLINT, su SMALLINT UNSIGNED,
    mi MEDIUMINT, mu MEDIUMINT UNSIGNED, i INT, iu INT UNSIGNED,
    bi BIGINT, bu BIGINT UNSIGNED,
    d52 DECIMAL(5,2), d6530 DECIMAL(65,30), f FLOAT, db DOUBLE, b1 BIT(1), b17 BIT(17), b64 BIT(64),
    dt DATE, tm TIME(6), dtm DATETIME(6), ts TIMESTAMP(6) NULL, y YEAR,
    c CHAR(10) CHARACTER SET utf8mb4, vc VARCHAR(50) CHARACTER SET utf8mb4,
    vl VARCHAR(50) CHARACTER SET latin1, tl TEXT CHARACTER SET latin1,
    bin BINARY(16), vbin VARBINARY(20), bl BLOB, lb LONGBLOB, lt LONGTEXT,
    e ENUM('a','b','c'), s SET('x','y','z'), j JSON
)";

/// The same table in PostgreSQL, by the documented mapping.
const TARGET: &str = "CREATE TABLE {s}.x (
    id integer PRIMARY KEY,
    ti smallint, tu smallint, si smallint, su integer,
    mi integer, mu integer, i integer, iu bigint,
    bi bigint, bu numeric(20),
    d52 numeric(5,2), d6530 numeric(65,30), f real, db double precision, b1 bit(1), b17 bit(17), b64 bit(64),
    dt date, tm interval, dtm timestamp(6), ts timestamptz(6), y smallint,
    c varchar(10), vc varchar(50), vl varchar(50), tl text,
    bin bytea, vbin bytea, bl bytea, lb bytea, lt text,
    e text, s text, j jsonb
)";

/// Every column of the source in a canonical text form.
const SOURCE_CANON: &str = "SELECT id, ti, tu, si, su, mi, mu, i, iu, bi, bu, d52, d6530,
    f, db, LPAD(BIN(b1), 1, '0'), LPAD(BIN(b17), 17, '0'), LPAD(BIN(b64), 64, '0'),
    dt, CAST(TIME_TO_SEC(tm) * 1000000 AS SIGNED),
    DATE_FORMAT(dtm, '%Y-%m-%d %H:%i:%s.%f'), DATE_FORMAT(ts, '%Y-%m-%d %H:%i:%s.%f'), y + 0,
    c, vc, vl, tl, LOWER(HEX(bin)), LOWER(HEX(vbin)), MD5(bl), MD5(lb), MD5(lt), e, s, j
    FROM gt_src.x ORDER BY id";

/// The same, read from PostgreSQL.
const TARGET_CANON: &str = "SELECT id, ti, tu, si, su, mi, mu, i, iu, bi, bu, d52, d6530,
    f, db, b1, b17, b64,
    dt, (extract(epoch from tm) * 1000000)::bigint,
    to_char(dtm, 'YYYY-MM-DD HH24:MI:SS.US'), to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US'), y,
    c, vc, vl, tl, encode(bin, 'hex'), encode(vbin, 'hex'), md5(bl), md5(lb), md5(lt), e, s, j::text
    FROM gt.x ORDER BY id";

const ROWS: &str = "SET SESSION sql_mode = '', time_zone = '+08:00';
INSERT INTO gt_src.x VALUES (1,
  -128, 0, -32768, 0, -8388608, 0, -2147483648, 0, -9223372036854775808, 0,
  -999.99, -99999999999999999999999999999999999.999999999999999999999999999999, -3.40282e38, -1.7976931348623157e308,
  b'0', b'0', b'0',
  '1000-01-01', '-838:59:59.000000', '1000-01-01 00:00:00.000000', '1970-01-01 08:00:01.000000', 1901,
  '', '', '', '', UNHEX('00000000000000000000000000000000'), '', '', '', '', 'a', '', '[]');
INSERT INTO gt_src.x VALUES (2,
  127, 255, 32767, 65535, 8388607, 16777215, 2147483647, 4294967295, 9223372036854775807, 18446744073709551615,
  999.99, 99999999999999999999999999999999999.999999999999999999999999999999, 3.40282e38, 1.7976931348623157e308,
  b'1', b'11111111111111111', b'1111111111111111111111111111111111111111111111111111111111111111',
  '9999-12-31', '838:59:59.999999', '9999-12-31 23:59:59.999999', '2038-01-19 11:14:07.999999', 2155,
  '🐟🐟🐟🐟🐟🐟🐟🐟🐟🐟', 'emoji 😀 and 中文', 'àéîõü ÿ', 'Grüße, ça va?',
  UNHEX('DEADBEEF000000000000000000000000'), UNHEX('FF00FEC328'),
  REPEAT(UNHEX('A0'), 65535), REPEAT(UNHEX('7F'), 300000), REPEAT('🐟', 80000), 'c', 'x,y,z',
  '{\"k\": [1, 2.5, \"s\", null, true], \"n\": {\"deep\": -0.5}}');
INSERT INTO gt_src.x (id) VALUES (3);
INSERT INTO gt_src.x (id, tm, dtm, ts, d52, j) VALUES (4, '25:00:00.5', '2024-03-10 02:30:00.000001', '2024-03-10 15:30:00.123456', 0.01, '{\"b\": 1, \"a\": 2}');
INSERT INTO gt_src.x (id, vc) VALUES (5, 'to be deleted');
UPDATE gt_src.x SET vc = 'updated', bu = 12345678901234567890, tm = '-00:00:00.000001' WHERE id = 1;
UPDATE gt_src.x SET id = 40 WHERE id = 4;
DELETE FROM gt_src.x WHERE id = 5";

#[tokio::test(flavor = "multi_thread")]
async fn every_mysql_type_arrives_exactly_in_postgres() {
    let env = env();
    let dir = scratch("postgres_types");
    let mut src = connect(&env.source).await;
    exec(&mut src, "SET GLOBAL max_allowed_packet = 67108864").await;
    let mut src = connect(&env.source).await;
    recreate(
        &mut src,
        "gt_src",
        &format!("CREATE TABLE {{db}}.x {SOURCE}"),
    )
    .await;
    let pg = pg_connect(&pg_url()).await;
    pg_recreate(&pg, "gt", TARGET).await;
    let start = source_position(&mut src).await;
    exec(&mut src, ROWS).await;
    let end = source_position(&mut src).await;

    let port = free_port();
    write_config(
        &dir,
        &(config_head(&env.source, 5301, &start, port)
            + &postgres_target("pg", &pg_url(), "gt")
            + "\n[[pipelines]]\nname = \"types\"\nsource_tables = [\"gt_src.x\"]\ntarget = \"pg\"\n"),
    );
    let mut sluice = Sluice::start(&env, &dir, port);
    wait_for(
        Duration::from_secs(60),
        "the checkpoint at the source's end",
        || async { pg_checkpoint(&pg, "gt", "types").await.as_deref() == Some(end.as_str()) },
    )
    .await;
    assert!(sluice.stop().success(), "{}", sluice.log_text());

    // Read the source in UTC, as the target stores TIMESTAMPs.
    exec(&mut src, "SET SESSION time_zone = '+00:00'").await;
    let want = rows(&mut src, SOURCE_CANON).await;
    let got = pg_rows(&pg, TARGET_CANON).await;
    assert_eq!(want.len(), 4, "rows 1, 2, 3 and 40");
    assert_eq!(got.len(), want.len(), "{got:?}");
    let names: Vec<&str> = SOURCE_CANON
        .trim_start_matches("SELECT ")
        .split(" FROM ")
        .next()
        .unwrap()
        .split(", ")
        .collect();
    for (w, g) in want.iter().zip(&got) {
        for (c, (wv, gv)) in w.iter().zip(g).enumerate() {
            let same = match (wv, gv) {
                (Some(a), Some(b)) if c == 13 => {
                    a.parse::<f32>().unwrap() == b.parse::<f32>().unwrap()
                }
                (Some(a), Some(b)) if c == 14 => {
                    a.parse::<f64>().unwrap() == b.parse::<f64>().unwrap()
                }
                // jsonb reorders keys and spaces: compare as JSON values.
                (Some(a), Some(b)) if c == w.len() - 1 => {
                    serde_json::from_str::<serde_json::Value>(a).unwrap()
                        == serde_json::from_str::<serde_json::Value>(b).unwrap()
                }
                (a, b) => a == b,
            };
            assert!(
                same,
                "row id={:?} column {} ({:?}): source {wv:?}, postgres {gv:?}",
                w[0],
                c,
                names.get(c)
            );
        }
    }
    exec(&mut src, "DROP DATABASE gt_src").await;
    pg_exec(&pg, "DROP SCHEMA gt CASCADE").await;
}
