//! Fan-out through the real `fan_out` component into a real target: every
//! change to the product table also goes, cut down to id and price, to a
//! second table. A 1,000-row transaction, updates (one moving a key) and
//! deletes leave both target tables equal to what the source says.

use std::time::Duration;

use sluice_e2e::*;

#[tokio::test(flavor = "multi_thread")]
async fn every_change_also_reaches_the_second_table_cut_down() {
    let env = env();
    let dir = scratch("fan_out");
    let mut src = connect(&env.source).await;
    let mut tgt = connect(&env.target).await;
    recreate(
        &mut src,
        "fo_product",
        "CREATE TABLE fo_product.product (id INT PRIMARY KEY, name VARCHAR(50) NOT NULL, price DECIMAL(10,2))",
    )
    .await;
    recreate(
        &mut tgt,
        "fo_orders",
        "CREATE TABLE fo_orders.product (id INT PRIMARY KEY, name VARCHAR(50) NOT NULL, price DECIMAL(10,2));
         CREATE TABLE fo_orders.product_price (id INT PRIMARY KEY, price DECIMAL(10,2))",
    )
    .await;
    let start = source_position(&mut src).await;
    let plugins = plugin_dir(&env, &dir, &["fan_out"]);
    let port = free_port();
    write_config(
        &dir,
        &(config_head(&env.source, 5139, &start, port)
            + &format!("\n[plugins]\ndir = \"{}\"\n", plugins.display())
            + r#"
[plugins.config.fan_out]
into = "product_price"
columns = ["id", "price"]
"# + &mysql_target(&env, "orders", "fo_orders")
            + r#"
[[pipelines]]
name = "products"
source_tables = ["fo_product.product"]
mappers = ["fan_out"]
target = "orders"
target_table = "{table}"
"#),
    );
    let mut sluice = Sluice::start(&env, &dir, port);
    exec(
        &mut src,
        "INSERT INTO fo_product.product SELECT seq, CONCAT('part ', seq), seq / 100 FROM fo_product.seq_1_to_1000;
         UPDATE fo_product.product SET price = price * 2 WHERE id <= 100;
         UPDATE fo_product.product SET price = NULL WHERE id = 7;
         UPDATE fo_product.product SET id = 5000 WHERE id = 8;
         DELETE FROM fo_product.product WHERE id BETWEEN 901 AND 1000;",
    )
    .await;
    let source_prices = rows(
        &mut src,
        "SELECT id, price FROM fo_product.product ORDER BY id",
    )
    .await;
    let source_products = rows(
        &mut src,
        "SELECT id, name, price FROM fo_product.product ORDER BY id",
    )
    .await;
    assert_eq!(source_prices.len(), 900);
    wait_for(
        Duration::from_secs(60),
        "both target tables to match",
        || {
            let url = env.target.clone();
            let (prices, products) = (source_prices.clone(), source_products.clone());
            async move {
                let mut t = connect(&url).await;
                rows(
                    &mut t,
                    "SELECT id, price FROM fo_orders.product_price ORDER BY id",
                )
                .await
                    == prices
                    && rows(
                        &mut t,
                        "SELECT id, name, price FROM fo_orders.product ORDER BY id",
                    )
                    .await
                        == products
            }
        },
    )
    .await;
    let status = sluice.stop();
    assert!(status.success(), "{status}: {}", sluice.log_text());
}
