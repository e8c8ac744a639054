//! MariaDB GTIDs in several replication domains. The engine starts from a
//! GTID *state* (one GTID per domain, as `@@gtid_binlog_pos` gives it),
//! copies exactly what came after it in every domain, and its checkpoint
//! stores the state it reached, per domain.

use std::time::Duration;

use mysql_async::prelude::Queryable;
use sluice_e2e::*;

#[tokio::test(flavor = "multi_thread")]
async fn resumes_from_a_multi_domain_gtid_state_and_checkpoints_one() {
    let env = env();
    let dir = scratch("gtid_domains");
    let mut src = connect(&env.source).await;
    let mut tgt = connect(&env.target).await;
    let table = "CREATE TABLE {db}.t (id INT PRIMARY KEY, domain INT)";
    recreate(&mut src, "gd_src", table).await;
    recreate(&mut tgt, "gd_dst", table).await;
    let write = |domain: u32, ids: &[u32]| {
        let mut sql = format!("SET SESSION gtid_domain_id = {domain};\n");
        for id in ids {
            sql += &format!("INSERT INTO gd_src.t VALUES ({id}, {domain});\n");
        }
        sql + "SET SESSION gtid_domain_id = 0"
    };
    exec(&mut src, &write(0, &[1, 2, 3])).await;
    exec(&mut src, &write(7, &[4, 5])).await;
    let state: String = src
        .query_first("SELECT @@gtid_binlog_pos")
        .await
        .unwrap()
        .unwrap();
    assert!(
        state.contains(",") && state.contains("7-"),
        "two domains: {state}"
    );
    exec(&mut src, &write(7, &[6, 7])).await;
    exec(&mut src, &write(0, &[8])).await;

    let port = free_port();
    write_config(
        &dir,
        &(config_head(&env.source, 5127, &state, port)
            + &mysql_target(&env, "dst", "gd_dst")
            + "\n[[pipelines]]\nname = \"domains\"\nsource_tables = [\"gd_src.t\"]\ntarget = \"dst\"\n"),
    );
    let mut sluice = Sluice::start(&env, &dir, port);
    wait_for(Duration::from_secs(30), "rows 6, 7 and 8", || async {
        let mut c = connect(&env.target).await;
        rows(&mut c, "SELECT id FROM gd_dst.t ORDER BY id")
            .await
            .len()
            == 3
    })
    .await;
    let (code, status) = sluice.get("/status");
    assert_eq!(code, 200);
    let status: serde_json::Value = serde_json::from_str(&status).unwrap();
    let shown = status["pipelines"]["domains"]["gtid"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        shown.contains("0-") && shown.contains("7-"),
        "/status shows the state: {status}"
    );
    assert!(sluice.stop().success(), "{}", sluice.log_text());
    let ids: Vec<u32> = tgt
        .query("SELECT id FROM gd_dst.t ORDER BY id")
        .await
        .unwrap();
    assert_eq!(
        ids,
        [6, 7, 8],
        "exactly what came after the state, in both domains"
    );

    // The checkpoint holds a state with both domains; domain 7 (written only
    // here) is exactly the server's.
    let now: String = src
        .query_first("SELECT @@gtid_binlog_pos")
        .await
        .unwrap()
        .unwrap();
    let stored: String = tgt
        .query_first("SELECT gtid FROM gd_dst.sluice_checkpoint WHERE pipeline = 'domains'")
        .await
        .unwrap()
        .unwrap();
    let domain = |s: &str, d: &str| s.split(',').find(|g| g.starts_with(d)).map(str::to_owned);
    assert_eq!(
        domain(&stored, "7-"),
        domain(&now, "7-"),
        "{stored} vs {now}"
    );
    assert!(domain(&stored, "0-").is_some(), "{stored}");
    exec(&mut src, "DROP DATABASE gd_src").await;
    exec(&mut tgt, "DROP DATABASE gd_dst").await;
}
