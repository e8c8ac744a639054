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
