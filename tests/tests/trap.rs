//! A plugin that traps halts its pipeline with an error naming the plugin,
//! the table and the binlog position; nothing after the change is applied
//! and the checkpoint stays before it.

use std::time::Duration;

use mysql_async::prelude::Queryable;
use sluice_e2e::*;

#[tokio::test(flavor = "multi_thread")]
async fn trapping_plugin_halts_the_pipeline_before_the_change() {
    let env = env();
    let dir = scratch("trap");
    let mut src = connect(&env.source).await;
    let mut tgt = connect(&env.target).await;
    let table = "CREATE TABLE {db}.item (id INT PRIMARY KEY, name VARCHAR(20) NOT NULL)";
    recreate(&mut src, "tr_src", table).await;
    recreate(&mut tgt, "tr_dst", table).await;
    let start = source_position(&mut src).await;
    let plugins = plugin_dir(&env, &dir, &["trap_on_marker"]);
    let port = free_port();
    write_config(
        &dir,
        &(config_head(&env.source, 5103, &start, port)
            + &format!("\n[plugins]\ndir = \"{}\"\n", plugins.display())
            + &mysql_target(&env, "dst", "tr_dst")
            + "\n[[pipelines]]\nname = \"items\"\nsource_tables = [\"tr_src.item\"]\nfilters = [\"trap_on_marker\"]\ntarget = \"dst\"\n"),
    );
    exec(
        &mut src,
        "INSERT INTO tr_src.item VALUES (1, 'a'), (2, 'b');
        INSERT INTO tr_src.item VALUES (3, 'c');
        INSERT INTO tr_src.item VALUES (4, 'boom');
        INSERT INTO tr_src.item VALUES (5, 'd')",
    )
    .await;
    let mut sluice = Sluice::start(&env, &dir, port);
    let status = sluice
        .wait(Duration::from_secs(30))
        .expect("the engine stops when its only pipeline halts");
    assert!(!status.success());
    let log = sluice.log_text();
    assert!(log.contains("trap_on_marker"), "names the plugin:\n{log}");
    assert!(log.contains("tr_src.item"), "names the table:\n{log}");
    assert!(
        log.contains("found the marker row"),
        "carries the panic message:\n{log}"
    );
    let at = log
        .split("at binlog position ")
        .nth(1)
        .expect("names the position");
    let at: String = at
        .chars()
        .take_while(|c| !c.is_whitespace() && *c != ')')
        .collect();
    let (file, pos) = at.rsplit_once(':').unwrap();
    let pos: u64 = pos.parse().unwrap();

    let applied = rows(&mut tgt, "SELECT id FROM tr_dst.item ORDER BY id").await;
    assert_eq!(
        applied,
        vec![
            vec![Some("1".into())],
            vec![Some("2".into())],
            vec![Some("3".into())]
        ]
    );
    let cp: (String, u64) = tgt
        .query_first(
            "SELECT binlog_file, binlog_pos FROM tr_dst.sluice_checkpoint WHERE pipeline = 'items'",
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(cp.0, file);
    assert!(
        cp.1 < pos,
        "checkpoint {} must stay before the failed change at {pos}",
        cp.1
    );

    // The metrics counted it before the exit.
    assert!(log.contains("halted"), "{log}");
    exec(&mut src, "DROP DATABASE tr_src").await;
    exec(&mut tgt, "DROP DATABASE tr_dst").await;
}
