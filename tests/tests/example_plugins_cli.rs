//! The example plugins `filter_by`, `mask_pii`, `line_total`, `fan_out`,
//! `project` and `rename`, compiled
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

#[test]
fn fan_out_sends_each_change_to_a_second_table_too() {
    let input = insert(r#"{"id":1,"sku":"A","price":"9.99"}"#)
        + r#"{"table":"shop.t","op":"update","before":{"id":1,"sku":"A","price":"9.99"},"after":{"id":1,"sku":"A","price":"8.99"}}"#
        + "\n"
        + r#"{"table":"shop.t","op":"delete","before":{"id":1,"sku":"A","price":"8.99"}}"#
        + "\n"
        + &insert(r#"{"id":2,"sku":"B"}"#);
    let config = ["into=product_price", r#"columns=["id","price"]"#];
    let out = run("fan_out", &input, &config).unwrap();
    let shape: Vec<(String, String)> = out
        .iter()
        .map(|c| {
            (
                c["table"].as_str().unwrap().to_owned(),
                c["op"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let t = |table: &str, op: &str| (table.to_owned(), op.to_owned());
    assert_eq!(
        shape,
        [
            t("shop.t", "insert"),
            t("shop.t", "update"),
            t("shop.t", "delete"),
            t("product_price", "insert"),
            t("product_price", "update"),
            t("product_price", "delete"),
            // Row 2 has other columns (a batch of its own) and no price.
            t("shop.t", "insert"),
        ],
        "each change as it is, then its copies in product_price: {out:?}"
    );
    assert_eq!(
        out[4]["after"],
        serde_json::json!({"id": 1, "price": "8.99"})
    );
    assert_eq!(out[4]["before"]["price"], "9.99");
    assert_eq!(out[5]["before"]["id"], 1);
}

#[test]
fn project_keeps_or_drops_columns() {
    let input = insert(r#"{"id":1,"sku":"A","cost_price":"1.00","price":"2.00"}"#);
    let out = run("project", &input, &[r#"keep=["id","price"]"#]).unwrap();
    assert_eq!(
        out[0]["after"],
        serde_json::json!({"id": 1, "price": "2.00"})
    );
    let out = run("project", &input, &[r#"drop=["cost_price"]"#]).unwrap();
    assert_eq!(
        out[0]["after"],
        serde_json::json!({"id": 1, "sku": "A", "price": "2.00"})
    );
    let err = run("project", &input, &[r#"keep=["sku"]"#]).unwrap_err();
    assert!(err.contains("key"), "dropping the key is refused: {err}");
    let err = run("project", &input, &[]).unwrap_err();
    assert!(err.contains("exactly one of `keep` and `drop`"), "{err}");
}

#[test]
fn rename_renames_columns_and_the_target_table() {
    let input = insert(r#"{"id":1,"name":"bolt","price":"2.00"}"#);
    let config = [
        r#"columns=["name:product_name","price:list_price","nope:x"]"#,
        "table=catalog_item",
    ];
    let out = run("rename", &input, &config).unwrap();
    assert_eq!(out[0]["table"], "catalog_item");
    assert_eq!(
        out[0]["after"],
        serde_json::json!({"id": 1, "product_name": "bolt", "list_price": "2.00"})
    );
    let err = run("rename", &input, &[r#"columns=["bad"]"#]).unwrap_err();
    assert!(err.contains("not from:to"), "{err}");
}
