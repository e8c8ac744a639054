//! Plugins are swapped while the engine runs: by rename, by a slow write in
//! four chunks, and never by a broken or wrong-world file or a removal.
//! Each change is applied by exactly the version that was live when its
//! transaction started.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use mysql_async::prelude::Queryable;
use sluice_e2e::*;

fn version(sluice: &Sluice) -> String {
    let (_, body) = sluice.get("/status");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
    v["pipelines"]["p"]["plugins"][0]["version"]
        .as_str()
        .unwrap_or("")
        .to_owned()
}

fn reloads(sluice: &Sluice, result: &str) -> f64 {
    metric(
        &sluice.metrics(),
        &format!("sluice_plugin_reloads_total{{plugin=\"swap\",result=\"{result}\"}}"),
    )
    .unwrap_or(0.0)
}

async fn ids(url: &str) -> Vec<u64> {
    let mut c = connect(url).await;
    c.query("SELECT id FROM hr_dst.p ORDER BY id")
        .await
        .unwrap()
}

/// The rows the pipeline has read and finished with (written, or filtered
/// out): `/status` counts a transaction only after its group is done.
fn rows_in(sluice: &Sluice) -> u64 {
    let (_, body) = sluice.get("/status");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
    v["pipelines"]["p"]["rows_in"].as_u64().unwrap_or(0)
}

/// Insert row `id` (the `id`-th row the pipeline reads), wait until the
/// pipeline has finished with it, and check the target then holds exactly
/// `expect`. Waiting for the row itself, not for the target state, means a
/// step whose expected state already holds (a row filtered out) still
/// fails when the row is written.
async fn insert_and_wait(env: &Env, sluice: &Sluice, id: u32, status: &str, expect: &[u64]) {
    let mut c = connect(&env.source).await;
    c.exec_drop("INSERT INTO hr_src.p VALUES (?, ?)", (id, status))
        .await
        .unwrap();
    wait_for(
        Duration::from_secs(20),
        &format!("the pipeline to finish with row {id}"),
        || async { rows_in(sluice) >= u64::from(id) },
    )
    .await;
    assert_eq!(rows_in(sluice), u64::from(id));
    assert_eq!(ids(&env.target).await, expect, "after row {id} ({status})");
}

fn slow_write(path: &Path, bytes: &[u8]) {
    let mut f = std::fs::File::create(path).unwrap();
    for chunk in bytes.chunks(bytes.len().div_ceil(4)) {
        f.write_all(chunk).unwrap();
        f.flush().unwrap();
        std::thread::sleep(Duration::from_millis(40));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn plugins_swap_while_running_and_bad_files_change_nothing() {
    let env = env();
    let dir = scratch("hot_reload");
    let mut src = connect(&env.source).await;
    let mut tgt = connect(&env.target).await;
    let table = "CREATE TABLE {db}.p (id INT PRIMARY KEY, status VARCHAR(20) NOT NULL)";
    recreate(&mut src, "hr_src", table).await;
    recreate(&mut tgt, "hr_dst", table).await;
    let start = source_position(&mut src).await;
    let plugins = dir.join("plugins.d");
    std::fs::create_dir_all(&plugins).unwrap();
    let swap = plugins.join("swap.wasm");
    let active_only = std::fs::read(env.plugins.join("active_only.wasm")).unwrap();
    let keep_all = std::fs::read(env.plugins.join("trap_on_marker.wasm")).unwrap();
    std::fs::write(&swap, &active_only).unwrap();
    let port = free_port();
    write_config(
        &dir,
        &(config_head(&env.source, 5111, &start, port)
            + &format!("\n[plugins]\ndir = \"{}\"\n", plugins.display())
            + &mysql_target(&env, "dst", "hr_dst")
            + "\n[[pipelines]]\nname = \"p\"\nsource_tables = [\"hr_src.p\"]\nfilters = [\"swap\"]\ntarget = \"dst\"\n"),
    );
    let mut sluice = Sluice::start(&env, &dir, port);
    insert_and_wait(&env, &sluice, 1, "discontinued", &[]).await;
    insert_and_wait(&env, &sluice, 2, "active", &[2]).await;
    let v1 = version(&sluice);
    assert_eq!(v1.len(), 12);

    // Deploy by write-then-rename: a filter that keeps everything.
    std::fs::write(plugins.join(".swap.wasm.tmp"), &keep_all).unwrap();
    std::fs::rename(plugins.join(".swap.wasm.tmp"), &swap).unwrap();
    wait_for(
        Duration::from_secs(10),
        "the renamed version to load",
        || async { version(&sluice) != v1 },
    )
    .await;
    let v2 = version(&sluice);
    insert_and_wait(&env, &sluice, 3, "discontinued", &[2, 3]).await;

    // A broken file written in place: refused, v2 keeps serving.
    std::fs::write(&swap, b"\0asm this is not a component").unwrap();
    wait_for(
        Duration::from_secs(10),
        "the broken file to be refused",
        || async { reloads(&sluice, "failed") >= 1.0 },
    )
    .await;
    assert_eq!(version(&sluice), v2);
    insert_and_wait(&env, &sluice, 4, "discontinued", &[2, 3, 4]).await;

    // A slow plain write in four chunks: loaded once complete.
    slow_write(&swap, &active_only);
    wait_for(
        Duration::from_secs(10),
        "the slowly written version to load",
        || async { version(&sluice) == v1 },
    )
    .await;
    insert_and_wait(&env, &sluice, 5, "discontinued", &[2, 3, 4]).await;
    insert_and_wait(&env, &sluice, 6, "active", &[2, 3, 4, 6]).await;

    // A component of the wrong world (a mapper where a filter runs): refused.
    std::fs::copy(
        env.plugins.join("hide_cost.wasm"),
        plugins.join(".swap.wasm.tmp"),
    )
    .unwrap();
    std::fs::rename(plugins.join(".swap.wasm.tmp"), &swap).unwrap();
    wait_for(
        Duration::from_secs(10),
        "the wrong-world file to be refused",
        || async { reloads(&sluice, "failed") >= 2.0 },
    )
    .await;
    assert_eq!(version(&sluice), v1);

    // Removing the file keeps the loaded version.
    std::fs::remove_file(&swap).unwrap();
    wait_for(
        Duration::from_secs(10),
        "the removal to be reported",
        || async {
            sluice
                .log_text()
                .contains("plugin file removed; the loaded version keeps running")
        },
    )
    .await;
    insert_and_wait(&env, &sluice, 7, "discontinued", &[2, 3, 4, 6]).await;
    insert_and_wait(&env, &sluice, 8, "active", &[2, 3, 4, 6, 8]).await;

    assert_eq!(reloads(&sluice, "ok"), 2.0);
    assert_eq!(reloads(&sluice, "failed"), 2.0);
    assert!(sluice.stop().success(), "{}", sluice.log_text());
    let log = sluice.log_text();
    assert!(
        log.contains("is not a valid WebAssembly component"),
        "{log}"
    );
    exec(&mut src, "DROP DATABASE hr_src").await;
    exec(&mut tgt, "DROP DATABASE hr_dst").await;
}
