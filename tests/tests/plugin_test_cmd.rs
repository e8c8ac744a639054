//! `sluice plugin test PLUGIN.wasm --input changes.jsonl [--config k=v]`
//! runs a real compiled plugin on sample changes and prints what comes out:
//! a mapper's edits applied, a filter's rejected update turned into a
//! delete, a plugin's config handed to `init`, and a bad input line named.

use std::process::Command;

use sluice_e2e::*;

const INPUT: &str = r#"{"table":"product.product","op":"insert","after":{"id":1,"name":"bolt","cost_price":"0.10","status":"active","stamp":null}}
{"table":"product.product","op":"update","before":{"id":1,"name":"bolt","cost_price":"0.10","status":"active","stamp":null},"after":{"id":1,"name":"bolt","cost_price":"0.12","status":"discontinued","stamp":null}}
"#;

/// Run `sluice plugin test`; returns (success, stdout lines as JSON, stderr).
fn plugin_test(
    plugin: &str,
    input: &str,
    config: &[&str],
) -> (bool, Vec<serde_json::Value>, String) {
    let env = env();
    let dir = scratch(&format!("plugin_test_{plugin}"));
    let file = dir.join("in.jsonl");
    std::fs::write(&file, input).unwrap();
    let mut cmd = Command::new(std::env::var("SLUICE_BIN").expect("SLUICE_BIN"));
    cmd.args(["plugin", "test"])
        .arg(env.plugins.join(format!("{plugin}.wasm")))
        .arg("--input")
        .arg(&file);
    for c in config {
        cmd.args(["--config", c]);
    }
    let out = cmd.output().unwrap();
    let lines = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (
        out.status.success(),
        lines,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn plugins_run_on_sample_changes() {
    let (ok, out, err) = plugin_test("hide_cost", INPUT, &[]);
    assert!(ok, "{err}");
    assert_eq!(out.len(), 2);
    assert_eq!(out[0]["after"]["product_name"], "bolt");
    assert!(
        out[0]["after"].get("cost_price").is_none(),
        "cost dropped: {out:?}"
    );
    assert!(
        err.contains("2 changes in, 2 out") && err.contains("ns per change"),
        "{err}"
    );

    let (ok, out, err) = plugin_test("active_only", INPUT, &[]);
    assert!(ok, "{err}");
    assert_eq!(out[0]["op"], "insert");
    assert_eq!(
        out[1]["op"], "delete",
        "a discontinued product leaves: {out:?}"
    );
    assert_eq!(out[1]["before"]["id"], 1);

    let (ok, out, err) = plugin_test("stamp", INPUT, &["value=v7"]);
    assert!(ok, "{err}");
    assert!(out.iter().all(|c| c["after"]["stamp"] == "v7"), "{out:?}");
    let (ok, _, err) = plugin_test("stamp", INPUT, &[]);
    assert!(
        !ok && err.contains("config needs a string `value`"),
        "init refuses: {err}"
    );

    let bad = "{\"table\":\"product.product\",\"op\":\"insert\",\"after\":{\"id\":1}}\n{\"table\":\"product.product\",\"op\":\"upsert\",\"after\":{\"id\":2}}\n";
    let (ok, _, err) = plugin_test("hide_cost", bad, &[]);
    assert!(
        !ok && err.contains("input line 2") && err.contains("upsert"),
        "{err}"
    );
}
