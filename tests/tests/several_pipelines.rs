//! One reader, several pipelines: the reader starts at the oldest position
//! any pipeline needs, and each pipeline skips what it already applied.

use std::time::Duration;

use mysql_async::prelude::Queryable;
use sluice_e2e::*;

fn config(env: &Env, start: &str, port: u16, with_b: bool) -> String {
    let mut c = config_head(&env.source, 5105, start, port)
        + &mysql_target(env, "a", "mp_a")
        + &mysql_target(env, "b", "mp_b");
    c.push_str("\n[[pipelines]]\nname = \"a\"\nsource_tables = [\"mp_src.*\"]\ntarget = \"a\"\n");
    if with_b {
        c.push_str(
            "\n[[pipelines]]\nname = \"b\"\nsource_tables = [\"mp_src.t\"]\ntarget = \"b\"\n",
        );
    }
    c
}

async fn count(url: &str, sql: &str) -> u64 {
    let mut c = connect(url).await;
    c.query_first(sql).await.unwrap().unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_pipeline_catches_up_while_the_old_one_applies_nothing_twice() {
    let env = env();
    let dir = scratch("several_pipelines");
    let mut src = connect(&env.source).await;
    let mut tgt = connect(&env.target).await;
    recreate(
        &mut src,
        "mp_src",
        "CREATE TABLE {db}.t (id INT PRIMARY KEY, v INT NOT NULL)",
    )
    .await;
    for db in ["mp_a", "mp_b"] {
        recreate(
            &mut tgt,
            db,
            &format!(
                "CREATE TABLE {{db}}.t (id INT PRIMARY KEY, v INT NOT NULL);\n{}",
                applied_log("t")
            ),
        )
        .await;
    }
    let start = source_position(&mut src).await;
    let port = free_port();

    // Phase 1: only pipeline a.
    write_config(&dir, &config(&env, &start, port, false));
    for i in 1..=50 {
        src.exec_drop("INSERT INTO mp_src.t VALUES (?, ?)", (i, i))
            .await
            .unwrap();
    }
    let mut sluice = Sluice::start(&env, &dir, port);
    wait_for(
        Duration::from_secs(30),
        "pipeline a to apply 50 rows",
        || async { count(&env.target, "SELECT COUNT(*) FROM mp_a.t").await == 50 },
    )
    .await;
    assert!(sluice.stop().success(), "{}", sluice.log_text());

    // Phase 2: a resumes from its checkpoint, b starts at the beginning.
    write_config(&dir, &config(&env, &start, port, true));
    for i in 51..=100 {
        src.exec_drop("INSERT INTO mp_src.t VALUES (?, ?)", (i, i))
            .await
            .unwrap();
    }
    let mut sluice = Sluice::start(&env, &dir, port);
    wait_for(
        Duration::from_secs(30),
        "both pipelines to hold 100 rows",
        || async {
            count(&env.target, "SELECT COUNT(*) FROM mp_a.t").await == 100
                && count(&env.target, "SELECT COUNT(*) FROM mp_b.t").await == 100
        },
    )
    .await;
    assert!(sluice.stop().success(), "{}", sluice.log_text());
    assert_eq!(
        count(&env.target, "SELECT COUNT(*) FROM mp_a.applied").await,
        100,
        "a applied nothing twice"
    );
    assert_eq!(
        count(&env.target, "SELECT COUNT(*) FROM mp_b.applied").await,
        100,
        "b got everything once"
    );
    exec(&mut src, "DROP DATABASE mp_src").await;
    exec(&mut tgt, "DROP DATABASE mp_a;\nDROP DATABASE mp_b").await;
}
