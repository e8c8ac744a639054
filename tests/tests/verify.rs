//! `sluice verify`: an equal copy is reported equal, a copy that only lags
//! (the engine is paused while the source changes) is not reported, a
//! corrupted target (a changed row, a missing row, an extra row) is
//! reported with the keys, and `--repair` makes it equal while the engine
//! keeps running. A pipeline with plugins is explained, not compared.

use std::process::Command;
use std::time::Duration;

use sluice_e2e::*;

const ITEMS: &str = "CREATE TABLE {db}.items (id INT NOT NULL PRIMARY KEY, name VARCHAR(40) CHARACTER SET latin1 NOT NULL, price DECIMAL(10,2) NULL, seen TIMESTAMP(6) NULL, tag VARBINARY(8) NULL)";

fn signal(pid: u32, sig: &str) {
    Command::new("kill")
        .args([sig, &pid.to_string()])
        .status()
        .unwrap();
}

async fn same(env: &Env) -> bool {
    let q = "SELECT id, name, price, seen, HEX(tag) FROM {db}.items ORDER BY id";
    let a = rows(
        &mut connect(&env.source).await,
        &q.replace("{db}", "ver_src"),
    )
    .await;
    let b = rows(
        &mut connect(&env.target).await,
        &q.replace("{db}", "ver_dst"),
    )
    .await;
    a == b
}

#[tokio::test(flavor = "multi_thread")]
async fn verify_finds_and_repairs_differences_but_not_lag() {
    let env = env();
    let dir = scratch("verify");
    let mut src = connect(&env.source).await;
    let mut tgt = connect(&env.target).await;
    recreate(&mut src, "ver_src", ITEMS).await;
    recreate(&mut tgt, "ver_dst", ITEMS).await;
    recreate(&mut tgt, "ver_dst2", ITEMS).await;
    exec(
        &mut src,
        "INSERT INTO ver_src.items SELECT seq, CONCAT('caf\u{e9} ', seq), IF(seq % 5 = 0, NULL, seq / 4), \
         FROM_UNIXTIME(1700000000 + seq) + INTERVAL seq MICROSECOND, IF(seq % 3 = 0, NULL, UNHEX(HEX(seq))) FROM ver_src.seq_1_to_30000",
    )
    .await;
    let plugins = plugin_dir(&env, &dir, &["active_only"]);
    let port = free_port();
    write_config(
        &dir,
        &(config_head(&env.source, 5132, "current", port)
            + &format!("\n[plugins]\ndir = \"{}\"\n", plugins.display())
            + &mysql_target(&env, "dst", "ver_dst")
            + &mysql_target(&env, "dst2", "ver_dst2")
            + "\n[[pipelines]]\nname = \"items\"\nsource_tables = [\"ver_src.items\"]\ntarget = \"dst\"\n"
            + "\n[[pipelines]]\nname = \"filtered\"\nsource_tables = [\"ver_src.items\"]\nfilters = [\"active_only\"]\ntarget = \"dst2\"\nsnapshot = \"never\"\n"),
    );
    let mut sluice = Sluice::start(&env, &dir, port);
    wait_for(
        Duration::from_secs(120),
        "the snapshot to be copied",
        || {
            let e = env.clone();
            async move { same(&e).await }
        },
    )
    .await;

    let (code, out) = run_verify(&env, &dir, &[]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("ver_src.items -> items: equal (30000 rows in 16 ranges)"),
        "{out}"
    );
    assert!(
        out.contains("pipeline `filtered`: not verified: it runs plugins"),
        "{out}"
    );

    // Lag: the engine is paused while the source changes; verify runs
    // meanwhile and must wait for the engine instead of reporting.
    signal(sluice.child_id(), "-STOP");
    exec(
        &mut src,
        "UPDATE ver_src.items SET name = 'changed while paused' WHERE id % 100 = 0",
    )
    .await;
    assert!(!same(&env).await, "the paused target lags");
    let lagging = {
        let (env, dir) = (env.clone(), dir.clone());
        std::thread::spawn(move || run_verify(&env, &dir, &["--settle-secs", "60"]))
    };
    // Give verify time for its first pass while the engine is stopped; if
    // it is too short, the assertion on "caught up" below fails, rather
    // than the test passing without having seen any lag.
    tokio::time::sleep(Duration::from_secs(2)).await;
    signal(sluice.child_id(), "-CONT");
    let (code, out) = lagging.join().unwrap();
    assert_eq!(
        code, 0,
        "a lagging but correct target is not a difference: {out}"
    );
    assert!(out.contains("equal (30000 rows"), "{out}");
    assert!(
        out.contains("matched once the target caught up"),
        "verify saw the lag and waited it out: {out}"
    );

    // Corruption: a changed row, a missing row and an extra row.
    exec(
        &mut tgt,
        "UPDATE ver_dst.items SET name = 'corrupt' WHERE id = 777;\n\
         DELETE FROM ver_dst.items WHERE id = 12345;\n\
         INSERT INTO ver_dst.items (id, name) VALUES (99999, 'extra')",
    )
    .await;
    let (code, out) = run_verify(&env, &dir, &["--settle-secs", "5"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("DIFFERENT in 3 of 16 ranges"), "{out}");
    for row in [
        "id=777 differs",
        "id=12345 missing in the target",
        "id=99999 only in the target",
    ] {
        assert!(out.contains(row), "{row}: {out}");
    }

    // Repair while the engine runs and the source keeps changing.
    // A change in the same range as a corrupted row, while repairing.
    exec(
        &mut src,
        "UPDATE ver_src.items SET price = 1.25 WHERE id = 778",
    )
    .await;
    let (code, out) = run_verify(&env, &dir, &["--repair", "--settle-secs", "30"]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(out.matches("repaired keys").count(), 3, "{out}");
    exec(
        &mut src,
        "UPDATE ver_src.items SET price = 2.50 WHERE id = 779",
    )
    .await;
    wait_for(
        Duration::from_secs(30),
        "the repaired copy to follow the source",
        || {
            let e = env.clone();
            async move { same(&e).await }
        },
    )
    .await;
    let (code, out) = run_verify(&env, &dir, &[]);
    assert_eq!(code, 0, "{out}");
    assert!(sluice.stop().success(), "{}", sluice.log_text());
    exec(&mut src, "DROP DATABASE ver_src").await;
    exec(&mut tgt, "DROP DATABASE ver_dst").await;
    exec(&mut tgt, "DROP DATABASE ver_dst2").await;
}
