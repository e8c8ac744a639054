//! Inserts, updates (one changing the primary key) and deletes on two
//! tables go through both supply-chain example plugins into the target,
//! which then holds exactly the expected rows; the metrics count them.

use std::time::Duration;

use sluice_e2e::*;

const SOURCE_SQL: &str = "
DROP DATABASE IF EXISTS ep_product;
CREATE DATABASE ep_product;
CREATE TABLE ep_product.product (id INT PRIMARY KEY, name VARCHAR(100) NOT NULL, status VARCHAR(20) NOT NULL, cost_price DECIMAL(10,2), price DECIMAL(10,2));
CREATE TABLE ep_product.category (id INT PRIMARY KEY, name VARCHAR(50) NOT NULL);
CREATE TABLE ep_product.ignored (id INT PRIMARY KEY)";

const TARGET_SQL: &str = "
DROP DATABASE IF EXISTS ep_orders;
CREATE DATABASE ep_orders;
CREATE TABLE ep_orders.product (id INT PRIMARY KEY, product_name VARCHAR(100) NOT NULL, status VARCHAR(20) NOT NULL, price DECIMAL(10,2));
CREATE TABLE ep_orders.category (id INT PRIMARY KEY, product_name VARCHAR(50) NOT NULL)";

const CHANGES: &str = "
INSERT INTO ep_product.product VALUES (1,'bolt','active',0.10,0.25),(2,'nut','active',0.05,0.15),(3,'gear','discontinued',3.00,9.99),(4,'spring','active',0.20,0.50);
INSERT INTO ep_product.category VALUES (1,'fasteners'),(2,'motion');
INSERT INTO ep_product.ignored VALUES (1);
UPDATE ep_product.product SET price = 0.30 WHERE id = 1;
UPDATE ep_product.product SET id = 10 WHERE id = 2;
UPDATE ep_product.product SET status = 'discontinued' WHERE id = 4;
UPDATE ep_product.product SET status = 'active', cost_price = 2.50 WHERE id = 3;
DELETE FROM ep_product.product WHERE id = 1;
UPDATE ep_product.category SET id = 20, name = 'motion control' WHERE id = 2;
DELETE FROM ep_product.category WHERE id = 1;
INSERT INTO ep_product.category VALUES (3,'tools')";

#[tokio::test(flavor = "multi_thread")]
async fn example_plugins_shape_changes_on_two_tables_exactly() {
    let env = env();
    let dir = scratch("example_plugins");
    let mut src = connect(&env.source).await;
    let mut tgt = connect(&env.target).await;
    exec(&mut src, SOURCE_SQL).await;
    exec(&mut tgt, TARGET_SQL).await;
    let start = source_position(&mut src).await;
    let plugins = plugin_dir(&env, &dir, &["active_only", "hide_cost"]);
    let port = free_port();
    write_config(
        &dir,
        &(config_head(&env.source, 5101, &start, port)
            + &format!("\n[plugins]\ndir = \"{}\"\n", plugins.display())
            + &mysql_target(&env, "orders", "ep_orders")
            + r#"
[[pipelines]]
name = "products"
source_tables = ["ep_product.product", "ep_product.category"]
filters = ["active_only"]
mappers = ["hide_cost"]
target = "orders"
target_table = "{table}"
"#),
    );
    let mut sluice = Sluice::start(&env, &dir, port);
    exec(&mut src, CHANGES).await;

    let expected_products = vec![
        vec![
            Some("3".into()),
            Some("gear".into()),
            Some("active".into()),
            Some("9.99".into()),
        ],
        vec![
            Some("10".into()),
            Some("nut".into()),
            Some("active".into()),
            Some("0.15".into()),
        ],
    ];
    let expected_categories = vec![
        vec![Some("3".into()), Some("tools".into())],
        vec![Some("20".into()), Some("motion control".into())],
    ];
    wait_for(Duration::from_secs(30), "the target to match", || {
        let url = env.target.clone();
        let (p, c) = (expected_products.clone(), expected_categories.clone());
        async move {
            let mut t = connect(&url).await;
            rows(
                &mut t,
                "SELECT id, product_name, status, price FROM ep_orders.product ORDER BY id",
            )
            .await
                == p
                && rows(
                    &mut t,
                    "SELECT id, product_name FROM ep_orders.category ORDER BY id",
                )
                .await
                    == c
        }
    })
    .await;

    // The metrics endpoint counts what happened.
    let text = sluice.metrics();
    for name in [
        "sluice_source_events_total",
        "sluice_source_rows_total",
        "sluice_source_position",
        "sluice_source_connected 1",
        "sluice_replication_lag_seconds",
        "sluice_plugin_calls_total{plugin=\"active_only\"}",
        "sluice_plugin_calls_total{plugin=\"hide_cost\"}",
        "sluice_target_transactions_total{target=\"orders\"}",
    ] {
        assert!(text.contains(name), "metric {name} missing:\n{text}");
    }
    for name in sluice::metrics::ALL {
        assert!(
            text.contains(&format!("\n{name}")),
            "metric {name} is not exported:\n{text}"
        );
    }
    // 4 + 2 + 1 source insert rows to product/category/ignored.
    let inserted = metric(
        &text,
        "sluice_source_rows_total{table=\"ep_product.product\",op=\"insert\"}",
    )
    .unwrap();
    assert_eq!(inserted, 4.0);
    // Target writes: inserts 3 (bolt, nut, spring) + 2 categories + 1 category = 6 upserts.
    let target_inserts = metric(
        &text,
        "sluice_target_rows_total{target=\"orders\",op=\"insert\"}",
    )
    .unwrap();
    assert_eq!(target_inserts, 6.0);
    let dropped = metric(
        &text,
        "sluice_pipeline_rows_total{pipeline=\"products\",outcome=\"dropped\"}",
    )
    .unwrap();
    assert_eq!(dropped, 1.0, "the discontinued gear insert is dropped");

    // A graceful stop exits 0 and leaves a checkpoint.
    assert!(sluice.stop().success(), "{}", sluice.log_text());
    let cp = rows(&mut tgt, "SELECT binlog_file, binlog_pos FROM ep_orders.sluice_checkpoint WHERE pipeline = 'products'").await;
    assert_eq!(cp.len(), 1);
    exec(&mut src, "DROP DATABASE ep_product").await;
    exec(&mut tgt, "DROP DATABASE ep_orders").await;
}
