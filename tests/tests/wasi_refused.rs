//! Plugins that need what the host does not offer are refused at load.
//!
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

/// A plugin compiled against an older plugin interface (an older SDK) is
/// refused with both versions named and how to rebuild it.
#[tokio::test(flavor = "multi_thread")]
async fn a_plugin_built_for_an_older_interface_is_refused_with_how_to_rebuild_it() {
    let env = env();
    recreate(&mut connect(&env.target).await, "oi_dst", "").await;
    let dir = scratch("old_interface_refused");
    let plugins = plugin_dir(&env, &dir, &["old_interface"]);
    write_config(
        &dir,
        &(config_head(&env.source, 5138, "current", free_port())
            + &format!("\n[plugins]\ndir = \"{}\"\n", plugins.display())
            + &mysql_target(&env, "dst", "oi_dst")
            + "\n[[pipelines]]\nname = \"p\"\nsource_tables = [\"a.b\"]\nfilters = [\"old_interface\"]\ntarget = \"dst\"\n"),
    );
    let out = Command::new(&env.bin)
        .args(["check", "--config"])
        .arg(dir.join("sluice.toml"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("plugin `old_interface` was built for the plugin interface sluice:plugin@0.1.0, but this engine offers sluice:plugin@0.2.0"),
        "{err}"
    );
    assert!(err.contains("sluice plugin build"), "{err}");
}
