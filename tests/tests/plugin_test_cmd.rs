//! `sluice plugin test PLUGIN.wasm --input changes.jsonl [--config k=v]`
//! runs a real compiled plugin on sample changes and prints what comes out:
//! a mapper's edits applied, a filter's rejected update turned into a
//! delete, a plugin's config handed to `init`, and a bad input line named.

use sluice_e2e::*;

const INPUT: &str = r#"{"table":"product.product","op":"insert","after":{"id":1,"name":"bolt","cost_price":"0.10","status":"active","stamp":null}}
{"table":"product.product","op":"update","before":{"id":1,"name":"bolt","cost_price":"0.10","status":"active","stamp":null},"after":{"id":1,"name":"bolt","cost_price":"0.12","status":"discontinued","stamp":null}}
"#;

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
