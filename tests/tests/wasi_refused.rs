//! Plugins that need what the host does not offer are refused at load.
//!
//! Plugins get no WASI. A component that imports a WASI interface (as one
//! built for wasm32-wasip2 does) is refused at load with a message that says
//! so and how to build a plugin instead.

use std::process::Command;

use sluice_e2e::*;

/// `sluice check` on a config whose one pipeline uses `plugin` as a
/// filter; it must fail, and its stderr is returned.
async fn check_refuses(plugin: &str, server_id: u32, db: &str) -> String {
    let env = env();
    recreate(&mut connect(&env.target).await, db, "").await;
    let dir = scratch(&format!("refused_{plugin}"));
    let plugins = plugin_dir(&env, &dir, &[plugin]);
    write_config(
        &dir,
        &(config_head(&env.source, server_id, "current", free_port())
            + &format!("\n[plugins]\ndir = \"{}\"\n", plugins.display())
            + &mysql_target(&env, "dst", db)
            + &format!(
                "\n[[pipelines]]\nname = \"p\"\nsource_tables = [\"a.b\"]\nfilters = [\"{plugin}\"]\ntarget = \"dst\"\n"
            )),
    );
    let out = Command::new(&env.bin)
        .args(["check", "--config"])
        .arg(dir.join("sluice.toml"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_plugin_that_imports_wasi_is_refused_with_how_to_build_one() {
    let err = check_refuses("wasi_user", 5118, "wr_dst").await;
    assert!(err.contains("plugin `wasi_user` imports WASI"), "{err}");
    assert!(
        err.contains("plugins get no WASI") && err.contains("wasm32-unknown-unknown"),
        "{err}"
    );
}

/// A plugin compiled against an older plugin interface (an older SDK) is
/// refused with both versions named and how to rebuild it.
#[tokio::test(flavor = "multi_thread")]
async fn a_plugin_built_for_an_older_interface_is_refused_with_how_to_rebuild_it() {
    let err = check_refuses("old_interface", 5138, "oi_dst").await;
    assert!(
        err.contains("plugin `old_interface` was built for the plugin interface sluice:plugin@0.1.0, but this engine offers sluice:plugin@0.2.0"),
        "{err}"
    );
    assert!(err.contains("sluice plugin build"), "{err}");
}
