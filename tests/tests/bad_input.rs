//! Bad input is refused with messages that say what and where.

use std::process::Command;

use sluice_e2e::*;

#[test]
fn a_config_with_three_mistakes_reports_all_three_with_lines() {
    let env = env();
    let dir = scratch("bad_config");
    let path = dir.join("sluice.toml");
    std::fs::write(
        &path,
        r#"[source]
url = "mysql://root@127.0.0.1:1"
server_idd = 7

[targets.t]
kind = "mysql"
url = "mysql://root@127.0.0.1:1/db"

[[pipelines]]
name = "p"
source_tables = ["a.b"]
target = "nope"
filters = ["missing_plugin"]
"#,
    )
    .unwrap();
    for cmd in ["check", "run"] {
        let out = Command::new(&env.bin)
            .args([cmd, "--config"])
            .arg(&path)
            .output()
            .unwrap();
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        let file = path.display().to_string();
        assert!(err.contains("3 problem(s)"), "{err}");
        assert!(
            err.contains(&format!("{file}:3: `source.server_idd`: unknown key")),
            "{err}"
        );
        assert!(
            err.contains(&format!(
                "{file}:12: `pipelines[0].target`: unknown target `nope`"
            )),
            "{err}"
        );
        assert!(err.contains(&format!("{file}:13: `pipelines[0].filters[0]`: plugin `missing_plugin` is named but there is no [plugins] dir")), "{err}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_source_without_row_format_is_refused_naming_the_variable() {
    let env = env();
    recreate(&mut connect(&env.target).await, "bi_dst", "").await;
    let dir = scratch("not_row");
    let path = dir.join("sluice.toml");
    let config = config_head(&env.plain, 5104, "current", free_port())
        + &mysql_target(&env, "t", "bi_dst")
        + "\n[[pipelines]]\nname = \"p\"\nsource_tables = [\"a.b\"]\ntarget = \"t\"\n";
    std::fs::write(&path, config).unwrap();
    for cmd in ["check", "run"] {
        let out = Command::new(&env.bin)
            .args([cmd, "--config"])
            .arg(&path)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{cmd} must fail");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("binlog_format is MIXED"), "{cmd}: {err}");
        assert!(err.contains("binlog_format=ROW"), "{cmd}: {err}");
        assert!(err.contains("binlog_row_metadata"), "{cmd}: {err}");
    }
}
