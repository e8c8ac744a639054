//! Exactly-once into PostgreSQL across crashes: 10,000 small source
//! transactions each increment a counter while the engine is SIGKILLed
//! twice and restarted. A trigger on the target logs every row write, so an
//! update applied twice would show up as a value written again or going
//! backwards; none may.

use std::time::Duration;

use mysql_async::prelude::Queryable;
use sluice_e2e::*;

const KEYS: u64 = 100;
const TXNS: u64 = 10_000;

#[tokio::test(flavor = "multi_thread")]
async fn resumes_into_postgres_after_sigkill_without_loss_or_duplicates() {
    let env = env();
    let dir = scratch("postgres_crash_resume");
    let mut src = connect(&env.source).await;
    recreate(
        &mut src,
        "pcr_src",
        "CREATE TABLE {db}.counter (id INT PRIMARY KEY, n INT NOT NULL)",
    )
    .await;
    let pg = pg_connect(&pg_url()).await;
    pg_recreate(
        &pg,
        "pcr",
        "CREATE TABLE {s}.counter (id integer PRIMARY KEY, n integer NOT NULL);
        CREATE TABLE {s}.applied (seq bigserial PRIMARY KEY, k integer NOT NULL, n integer NOT NULL);
        CREATE FUNCTION {s}.log_write() RETURNS trigger LANGUAGE plpgsql AS $$
          BEGIN INSERT INTO pcr.applied (k, n) VALUES (NEW.id, NEW.n); RETURN NEW; END $$;
        CREATE TRIGGER counter_log AFTER INSERT OR UPDATE ON {s}.counter
          FOR EACH ROW EXECUTE FUNCTION {s}.log_write();",
    )
    .await;
    let start = source_position(&mut src).await;
    let values: Vec<String> = (0..KEYS).map(|k| format!("({k}, 0)")).collect();
    exec(
        &mut src,
        &format!("INSERT INTO pcr_src.counter VALUES {}", values.join(",")),
    )
    .await;

    let port = free_port();
    write_config(
        &dir,
        &(config_head(&env.source, 5302, &start, port)
            + &postgres_target("pg", &pg_url(), "pcr")
            + "\n[[pipelines]]\nname = \"counter\"\nsource_tables = [\"pcr_src.counter\"]\ntarget = \"pg\"\n"),
    );

    // The generator: one autocommit UPDATE per transaction.
    let src_url = env.source.clone();
    let generator = tokio::spawn(async move {
        let mut c = connect(&src_url).await;
        for i in 0..TXNS {
            c.exec_drop(
                "UPDATE pcr_src.counter SET n = n + 1 WHERE id = ?",
                (i % KEYS,),
            )
            .await
            .unwrap();
        }
    });
    let applied =
        || async { pg_count(&pg, "SELECT COALESCE(SUM(n), 0) FROM pcr.counter").await as u64 };

    let mut sluice = Sluice::start(&env, &dir, port);
    for threshold in [1_500u64, 5_000] {
        wait_for(
            Duration::from_secs(120),
            &format!("{threshold} applied updates"),
            || async { applied().await >= threshold },
        )
        .await;
        sluice.kill();
        sluice = Sluice::start(&env, &dir, port);
    }
    generator.await.unwrap();
    wait_for(Duration::from_secs(120), "all updates applied", || async {
        applied().await >= TXNS
    })
    .await;
    assert!(sluice.stop().success(), "{}", sluice.log_text());
    let log = sluice.log_text();
    assert_eq!(
        log.matches("pipeline ready pipeline=counter checkpoint=Some")
            .count(),
        2,
        "both restarts resumed from a checkpoint:\n{log}"
    );
    assert_eq!(applied().await, TXNS, "every update exactly once");

    let want = rows(&mut src, "SELECT id, n FROM pcr_src.counter ORDER BY id").await;
    let got = pg_rows(&pg, "SELECT id, n FROM pcr.counter ORDER BY id").await;
    assert_eq!(want, got, "target equals source");
    // Per key, the logged values must rise strictly: a transaction applied
    // twice would write an old value again.
    let writes = pg_rows(&pg, "SELECT k, n FROM pcr.applied ORDER BY seq").await;
    let mut last = std::collections::HashMap::new();
    for w in &writes {
        let (k, n): (i64, i64) = (
            w[0].as_deref().unwrap().parse().unwrap(),
            w[1].as_deref().unwrap().parse().unwrap(),
        );
        if let Some(prev) = last.insert(k, n) {
            assert!(
                n > prev,
                "key {k} written {n} after {prev}: a change applied twice"
            );
        }
    }
    assert_eq!(last.len() as u64, KEYS);
    exec(&mut src, "DROP DATABASE pcr_src").await;
    pg_exec(&pg, "DROP SCHEMA pcr CASCADE").await;
}
