//! Plugins get no WASI. A component that imports a WASI interface (as one
//! built for wasm32-wasip2 does) is refused at load with a message that says
//! so and how to build a plugin instead.

use std::process::Command;

use sluice_e2e::*;

#[tokio::test(flavor = "multi_thread")]
async fn a_plugin_that_imports_wasi_is_refused_with_how_to_build_one() {
    let env = env();
    recreate(&mut connect(&env.target).await, "wr_dst", "").await;
    let dir = scratch("wasi_refused");
    let plugins = plugin_dir(&env, &dir, &["wasi_user"]);
    write_config(
        &dir,
        &(config_head(&env.source, 5118, "current", free_port())
            + &format!("\n[plugins]\ndir = \"{}\"\n", plugins.display())
            + &mysql_target(&env, "dst", "wr_dst")
            + "\n[[pipelines]]\nname = \"p\"\nsource_tables = [\"a.b\"]\nfilters = [\"wasi_user\"]\ntarget = \"dst\"\n"),
    );
    let out = Command::new(&env.bin)
        .args(["check", "--config"])
        .arg(dir.join("sluice.toml"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("plugin `wasi_user` imports WASI"), "{err}");
    assert!(
        err.contains("plugins get no WASI") && err.contains("wasm32-unknown-unknown"),
        "{err}"
    );
}
