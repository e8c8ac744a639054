//! Row values decode exactly, including the cases mysql_common gets wrong
//! (negative MEDIUMINT, YEAR 0, BINARY padding, ENUM/SET labels), and a
//! MariaDB GTID start is honoured. A plain copy must equal the source
//! cell for cell.

use std::time::Duration;

use mysql_async::prelude::Queryable;
use sluice_e2e::*;

const TABLE: &str = "(
    id INT PRIMARY KEY,
    m MEDIUMINT, mu MEDIUMINT UNSIGNED, y YEAR, b BINARY(16), vb VARBINARY(8),
    e ENUM('small','medium','large'), s SET('red','green','blue'),
    d DECIMAL(30,10), t TIME(3), dt DATETIME(6), ts TIMESTAMP(6) NULL,
    l1 VARCHAR(20) CHARACTER SET latin1, u VARCHAR(20) CHARACTER SET utf8mb4,
    bi BIGINT UNSIGNED, f FLOAT, db DOUBLE, bt BIT(17), j JSON, dd DATE
)";

const ROWS: &str = "INSERT INTO dc_src.v VALUES
 (1, -8388608, 16777215, 0, UNHEX('00112233445566778899AABBCCDDEE00'), UNHEX('FF00FE'), 'medium', 'red,blue',
  -12345678901234567890.0123456789, '-838:59:59.000', '2024-02-29 23:59:59.999999', '2038-01-19 03:14:07.000001',
  'caf\\xe9', 'fish 🐟', 18446744073709551615, 1.5, -2.25, b'10000000000000001', '{\"a\": [1, 2]}', '0000-00-00'),
 (2, -1, 0, 2155, UNHEX('01000000000000000000000000000000'), '', 'small', '',
  0.5, '12:00:00.5', '1000-01-01 00:00:00', NULL, '', '', 0, 0, 0, b'0', 'null', '1000-01-01'),
 (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)";

const COMPARE: &str = "SELECT id, m, mu, y, HEX(b), HEX(vb), e, s, d, t, dt, ts, HEX(l1), u, bi, f, db, HEX(bt), j, dd FROM {db}.v ORDER BY id";

#[tokio::test(flavor = "multi_thread")]
async fn every_cell_equals_the_source_after_a_gtid_start() {
    let env = env();
    let dir = scratch("decoding");
    let mut src = connect(&env.source).await;
    let mut tgt = connect(&env.target).await;
    let table = format!("SET SESSION sql_mode = '';\nCREATE TABLE {{db}}.v {TABLE}");
    recreate(&mut src, "dc_src", &table).await;
    recreate(&mut tgt, "dc_dst", &table).await;
    let gtid: String = src
        .query_first("SELECT @@gtid_binlog_pos")
        .await
        .unwrap()
        .unwrap();
    // Several domains may be listed; start after this server's domain-0 GTID.
    let gtid = gtid
        .split(',')
        .find(|g| g.starts_with("0-"))
        .unwrap()
        .to_owned();
    exec(&mut src, &format!("SET SESSION sql_mode = '';\n{ROWS};\nUPDATE dc_src.v SET m = -5, y = 0 WHERE id = 2;\nDELETE FROM dc_src.v WHERE id = 3;\nINSERT INTO dc_src.v (id, m) VALUES (4, -70000)")).await;
    let port = free_port();
    write_config(
        &dir,
        &(config_head(&env.source, 5106, &gtid, port)
            + &mysql_target(&env, "dst", "dc_dst")
            + "\n[[pipelines]]\nname = \"values\"\nsource_tables = [\"dc_src.v\"]\ntarget = \"dst\"\n"),
    );
    let mut sluice = Sluice::start(&env, &dir, port);
    wait_for(Duration::from_secs(30), "the 3 rows", || async {
        let mut t = connect(&env.target).await;
        let n: Option<u64> = t
            .query_first("SELECT COUNT(*) FROM dc_dst.v WHERE id IN (1, 2, 4)")
            .await
            .unwrap();
        n == Some(3)
    })
    .await;
    wait_for(Duration::from_secs(10), "the checkpoint", || async {
        let mut t = connect(&env.target).await;
        let g: Option<Option<String>> = t
            .query_first("SELECT gtid FROM dc_dst.sluice_checkpoint")
            .await
            .unwrap();
        g.flatten().is_some()
    })
    .await;
    assert!(sluice.stop().success(), "{}", sluice.log_text());
    let want = rows(&mut src, &COMPARE.replace("{db}", "dc_src")).await;
    let got = rows(&mut tgt, &COMPARE.replace("{db}", "dc_dst")).await;
    assert_eq!(want.len(), 3);
    assert_eq!(got, want, "target cells equal source cells");
    // The fix-ups, spelled out.
    assert_eq!(got[0][1].as_deref(), Some("-8388608"), "negative MEDIUMINT");
    assert_eq!(got[0][3].as_deref(), Some("0000"), "YEAR 0");
    assert_eq!(
        got[0][4].as_deref(),
        Some("00112233445566778899AABBCCDDEE00"),
        "BINARY keeps trailing zero bytes"
    );
    assert_eq!(got[0][6].as_deref(), Some("medium"), "ENUM label");
    assert_eq!(got[0][7].as_deref(), Some("red,blue"), "SET labels");
    exec(&mut src, "DROP DATABASE dc_src").await;
    exec(&mut tgt, "DROP DATABASE dc_dst").await;
}

const EXTREMES: &str = "(
    id INT PRIMARY KEY,
    ti TINYINT, tu TINYINT UNSIGNED, si SMALLINT, su SMALLINT UNSIGNED,
    mi MEDIUMINT, mu MEDIUMINT UNSIGNED, i INT, iu INT UNSIGNED,
    bi BIGINT, bu BIGINT UNSIGNED,
    d52 DECIMAL(5,2), d3010 DECIMAL(30,10), f FLOAT, db DOUBLE, b1 BIT(1), b17 BIT(17),
    dt DATE, tm TIME(3), dtm DATETIME(6), ts TIMESTAMP(6) NULL, y YEAR,
    c CHAR(10) CHARACTER SET utf8mb4, vc VARCHAR(50) CHARACTER SET utf8mb4,
    cl CHAR(10) CHARACTER SET latin1, vl VARCHAR(50) CHARACTER SET latin1,
    bin BINARY(16), vbin VARBINARY(20),
    tb TINYBLOB, bl BLOB, mb MEDIUMBLOB, lb LONGBLOB,
    tt TINYTEXT, tx TEXT, mt MEDIUMTEXT, lt LONGTEXT,
    e ENUM('a','b','c'), s SET('x','y','z'), j JSON
)";

/// Every column, with binary ones as hex so the comparison is exact.
const EXTREMES_COMPARE: &str = "SELECT id, ti, tu, si, su, mi, mu, i, iu, bi, bu, d52, d3010,
    HEX(f), f, HEX(db), db, HEX(b1), HEX(b17), dt, tm, dtm, ts, y, c, vc, HEX(cl), HEX(vl),
    HEX(bin), HEX(vbin), HEX(tb), HEX(bl), MD5(mb), LENGTH(lb), MD5(lb), tt, tx, MD5(mt), MD5(lt), e, s, j
    FROM {db}.x ORDER BY id";

/// The rows with the JSON column (the last) as a JSON value: MySQL's JSON
/// type prints a document in its own normal form (`-0.0` as `-0`, which
/// reads back as the integer 0, keys sorted), MariaDB's keeps the text,
/// and both hold the same value.
async fn extremes(conn: &mut mysql_async::Conn, db: &str) -> Vec<Vec<Option<String>>> {
    fn numbers_as_f64(v: serde_json::Value) -> serde_json::Value {
        use serde_json::Value;
        match v {
            Value::Number(n) => match n.as_f64() {
                Some(0.0) => Value::from(0.0),
                Some(f) => Value::from(f),
                None => Value::Number(n),
            },
            Value::Array(a) => Value::Array(a.into_iter().map(numbers_as_f64).collect()),
            Value::Object(o) => {
                Value::Object(o.into_iter().map(|(k, v)| (k, numbers_as_f64(v))).collect())
            }
            other => other,
        }
    }
    let mut out = rows(conn, &EXTREMES_COMPARE.replace("{db}", db)).await;
    for row in &mut out {
        if let Some(Some(j)) = row.last_mut() {
            let v: serde_json::Value = serde_json::from_str(j).expect("a JSON column");
            *j = numbers_as_f64(v).to_string();
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn every_type_at_its_extremes_and_a_20_mib_row_copy_exactly() {
    let env = env();
    let dir = scratch("decoding_extremes");
    let mut src = connect(&env.source).await;
    let mut tgt = connect(&env.target).await;
    // Rows of 20 MiB need a larger packet on both servers (throwaway ones).
    for c in [&mut src, &mut tgt] {
        exec(c, "SET GLOBAL max_allowed_packet = 67108864").await;
    }
    let mut src = connect(&env.source).await;
    let table = format!("SET SESSION sql_mode = '';\nCREATE TABLE {{db}}.x {EXTREMES}");
    recreate(&mut src, "dx_src", &table).await;
    recreate(&mut tgt, "dx_dst", &table).await;
    let start = source_position(&mut src).await;
    exec(
        &mut src,
        "SET SESSION sql_mode = '';
        INSERT INTO dx_src.x VALUES (1,
          -128, 0, -32768, 0, -8388608, 0, -2147483648, 0, -9223372036854775808, 0,
          -999.99, -99999999999999999999.9999999999, -3.40282e38, -1.7976931348623157e308, b'0', b'0',
          '0000-00-00', '-838:59:59.000', '1000-01-01 00:00:00.000000', '1970-01-01 00:00:01.000000', 0,
          '', '', '', '', UNHEX('00000000000000000000000000000000'), '',
          '', '', '', '', '', '', '', '', 'a', '', '[]');
        INSERT INTO dx_src.x VALUES (2,
          127, 255, 32767, 65535, 8388607, 16777215, 2147483647, 4294967295, 9223372036854775807, 18446744073709551615,
          999.99, 99999999999999999999.9999999999, 3.40282e38, 1.7976931348623157e308, b'1', b'11111111111111111',
          '9999-12-31', '838:59:59.000', '9999-12-31 23:59:59.999999', '2038-01-19 03:14:07.999999', 2155,
          '🐟🐟🐟🐟🐟🐟🐟🐟🐟🐟', 'emoji 😀 and 中文', 'àéîõü', 'Grüße, ça va? ÿ',
          UNHEX('DEADBEEF000000000000000000000000'), UNHEX('FF00FEC328'),
          REPEAT(UNHEX('00FF'), 127), REPEAT(UNHEX('A0'), 65535), REPEAT(UNHEX('01'), 100000), REPEAT(UNHEX('7F'), 300000),
          REPEAT('t', 255), REPEAT('ü', 20000), REPEAT('m', 70000), REPEAT('🐟', 80000), 'c', 'x,y,z',
          '{\"k\": [1, 2.5, \"s\", null, true], \"n\": {\"deep\": -0.0}}');
        INSERT INTO dx_src.x (id) VALUES (3);
        INSERT INTO dx_src.x (id, lb) VALUES (4, REPEAT(UNHEX('5A'), 20971520));
        UPDATE dx_src.x SET ti = 5, tm = '-00:00:00.001', dtm = '2024-02-29 12:34:56.000001', vbin = UNHEX('80'), y = 1901 WHERE id = 1;
        UPDATE dx_src.x SET lb = CONCAT(lb, 'tail') WHERE id = 4;
        INSERT INTO dx_src.x (id, ti) VALUES (5, 1);
        DELETE FROM dx_src.x WHERE id = 5",
    )
    .await;
    let port = free_port();
    write_config(
        &dir,
        &(config_head(&env.source, 5126, &start, port)
            + &mysql_target(&env, "dst", "dx_dst")
            + "\n[[pipelines]]\nname = \"extremes\"\nsource_tables = [\"dx_src.x\"]\ntarget = \"dst\"\n"),
    );
    let want = extremes(&mut src, "dx_src").await;
    assert_eq!(want.len(), 4);
    let mut sluice = Sluice::start(&env, &dir, port);
    wait_for(Duration::from_secs(60), "every row equal", || async {
        let mut t = connect(&env.target).await;
        extremes(&mut t, "dx_dst").await == want
    })
    .await;
    assert!(sluice.stop().success(), "{}", sluice.log_text());
    let got = extremes(&mut tgt, "dx_dst").await;
    assert_eq!(got, want);
    assert_eq!(
        got[3][33].as_deref(),
        Some("20971524"),
        "the 20 MiB row and its update"
    );
    exec(&mut src, "DROP DATABASE dx_src").await;
    exec(&mut tgt, "DROP DATABASE dx_dst").await;
}
