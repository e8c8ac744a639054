//! The example plugins `filter_by`, `mask_pii` and `line_total`, compiled
//! from `plugins/examples/`, run on sample changes with `sluice plugin
//! test` and their configs.

use sluice_e2e::*;

/// The changes out, or stderr when the command failed.
fn run(plugin: &str, input: &str, config: &[&str]) -> Result<Vec<serde_json::Value>, String> {
    match plugin_test(plugin, input, config) {
        (true, out, _) => Ok(out),
        (false, _, err) => Err(err),
    }
}

fn insert(row: &str) -> String {
    format!("{{\"table\":\"shop.t\",\"op\":\"insert\",\"after\":{row}}}\n")
}

#[test]
fn filter_by_keeps_rows_matching_its_predicate() {
    let input = [
        insert(r#"{"id":1,"qty":5,"status":"active"}"#),
        insert(r#"{"id":2,"qty":50,"status":"active"}"#),
        insert(r#"{"id":3,"qty":null,"status":"active"}"#),
        insert(r#"{"id":4,"qty":"7.50","status":"active"}"#),
    ]
    .concat();
    let ids = |out: Vec<serde_json::Value>| -> Vec<i64> {
        out.iter()
            .map(|c| c["after"]["id"].as_i64().unwrap())
            .collect()
    };
    let out = run("filter_by", &input, &["column=qty", "op=<", "value=10"]).unwrap();
    assert_eq!(
        ids(out),
        [1, 4],
        "numbers compare as numbers; NULL matches nothing"
    );
    let out = run(
        "filter_by",
        &input,
        &["column=status", "op=!=", "value=active"],
    )
    .unwrap();
    assert!(out.is_empty());
    let out = run("filter_by", &input, &["column=missing", "op==", "value=x"]).unwrap();
    assert_eq!(out.len(), 4, "tables without the column pass");
    let err = run("filter_by", &input, &["column=qty", "op=~", "value=1"]).unwrap_err();
    assert!(err.contains("op `~` is not one of"), "{err}");
}

#[test]
fn mask_pii_masks_emails_and_phones() {
    let input =
        insert(r#"{"id":1,"email":"ann@example.com","phone":"+49 30 1234-5678","note":"keep"}"#)
            + &insert(r#"{"id":2,"email":null,"phone":"12","note":"x"}"#);
    let out = run(
        "mask_pii",
        &input,
        &[r#"email=["email"]"#, r#"phone=["phone"]"#],
    )
    .unwrap();
    assert_eq!(out[0]["after"]["email"], "a***@example.com");
    assert_eq!(out[0]["after"]["phone"], "********5678");
    assert_eq!(out[0]["after"]["note"], "keep");
    assert!(out[1]["after"]["email"].is_null(), "NULL stays NULL");
    let err = run("mask_pii", &input, &[]).unwrap_err();
    assert!(err.contains("needs `email` and/or `phone`"), "{err}");
}

#[test]
fn line_total_multiplies_decimals_exactly() {
    let input = insert(r#"{"id":1,"unit_price":"19.99","qty":3,"line_total":null}"#)
        + &insert(r#"{"id":2,"unit_price":"0.10","qty":null,"line_total":null}"#)
        + &insert(
            r#"{"id":3,"unit_price":"99999999999999999999.9999999999","qty":3,"line_total":null}"#,
        );
    let config = ["price=unit_price", "quantity=qty", "into=line_total"];
    let out = run("line_total", &input, &config).unwrap();
    assert_eq!(out[0]["after"]["line_total"], "59.97");
    assert!(out[1]["after"]["line_total"].is_null());
    assert_eq!(
        out[2]["after"]["line_total"],
        "299999999999999999999.9999999997"
    );
}
