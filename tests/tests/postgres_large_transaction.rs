//! A source transaction too large to hold goes into PostgreSQL in pieces,
//! all in one open transaction: a reader polling the table never sees a
//! part of it. One of its 60,000 rows breaks a CHECK constraint; under
//! `on_error = "dead-letter"` only that row's piece is rolled back to its
//! savepoint and written again without it, the row lands in
//! `sluice_dead_letter`, and the rest of the transaction commits with the
//! checkpoint.

use std::time::Duration;

use sluice_e2e::*;

const ROWS: i64 = 60_000;

#[tokio::test(flavor = "multi_thread")]
async fn a_large_transaction_lands_whole_with_its_refused_row_set_aside() {
    let env = env();
    let dir = scratch("postgres_large_transaction");
    let mut src = connect(&env.source).await;
    recreate(
        &mut src,
        "plt_src",
        "CREATE TABLE {db}.t (id INT PRIMARY KEY, pad VARCHAR(200) NOT NULL, qty INT NOT NULL)",
    )
    .await;
    let pg = pg_connect(&pg_url()).await;
    pg_recreate(
        &pg,
        "plt",
        "CREATE TABLE {s}.t (id integer PRIMARY KEY, pad varchar(200) NOT NULL, qty integer NOT NULL CONSTRAINT qty_positive CHECK (qty >= 0))",
    )
    .await;
    let start = source_position(&mut src).await;
    let port = free_port();
    write_config(
        &dir,
        &(config_head(&env.source, 5310, &start, port)
            + &postgres_target("pg", &pg_url(), "plt")
            + "\n[[pipelines]]\nname = \"large\"\nsource_tables = [\"plt_src.t\"]\ntarget = \"pg\"\non_error = \"dead-letter\"\n"),
    );
    let mut sluice = Sluice::start(&env, &dir, port);
    exec(
        &mut src,
        &format!(
            "INSERT INTO plt_src.t SELECT seq, REPEAT('x', 200), IF(seq = 30000, -1, seq) FROM plt_src.seq_1_to_{ROWS}"
        ),
    )
    .await;
    let end = source_position(&mut src).await;
    // Every count seen on the way is all or nothing.
    let mut seen = std::collections::BTreeSet::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    while pg_checkpoint(&pg, "plt", "large").await.as_deref() != Some(end.as_str()) {
        assert!(
            std::time::Instant::now() < deadline,
            "the checkpoint reaches {end}"
        );
        seen.insert(pg_count(&pg, "SELECT count(*) FROM plt.t").await);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    seen.insert(pg_count(&pg, "SELECT count(*) FROM plt.t").await);
    assert!(
        seen.iter().all(|&n| n == 0 || n == ROWS - 1),
        "a reader saw part of the transaction: {seen:?}"
    );
    assert!(seen.contains(&(ROWS - 1)), "{seen:?}");
    let text = sluice.metrics();
    assert!(
        metric(&text, "sluice_source_large_transactions_total").unwrap_or(0.0) >= 1.0,
        "the transaction came in pieces:\n{text}"
    );
    assert!(sluice.stop().success(), "{}", sluice.log_text());
    let dead = pg_rows(&pg, "SELECT change_json, error FROM plt.sluice_dead_letter").await;
    assert_eq!(dead.len(), 1, "{dead:?}");
    assert!(dead[0][0].as_deref().unwrap().contains("30000"), "{dead:?}");
    assert!(
        dead[0][1].as_deref().unwrap().contains("qty_positive"),
        "{dead:?}"
    );
    assert_eq!(
        pg_count(&pg, "SELECT count(*) FROM plt.t WHERE id = 30000").await,
        0
    );
    assert_eq!(
        pg_count(&pg, "SELECT sum(qty) FROM plt.t").await,
        ROWS * (ROWS + 1) / 2 - 30000,
        "every other row, once"
    );
    exec(&mut src, "DROP DATABASE plt_src").await;
    pg_exec(&pg, "DROP SCHEMA plt CASCADE").await;
}
