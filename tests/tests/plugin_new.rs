//! `sluice plugin new` makes a crate that builds as it is with `sluice
//! plugin build`, and the plugin it makes runs in a pipeline: the mapper
//! template masks an `email` column.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use sluice_e2e::*;

fn sluice(args: &[&str], target_dir: &PathBuf) -> String {
    let bin = std::env::var("SLUICE_BIN").expect("SLUICE_BIN");
    let out = Command::new(&bin)
        .args(args)
        .env("CARGO_TARGET_DIR", target_dir)
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "sluice {args:?}:\n{text}");
    text
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_plugin_crate_builds_and_runs() {
    let env = env();
    let dir = scratch("plugin_new");
    // Shared with later runs, so only the first one compiles the SDK.
    let bin = PathBuf::from(std::env::var("SLUICE_BIN").unwrap());
    let target_dir = bin.parent().unwrap().parent().unwrap().join("plugin-new");
    let d = dir.display().to_string();
    sluice(&["plugin", "new", "mask_email", "--dir", &d], &target_dir);
    let crate_dir = dir.join("mask_email");
    let plugins = dir.join("plugins.d");
    sluice(
        &[
            "plugin",
            "build",
            &crate_dir.display().to_string(),
            "--out",
            &plugins.display().to_string(),
        ],
        &target_dir,
    );
    assert!(plugins.join("mask_email.wasm").is_file());

    let mut src = connect(&env.source).await;
    let mut tgt = connect(&env.target).await;
    let table = "CREATE TABLE {db}.customer (id INT PRIMARY KEY, email VARCHAR(60))";
    recreate(&mut src, "pn_src", table).await;
    recreate(&mut tgt, "pn_dst", table).await;
    let start = source_position(&mut src).await;
    exec(
        &mut src,
        "INSERT INTO pn_src.customer VALUES (1, 'ann@example.com'), (2, 'no-at-sign'), (3, NULL)",
    )
    .await;
    let port = free_port();
    write_config(
        &dir,
        &(config_head(&env.source, 5129, &start, port)
            + &format!("\n[plugins]\ndir = \"{}\"\n", plugins.display())
            + &mysql_target(&env, "dst", "pn_dst")
            + "\n[[pipelines]]\nname = \"masked\"\nsource_tables = [\"pn_src.customer\"]\nmappers = [\"mask_email\"]\ntarget = \"dst\"\nddl = \"ignore\"\n"),
    );
    let mut sluice_run = Sluice::start(&env, &dir, port);
    let want = vec![
        vec![Some("1".to_owned()), Some("***@example.com".to_owned())],
        vec![Some("2".to_owned()), Some("***".to_owned())],
        vec![Some("3".to_owned()), None],
    ];
    wait_for(Duration::from_secs(30), "masked rows", || async {
        let mut c = connect(&env.target).await;
        rows(&mut c, "SELECT id, email FROM pn_dst.customer ORDER BY id").await == want
    })
    .await;
    assert!(sluice_run.stop().success(), "{}", sluice_run.log_text());
    exec(&mut src, "DROP DATABASE pn_src").await;
    exec(&mut tgt, "DROP DATABASE pn_dst").await;
}
