//! An operator fixes the cause of a halt (deploys a fixed plugin) and
//! resumes the pipeline through the admin API; it continues exactly at the
//! failed change. The endpoint requires the configured bearer token.

use std::time::Duration;

use mysql_async::prelude::Queryable;
use sluice_e2e::*;

const TOKEN: &str = "0123456789abcdef0123456789abcdef";

#[tokio::test(flavor = "multi_thread")]
async fn a_halted_pipeline_resumes_at_the_failed_change_after_the_plugin_is_fixed() {
    let env = env();
    let dir = scratch("resume");
    let mut src = connect(&env.source).await;
    let mut tgt = connect(&env.target).await;
    let table = "CREATE TABLE {db}.item (id INT PRIMARY KEY, name VARCHAR(20) NOT NULL)";
    recreate(&mut src, "rs_src", table).await;
    recreate(&mut tgt, "rs_dst", table).await;
    let start = source_position(&mut src).await;
    let plugins = dir.join("plugins.d");
    std::fs::create_dir_all(&plugins).unwrap();
    // The "broken" version of plugin `fixable` traps on the marker row.
    std::fs::copy(
        env.plugins.join("trap_on_marker.wasm"),
        plugins.join("fixable.wasm"),
    )
    .unwrap();
    let port = free_port();
    write_config(
        &dir,
        &(config_head(&env.source, 5110, &start, port)
            + &format!(
                "\n[admin]\ntoken = \"{TOKEN}\"\n\n[plugins]\ndir = \"{}\"\n",
                plugins.display()
            )
            + &mysql_target(&env, "dst", "rs_dst")
            + "\n[[pipelines]]\nname = \"items\"\nsource_tables = [\"rs_src.item\"]\nfilters = [\"fixable\"]\ntarget = \"dst\"\n"),
    );
    exec(
        &mut src,
        "INSERT INTO rs_src.item VALUES (1, 'a');\nINSERT INTO rs_src.item VALUES (2, 'boom');\nINSERT INTO rs_src.item VALUES (3, 'c')",
    )
    .await;
    let mut sluice = Sluice::start(&env, &dir, port);
    wait_for(Duration::from_secs(20), "the pipeline to halt", || async {
        sluice.get("/readyz").1.contains("pipeline items is halted")
    })
    .await;
    assert!(
        sluice.wait(Duration::from_millis(500)).is_none(),
        "with an admin token the process stays up"
    );
    let count = |url: String| async move {
        let mut t = connect(&url).await;
        let n: Option<u64> = t
            .query_first("SELECT COUNT(*) FROM rs_dst.item")
            .await
            .unwrap();
        n.unwrap_or(0)
    };
    assert_eq!(
        count(env.target.clone()).await,
        1,
        "nothing after the failed change"
    );

    assert_eq!(
        sluice.post("/pipelines/items/resume", None).0,
        401,
        "no token"
    );
    assert_eq!(
        sluice
            .post(
                "/pipelines/items/resume",
                Some("0123456789abcdef0123456789abcdeX")
            )
            .0,
        401,
        "wrong token"
    );
    assert_eq!(
        sluice.post("/pipelines/nope/resume", Some(TOKEN)).0,
        404,
        "unknown pipeline"
    );

    // Deploy the fixed plugin: write beside, then rename into place.
    std::fs::copy(
        env.plugins.join("active_only.wasm"),
        plugins.join(".fixable.wasm.new"),
    )
    .unwrap();
    std::fs::rename(
        plugins.join(".fixable.wasm.new"),
        plugins.join("fixable.wasm"),
    )
    .unwrap();
    let (code, body) = sluice.post("/pipelines/items/resume", Some(TOKEN));
    assert_eq!(code, 202, "{body}");

    wait_for(Duration::from_secs(30), "the rest of the rows", || {
        let f = count(env.target.clone());
        async move { f.await == 3 }
    })
    .await;
    wait_for(
        Duration::from_secs(20),
        "/readyz to say ready again",
        || async { sluice.get("/readyz").0 == 200 },
    )
    .await;
    assert_eq!(
        sluice.post("/pipelines/items/resume", Some(TOKEN)).0,
        409,
        "a streaming pipeline is not resumed"
    );
    assert!(sluice.stop().success(), "{}", sluice.log_text());
    exec(&mut src, "DROP DATABASE rs_src").await;
    exec(&mut tgt, "DROP DATABASE rs_dst").await;
}
