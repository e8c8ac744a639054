//! Compiled plugins are cached on disk in the state folder
//! (`$XDG_STATE_HOME/sluice/plugin-cache`, never the plugin folder), and a
//! damaged or forged cache entry is noticed, ignored and rebuilt: the
//! engine never runs code from it, and the plugin still works.

use std::time::Duration;

use sluice_e2e::*;

#[tokio::test(flavor = "multi_thread")]
async fn the_compiled_plugin_cache_is_used_and_a_damaged_entry_rebuilt() {
    let env = env();
    let dir = scratch("plugin_cache");
    let mut src = connect(&env.source).await;
    let mut tgt = connect(&env.target).await;
    let table = "CREATE TABLE {db}.product (id INT PRIMARY KEY, status VARCHAR(20))";
    recreate(&mut src, "pc_src", table).await;
    recreate(&mut tgt, "pc_dst", table).await;
    let start = source_position(&mut src).await;
    let plugins = plugin_dir(&env, &dir, &["active_only"]);
    let port = free_port();
    write_config(
        &dir,
        &(config_head(&env.source, 5128, &start, port)
            + &format!("\n[plugins]\ndir = \"{}\"\n", plugins.display())
            + &mysql_target(&env, "dst", "pc_dst")
            + "\n[[pipelines]]\nname = \"cached\"\nsource_tables = [\"pc_src.product\"]\nfilters = [\"active_only\"]\ntarget = \"dst\"\n"),
    );
    let count = |n: usize| {
        let url = env.target.clone();
        async move {
            let mut c = connect(&url).await;
            rows(&mut c, "SELECT id FROM pc_dst.product").await.len() == n
        }
    };
    exec(
        &mut src,
        "INSERT INTO pc_src.product VALUES (1, 'active'), (2, 'discontinued')",
    )
    .await;
    let mut sluice = Sluice::start(&env, &dir, port);
    wait_for(Duration::from_secs(30), "row 1", || count(1)).await;
    assert!(sluice.stop().success(), "{}", sluice.log_text());
    assert!(
        !plugins.join(".cache").exists(),
        "nothing is cached in the plugin folder"
    );
    let cache = dir.join("state/sluice/plugin-cache");
    let mode = |p: &std::path::Path| {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    };
    assert_eq!(mode(&cache), 0o700, "the cache folder is the process's own");
    assert_eq!(mode(&cache.join("key")), 0o600, "and so is its key");
    let entries: Vec<_> = std::fs::read_dir(&cache)
        .expect("the cache folder exists")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "cwasm"))
        .collect();
    assert_eq!(entries.len(), 1, "one compiled plugin cached: {entries:?}");

    // Damage the entry: flip its last byte.
    let mut data = std::fs::read(&entries[0]).unwrap();
    let last = data.len() - 1;
    data[last] ^= 0xff;
    std::fs::write(&entries[0], &data).unwrap();
    exec(
        &mut src,
        "INSERT INTO pc_src.product VALUES (3, 'active'), (4, 'discontinued')",
    )
    .await;
    let mut sluice = Sluice::start(&env, &dir, port);
    wait_for(Duration::from_secs(30), "rows 1 and 3", || count(2)).await;
    assert!(sluice.stop().success(), "{}", sluice.log_text());
    let log = sluice.log_text();
    assert!(
        log.contains("damaged or forged compiled-plugin cache entry"),
        "the damage is noticed:\n{log}"
    );
    let healed = std::fs::read(&entries[0]).unwrap();
    assert_ne!(healed, data, "the entry was rebuilt");
    exec(&mut src, "DROP DATABASE pc_src").await;
    exec(&mut tgt, "DROP DATABASE pc_dst").await;
}
