//! `sluice check` against PostgreSQL names what is wrong and how to fix it:
//! a database that does not exist, a schema that does not exist, and a user
//! without the privilege to create Sluice's tables.

use std::process::Command;

use sluice_e2e::*;

fn check(env: &Env, dir: &std::path::Path, target: &str) -> (bool, String) {
    write_config(
        dir,
        &(config_head(&env.source, 5312, "current", free_port())
            + target
            + "\n[[pipelines]]\nname = \"p\"\nsource_tables = [\"pck_src.*\"]\ntarget = \"pg\"\n"),
    );
    let out = Command::new(&env.bin)
        .args(["check", "--config"])
        .arg(dir.join("sluice.toml"))
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn check_names_a_missing_database_schema_or_privilege() {
    let env = env();
    let dir = scratch("postgres_check");
    let url = pg_url();
    let pg = pg_connect(&url).await;
    pg_exec(
        &pg,
        "DROP SCHEMA IF EXISTS pck CASCADE; CREATE SCHEMA pck;
         DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'pck_limited') THEN CREATE ROLE pck_limited LOGIN; END IF; END $$;
         GRANT USAGE ON SCHEMA pck TO pck_limited",
    )
    .await;

    let missing_db = url.rsplit_once('/').unwrap().0.to_owned() + "/no_such_db";
    let (ok, text) = check(&env, &dir, &postgres_target("pg", &missing_db, "pck"));
    assert!(!ok);
    assert!(
        text.contains("cannot connect")
            && text.contains("no_such_db")
            && text.contains("does not exist"),
        "{text}"
    );

    let (ok, text) = check(&env, &dir, &postgres_target("pg", &url, "no_such_schema"));
    assert!(!ok);
    assert!(
        text.contains("schema `no_such_schema` does not exist") && text.contains("CREATE SCHEMA"),
        "{text}"
    );

    let limited = url.replacen("postgres://postgres@", "postgres://pck_limited@", 1);
    let (ok, text) = check(&env, &dir, &postgres_target("pg", &limited, "pck"));
    assert!(!ok);
    assert!(
        text.contains("42501") && text.contains("grant the user CREATE on schema pck"),
        "{text}"
    );

    let (ok, text) = check(&env, &dir, &postgres_target("pg", &url, "pck"));
    assert!(ok, "{text}");
    pg_exec(&pg, "DROP SCHEMA pck CASCADE").await;
}
