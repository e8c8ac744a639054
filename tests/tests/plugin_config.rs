//! A plugin gets its own config section through `#[sluice::init]`; a config
//! its init refuses stops start-up (and `sluice check`) with the plugin's
//! message, before any row is touched.

use std::process::Command;
use std::time::Duration;

use mysql_async::prelude::Queryable;
use sluice_e2e::*;

fn config(env: &Env, start: &str, port: u16, plugins: &std::path::Path, section: &str) -> String {
    config_head(&env.source, 5116, start, port)
        + &format!("\n[plugins]\ndir = \"{}\"\n{section}\n", plugins.display())
        + &mysql_target(env, "dst", "pc_dst")
        + "\n[[pipelines]]\nname = \"stamped\"\nsource_tables = [\"pc_src.t\"]\nmappers = [\"stamp\"]\ntarget = \"dst\"\n"
}

#[tokio::test(flavor = "multi_thread")]
async fn init_receives_the_plugin_config_and_a_refused_config_stops_start_up() {
    let env = env();
    let dir = scratch("plugin_config");
    let mut src = connect(&env.source).await;
    let mut tgt = connect(&env.target).await;
    let table = "CREATE TABLE {db}.t (id INT PRIMARY KEY, stamp VARCHAR(20) NULL)";
    recreate(&mut src, "pc_src", table).await;
    recreate(&mut tgt, "pc_dst", table).await;
    let start = source_position(&mut src).await;
    let plugins = plugin_dir(&env, &dir, &["stamp"]);
    let port = free_port();

    // Refused: the section lacks `value`.
    write_config(
        &dir,
        &config(
            &env,
            &start,
            port,
            &plugins,
            "[plugins.config.stamp]\nother = 1",
        ),
    );
    for cmd in ["check", "run"] {
        let out = Command::new(&env.bin)
            .args([cmd, "--config"])
            .arg(dir.join("sluice.toml"))
            .output()
            .unwrap();
        assert!(!out.status.success(), "{cmd}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("plugin `stamp`") && err.contains("config needs a string `value`"),
            "{cmd}: {err}"
        );
    }

    write_config(
        &dir,
        &config(
            &env,
            &start,
            port,
            &plugins,
            "[plugins.config.stamp]\nvalue = \"batch-7\"",
        ),
    );
    src.exec_drop("INSERT INTO pc_src.t (id) VALUES (1), (2)", ())
        .await
        .unwrap();
    let mut sluice = Sluice::start(&env, &dir, port);
    wait_for(Duration::from_secs(20), "stamped rows", || async {
        let mut t = connect(&env.target).await;
        let n: Option<u64> = t
            .query_first("SELECT COUNT(*) FROM pc_dst.t WHERE stamp = 'batch-7'")
            .await
            .unwrap();
        n == Some(2)
    })
    .await;
    assert!(sluice.stop().success(), "{}", sluice.log_text());
    exec(&mut src, "DROP DATABASE pc_src").await;
    exec(&mut tgt, "DROP DATABASE pc_dst").await;
}
