//! 100,000 changes stream through a mapper that stamps its own version
//! into each row while the plugin file is replaced five times: by rename,
//! by a plain overwrite, by a broken file, by a slow write in four chunks,
//! and by rename again. Every change arrives exactly once, each source
//! transaction is stamped by exactly one version, the versions follow each
//! other in order, and the broken file changes nothing.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use mysql_async::prelude::Queryable;
use sluice_e2e::*;

const TXNS: u32 = 1_000;
const ROWS_PER_TXN: u32 = 100;

/// The compiled plugin with its version bytes set to `n`.
fn variant(original: &[u8], n: u32) -> Vec<u8> {
    let (from, to) = (b"stamp-v00001".as_slice(), format!("stamp-v{n:05}"));
    let at = original
        .windows(from.len())
        .position(|w| w == from)
        .expect("the version bytes are in the plugin");
    let mut out = original.to_vec();
    out[at..at + from.len()].copy_from_slice(to.as_bytes());
    out
}

fn replace_by_rename(dir: &Path, bytes: &[u8]) {
    let tmp = dir.join(".version_stamp.wasm.tmp");
    std::fs::write(&tmp, bytes).unwrap();
    std::fs::rename(&tmp, dir.join("version_stamp.wasm")).unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn versions_swap_under_load_and_every_change_arrives_once() {
    let env = env();
    let dir = scratch("hot_reload_under_load");
    let mut src = connect(&env.source).await;
    let mut tgt = connect(&env.target).await;
    let table = "CREATE TABLE {db}.t (id INT PRIMARY KEY, stamp VARCHAR(20) NULL)";
    recreate(&mut src, "hl_src", table).await;
    recreate(
        &mut tgt,
        "hl_dst",
        &format!("{table};\n{}", applied_log("t")),
    )
    .await;
    let start = source_position(&mut src).await;
    let plugins = plugin_dir(&env, &dir, &["version_stamp"]);
    let original = std::fs::read(plugins.join("version_stamp.wasm")).unwrap();
    let port = free_port();
    write_config(
        &dir,
        &(config_head(&env.source, 5130, &start, port)
            + &format!("\n[plugins]\ndir = \"{}\"\n", plugins.display())
            + &mysql_target(&env, "dst", "hl_dst")
            + "\n[[pipelines]]\nname = \"p\"\nsource_tables = [\"hl_src.t\"]\nmappers = [\"version_stamp\"]\ntarget = \"dst\"\nddl = \"ignore\"\n"),
    );
    let mut sluice = Sluice::start(&env, &dir, port);

    // The load: 1,000 transactions of 100 rows, ids in commit order.
    let src_url = env.source.clone();
    let generator = tokio::spawn(async move {
        let mut c = connect(&src_url).await;
        for t in 0..TXNS {
            let values: Vec<String> = (0..ROWS_PER_TXN)
                .map(|r| format!("({}, NULL)", t * ROWS_PER_TXN + r + 1))
                .collect();
            c.query_drop(format!("INSERT INTO hl_src.t VALUES {}", values.join(",")))
                .await
                .unwrap();
            tokio::time::sleep(Duration::from_millis(8)).await;
        }
    });

    let pause = || tokio::time::sleep(Duration::from_millis(1500));
    pause().await;
    replace_by_rename(&plugins, &variant(&original, 2));
    pause().await;
    std::fs::write(plugins.join("version_stamp.wasm"), variant(&original, 3)).unwrap();
    pause().await;
    // Broken: a truncated component; version 3 must keep serving.
    let broken = variant(&original, 99);
    std::fs::write(
        plugins.join("version_stamp.wasm"),
        &broken[..broken.len() / 2],
    )
    .unwrap();
    pause().await;
    {
        let v4 = variant(&original, 4);
        let mut f = std::fs::File::create(plugins.join("version_stamp.wasm")).unwrap();
        for chunk in v4.chunks(v4.len().div_ceil(4)) {
            f.write_all(chunk).unwrap();
            f.flush().unwrap();
            std::thread::sleep(Duration::from_millis(150));
        }
    }
    pause().await;
    replace_by_rename(&plugins, &variant(&original, 5));
    generator.await.unwrap();

    let total = u64::from(TXNS * ROWS_PER_TXN);
    wait_for(Duration::from_secs(120), "every change applied", || async {
        let mut c = connect(&env.target).await;
        let n: Option<u64> = c
            .query_first("SELECT COUNT(*) FROM hl_dst.t")
            .await
            .unwrap();
        n == Some(total)
    })
    .await;
    let failures = metric(
        &sluice.metrics(),
        "sluice_plugin_reloads_total{plugin=\"version_stamp\",result=\"failed\"}",
    )
    .unwrap_or(0.0);
    assert!(sluice.stop().success(), "{}", sluice.log_text());

    let writes: Option<u64> = tgt
        .query_first("SELECT COUNT(*) FROM hl_dst.applied")
        .await
        .unwrap();
    assert_eq!(writes, Some(total), "every change written exactly once");
    let stamps: Vec<(u32, Option<String>)> = tgt
        .query("SELECT id, stamp FROM hl_dst.t ORDER BY id")
        .await
        .unwrap();
    let version = |s: &Option<String>| -> u32 {
        let s = s.as_deref().expect("every row stamped");
        s.strip_prefix("stamp-v")
            .and_then(|n| n.parse().ok())
            .expect("a version stamp")
    };
    let mut seen = Vec::new();
    for txn in stamps.chunks(ROWS_PER_TXN as usize) {
        let v = version(&txn[0].1);
        assert!(
            txn.iter().all(|(_, s)| version(s) == v),
            "transaction from id {} stamped by several versions",
            txn[0].0
        );
        if seen.last() != Some(&v) {
            seen.push(v);
        }
    }
    assert_eq!(
        seen,
        [1, 2, 3, 4, 5],
        "versions in order, the broken one never"
    );
    assert!(
        failures >= 1.0,
        "the broken file was counted as a failed reload"
    );
    exec(&mut src, "DROP DATABASE hl_src").await;
    exec(&mut tgt, "DROP DATABASE hl_dst").await;
}
