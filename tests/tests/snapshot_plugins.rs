//! Snapshot rows take the pipeline's plugins like streamed rows: existing
//! products go through the `active_only` filter and the `hide_cost`
//! mapper, and later changes stream on top. A copied table without a
//! primary key stops the snapshot with its name and the fix.

use std::time::Duration;

use sluice_e2e::*;

#[tokio::test(flavor = "multi_thread")]
async fn snapshot_rows_pass_through_filters_and_mappers() {
    let env = env();
    let dir = scratch("snapshot_plugins");
    let mut src = connect(&env.source).await;
    let mut tgt = connect(&env.target).await;
    recreate(
        &mut src,
        "sp_src",
        "CREATE TABLE {db}.product (id INT PRIMARY KEY, name VARCHAR(40), cost_price DECIMAL(8,2), status VARCHAR(20))",
    )
    .await;
    recreate(
        &mut tgt,
        "sp_dst",
        "CREATE TABLE {db}.product (id INT PRIMARY KEY, product_name VARCHAR(40), status VARCHAR(20))",
    )
    .await;
    exec(
        &mut src,
        "INSERT INTO sp_src.product SELECT seq, CONCAT('p', seq), seq * 1.5, IF(seq % 4 = 0, 'discontinued', 'active') FROM sp_src.seq_1_to_1000",
    )
    .await;
    let plugins = plugin_dir(&env, &dir, &["active_only", "hide_cost"]);
    let port = free_port();
    write_config(
        &dir,
        &(config_head(&env.source, 5133, "current", port)
            + &format!("\n[plugins]\ndir = \"{}\"\n", plugins.display())
            + &mysql_target(&env, "dst", "sp_dst")
            + "\n[[pipelines]]\nname = \"products\"\nsource_tables = [\"sp_src.product\"]\nfilters = [\"active_only\"]\nmappers = [\"hide_cost\"]\ntarget = \"dst\"\nsnapshot = \"initial\"\nsnapshot_chunk_rows = 64\n"),
    );
    let mut sluice = Sluice::start(&env, &dir, port);
    let count = |url: String| async move {
        rows(
            &mut connect(&url).await,
            "SELECT COUNT(*) FROM sp_dst.product",
        )
        .await[0][0]
            .clone()
            .unwrap()
    };
    wait_for(
        Duration::from_secs(60),
        "750 active products copied",
        || {
            let f = count(env.target.clone());
            async move { f.await == "750" }
        },
    )
    .await;
    // Streaming continues from the copy: one more product, one discontinued.
    exec(
        &mut src,
        "INSERT INTO sp_src.product VALUES (5000, 'new', 1.00, 'active');\n\
         UPDATE sp_src.product SET status = 'discontinued' WHERE id = 1",
    )
    .await;
    wait_for(Duration::from_secs(60), "the streamed changes", || {
        let f = count(env.target.clone());
        async move { f.await == "750" }
    })
    .await;
    wait_for(Duration::from_secs(60), "product 5000", || {
        let url = env.target.clone();
        async move {
            rows(
                &mut connect(&url).await,
                "SELECT product_name FROM sp_dst.product WHERE id = 5000",
            )
            .await
                == vec![vec![Some("new".to_owned())]]
        }
    })
    .await;
    let got = rows(
        &mut tgt,
        "SELECT id, product_name, status FROM sp_dst.product WHERE id IN (1, 2, 4, 5000) ORDER BY id",
    )
    .await;
    let s = |v: &str| Some(v.to_owned());
    assert_eq!(
        got,
        vec![
            vec![s("2"), s("p2"), s("active")],
            vec![s("5000"), s("new"), s("active")],
        ],
        "discontinued 4 was never copied, 1 left when discontinued"
    );
    assert!(sluice.stop().success(), "{}", sluice.log_text());
    exec(&mut src, "DROP DATABASE sp_src").await;
    exec(&mut tgt, "DROP DATABASE sp_dst").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_table_without_a_primary_key_stops_the_snapshot_by_name() {
    let env = env();
    let dir = scratch("snapshot_no_key");
    let mut src = connect(&env.source).await;
    let mut tgt = connect(&env.target).await;
    recreate(
        &mut src,
        "snk_src",
        "CREATE TABLE {db}.log (line VARCHAR(40))",
    )
    .await;
    recreate(
        &mut tgt,
        "snk_dst",
        "CREATE TABLE {db}.log (line VARCHAR(40))",
    )
    .await;
    exec(&mut src, "INSERT INTO snk_src.log VALUES ('a'), ('b')").await;
    let port = free_port();
    write_config(
        &dir,
        &(config_head(&env.source, 5134, "current", port)
            + &mysql_target(&env, "dst", "snk_dst")
            + "\n[[pipelines]]\nname = \"logs\"\nsource_tables = [\"snk_src.*\"]\ntarget = \"dst\"\n"),
    );
    let mut sluice = Sluice::start(&env, &dir, port);
    let status = sluice
        .wait(Duration::from_secs(30))
        .expect("sluice stops on its own");
    assert!(!status.success());
    let log = sluice.log_text();
    assert!(
        log.contains("snapshot: table snk_src.log has no primary key")
            && log.contains("leave the table out of source_tables"),
        "{log}"
    );
    exec(&mut src, "DROP DATABASE snk_src").await;
    exec(&mut tgt, "DROP DATABASE snk_dst").await;
}
