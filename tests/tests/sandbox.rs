//! The sandbox holds: a plugin that loops forever is stopped by the per-call
//! deadline, and one that allocates 1 GiB by the memory cap. Each halts only
//! its own pipeline, with the reason, and is counted by kind.

use std::time::{Duration, Instant};

use mysql_async::prelude::Queryable;
use sluice_e2e::*;

#[tokio::test(flavor = "multi_thread")]
async fn a_runaway_loop_and_a_1_gib_allocation_are_stopped_by_the_limits() {
    let env = env();
    let dir = scratch("sandbox");
    let mut src = connect(&env.source).await;
    let mut tgt = connect(&env.target).await;
    let table = "CREATE TABLE {db}.item (id INT PRIMARY KEY, name VARCHAR(20) NOT NULL)";
    recreate(&mut src, "sb_src", table).await;
    recreate(&mut tgt, "sb_spin", table).await;
    recreate(&mut tgt, "sb_hog", table).await;
    let start = source_position(&mut src).await;
    let plugins = plugin_dir(&env, &dir, &["spin_on_marker", "hog_on_marker"]);
    let port = free_port();
    write_config(
        &dir,
        &(config_head(&env.source, 5113, &start, port)
            + &format!(
                "\n[plugins]\ndir = \"{}\"\nmemory_mib = 64\ndeadline_ms = 100\n",
                plugins.display()
            )
            + &mysql_target(&env, "spin", "sb_spin")
            + &mysql_target(&env, "hog", "sb_hog")
            + "\n[[pipelines]]\nname = \"spin\"\nsource_tables = [\"sb_src.item\"]\nfilters = [\"spin_on_marker\"]\ntarget = \"spin\"\n"
            + "\n[[pipelines]]\nname = \"hog\"\nsource_tables = [\"sb_src.item\"]\nfilters = [\"hog_on_marker\"]\ntarget = \"hog\"\n"),
    );
    exec(
        &mut src,
        "INSERT INTO sb_src.item VALUES (1, 'a');\nINSERT INTO sb_src.item VALUES (2, 'spin');\nINSERT INTO sb_src.item VALUES (3, 'hog');\nINSERT INTO sb_src.item VALUES (4, 'b')",
    )
    .await;
    let started = Instant::now();
    let mut sluice = Sluice::start(&env, &dir, port);
    let status = sluice
        .wait(Duration::from_secs(30))
        .expect("both pipelines halt, so the engine stops");
    assert!(!status.success());
    eprintln!(
        "both faults stopped and reported within {:?} of start",
        started.elapsed()
    );
    let log = sluice.log_text();
    assert!(
        log.contains("plugin `spin_on_marker` failed (timeout)")
            && log.contains("ran past its deadline"),
        "{log}"
    );
    assert!(
        log.contains("plugin `hog_on_marker` failed (trap)"),
        "{log}"
    );
    for (db, want) in [
        ("sb_spin", vec![vec![Some("1".to_owned())]]),
        (
            "sb_hog",
            vec![vec![Some("1".to_owned())], vec![Some("2".to_owned())]],
        ),
    ] {
        assert_eq!(
            rows(&mut tgt, &format!("SELECT id FROM {db}.item ORDER BY id")).await,
            want,
            "{db} stops before its fault"
        );
    }
    let n: Option<u64> = tgt
        .query_first("SELECT COUNT(*) FROM sb_spin.sluice_checkpoint")
        .await
        .unwrap();
    assert_eq!(n, Some(1));
    exec(&mut src, "DROP DATABASE sb_src").await;
    exec(&mut tgt, "DROP DATABASE sb_spin;\nDROP DATABASE sb_hog").await;
}
