//! The HTTP listener: /healthz, /readyz and /status tell an operator what
//! runs and what halted, and why; logs can be JSON lines.

use std::time::Duration;

use mysql_async::prelude::Queryable;
use sluice_e2e::*;

#[tokio::test(flavor = "multi_thread")]
async fn readyz_and_status_report_a_halted_pipeline_while_the_other_streams() {
    let env = env();
    let dir = scratch("http_api");
    let mut src = connect(&env.source).await;
    let mut tgt = connect(&env.target).await;
    let table = "CREATE TABLE {db}.item (id INT PRIMARY KEY, name VARCHAR(20) NOT NULL)";
    recreate(&mut src, "ha_src", table).await;
    recreate(&mut tgt, "ha_good", table).await;
    recreate(&mut tgt, "ha_bad", table).await;
    let start = source_position(&mut src).await;
    let plugins = plugin_dir(&env, &dir, &["trap_on_marker"]);
    let port = free_port();
    write_config(
        &dir,
        &(config_head(&env.source, 5109, &start, port)
            + &format!("\n[plugins]\ndir = \"{}\"\n", plugins.display())
            + &mysql_target(&env, "good", "ha_good")
            + &mysql_target(&env, "bad", "ha_bad")
            + "\n[[pipelines]]\nname = \"good\"\nsource_tables = [\"ha_src.item\"]\ntarget = \"good\"\n"
            + "\n[[pipelines]]\nname = \"bad\"\nsource_tables = [\"ha_src.item\"]\nfilters = [\"trap_on_marker\"]\ntarget = \"bad\"\n"),
    );
    let mut sluice = Sluice::start_with(&env, &dir, port, &["--log-format", "json"]);
    wait_for(Duration::from_secs(20), "/readyz to say ready", || async {
        sluice.get("/readyz").0 == 200
    })
    .await;
    assert_eq!(sluice.get("/healthz").0, 200);

    exec(&mut src, "INSERT INTO ha_src.item VALUES (1, 'a'), (2, 'b');\nINSERT INTO ha_src.item VALUES (3, 'boom')").await;
    wait_for(
        Duration::from_secs(20),
        "the good pipeline to apply 3 rows",
        || async {
            let mut t = connect(&env.target).await;
            let n: Option<u64> = t
                .query_first("SELECT COUNT(*) FROM ha_good.item")
                .await
                .unwrap();
            n == Some(3)
        },
    )
    .await;
    wait_for(
        Duration::from_secs(20),
        "/readyz to report the halt",
        || async { sluice.get("/readyz").0 == 503 },
    )
    .await;
    let (_, why) = sluice.get("/readyz");
    assert!(
        why.contains("pipeline bad is halted") && why.contains("trap_on_marker"),
        "{why}"
    );

    let (code, body) = sluice.get("/status");
    assert_eq!(code, 200);
    let status: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(status["source_connected"], true, "{body}");
    let good = &status["pipelines"]["good"];
    assert_eq!(good["state"], "streaming", "{body}");
    assert_eq!(good["rows_out"], 3, "{body}");
    assert!(
        good["position"].as_str().unwrap().starts_with("binlog."),
        "{body}"
    );
    let bad = &status["pipelines"]["bad"];
    assert_eq!(bad["state"], "halted", "{body}");
    assert!(
        bad["error"]
            .as_str()
            .unwrap()
            .contains("found the marker row"),
        "{body}"
    );
    assert_eq!(bad["plugins"][0]["name"], "trap_on_marker", "{body}");
    assert_eq!(
        bad["plugins"][0]["version"].as_str().unwrap().len(),
        12,
        "{body}"
    );
    let (code, why) = sluice.post("/pipelines/bad/resume", Some("whatever-token-it-is"));
    assert_eq!(code, 403, "resume is disabled without [admin] token: {why}");
    assert!(why.contains("[admin] token"), "{why}");
    let metrics = sluice.metrics();
    assert!(
        metrics.contains("sluice_plugin_info{plugin=\"trap_on_marker\",version=\""),
        "{metrics}"
    );
    assert!(
        metrics.contains("sluice_checkpoint_age_seconds{pipeline=\"good\"}"),
        "{metrics}"
    );
    assert!(
        metrics.contains("sluice_target_batch_seconds_count{target=\"good\"}"),
        "{metrics}"
    );
    assert!(
        metrics.contains("sluice_plugin_errors_total{plugin=\"trap_on_marker\",kind=\"trap\"} 1"),
        "{metrics}"
    );

    // A halted pipeline is an error the exit status must not hide.
    let code = sluice.stop();
    assert_eq!(code.code(), Some(1), "{}", sluice.log_text());
    for line in sluice.log_text().lines().filter(|l| !l.trim().is_empty()) {
        let v: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("log line is not JSON ({e}): {line}"));
        assert!(v["level"].is_string() && v["fields"].is_object(), "{line}");
    }
    exec(&mut src, "DROP DATABASE ha_src").await;
    exec(&mut tgt, "DROP DATABASE ha_good;\nDROP DATABASE ha_bad").await;
}
