//! A plugin a pipeline names but that is not in the folder at start: the
//! pipeline waits and says so (`/status`, `/readyz`), the other pipeline
//! runs meanwhile, a broken file of that name changes nothing but is
//! counted, and the real file (written to a temp name, then renamed in)
//! starts the pipeline, which then applies every change it waited for.

use std::time::Duration;

use sluice_e2e::*;

#[tokio::test(flavor = "multi_thread")]
async fn a_pipeline_waits_for_a_missing_plugin_and_starts_when_it_arrives() {
    let env = env();
    let dir = scratch("new_plugin");
    let mut src = connect(&env.source).await;
    let mut tgt = connect(&env.target).await;
    let ddl = "CREATE TABLE {db}.plain (id INT PRIMARY KEY, v VARCHAR(20));
        CREATE TABLE {db}.product (id INT PRIMARY KEY, status VARCHAR(20))";
    recreate(&mut src, "np_src", ddl).await;
    recreate(&mut tgt, "np_dst", ddl).await;
    let start = source_position(&mut src).await;
    let plugins = dir.join("plugins.d");
    std::fs::create_dir_all(&plugins).unwrap();
    let port = free_port();
    write_config(
        &dir,
        &(config_head(&env.source, 5135, &start, port)
            + &format!("\n[plugins]\ndir = \"{}\"\n", plugins.display())
            + &mysql_target(&env, "dst", "np_dst")
            + "\n[[pipelines]]\nname = \"plain\"\nsource_tables = [\"np_src.plain\"]\ntarget = \"dst\"\n"
            + "\n[[pipelines]]\nname = \"filtered\"\nsource_tables = [\"np_src.product\"]\nfilters = [\"active_only\"]\ntarget = \"dst\"\n"),
    );
    let mut sluice = Sluice::start(&env, &dir, port);
    exec(
        &mut src,
        "INSERT INTO np_src.plain VALUES (1, 'a');\n\
         INSERT INTO np_src.product VALUES (1, 'active'), (2, 'discontinued'), (3, 'active')",
    )
    .await;
    let count = |table: &'static str| {
        let url = env.target.clone();
        async move {
            rows(
                &mut connect(&url).await,
                &format!("SELECT COUNT(*) FROM np_dst.{table}"),
            )
            .await[0][0]
                .clone()
                .unwrap()
        }
    };
    wait_for(Duration::from_secs(30), "the plain pipeline to run", || {
        let f = count("plain");
        async move { f.await == "1" }
    })
    .await;
    let (code, ready) = sluice.get("/readyz");
    assert_eq!(code, 503, "{ready}");
    assert!(ready.contains("pipeline filtered is waiting"), "{ready}");
    let (_, status) = sluice.get("/status");
    let status: serde_json::Value = serde_json::from_str(&status).unwrap();
    let filtered = &status["pipelines"]["filtered"];
    assert_eq!(filtered["state"], "waiting", "{status}");
    assert!(
        filtered["error"]
            .as_str()
            .unwrap()
            .contains("plugin `active_only`: no "),
        "{status}"
    );
    assert_eq!(count("product").await, "0");

    // A broken file under the plugin's name: refused, counted, still waiting.
    std::fs::write(plugins.join("active_only.wasm"), b"\0asm broken").unwrap();
    wait_for(
        Duration::from_secs(10),
        "the broken file to be refused",
        || {
            let m = metric(
                &sluice.metrics(),
                "sluice_plugin_reloads_total{plugin=\"active_only\",result=\"failed\"}",
            );
            async move { m.unwrap_or(0.0) >= 1.0 }
        },
    )
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(sluice.get("/readyz").0, 503);

    // The real plugin, written to a temp name and renamed in.
    let tmp = plugins.join(".active_only.wasm.tmp");
    std::fs::copy(env.plugins.join("active_only.wasm"), &tmp).unwrap();
    std::fs::rename(&tmp, plugins.join("active_only.wasm")).unwrap();
    wait_for(
        Duration::from_secs(30),
        "the waiting pipeline to apply",
        || {
            let f = count("product");
            async move { f.await == "2" }
        },
    )
    .await;
    wait_for(Duration::from_secs(10), "ready", || {
        let code = sluice.get("/readyz").0;
        async move { code == 200 }
    })
    .await;
    exec(&mut src, "INSERT INTO np_src.plain VALUES (2, 'b')").await;
    wait_for(
        Duration::from_secs(30),
        "the plain pipeline after the restart",
        || {
            let f = count("plain");
            async move { f.await == "2" }
        },
    )
    .await;
    assert!(sluice.stop().success(), "{}", sluice.log_text());
    exec(&mut src, "DROP DATABASE np_src").await;
    exec(&mut tgt, "DROP DATABASE np_dst").await;
}
