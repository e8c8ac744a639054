//! TLS to PostgreSQL through rustls (`sslmode=require`): with `tls_ca`
//! naming the CA that signed the server's certificate, rows arrive; with
//! another CA, or with the default roots, the connection is refused with a
//! certificate error, never made without checking. The cluster
//! (`SLUICE_TEST_TLS_PG`) has `ssl = on` with a certificate of the test CA.

use std::process::Command;
use std::time::Duration;

use sluice_e2e::*;

fn tls_target(url: &str, ca: Option<&str>) -> String {
    let mut s = postgres_target("pg", url, "ptls");
    if let Some(ca) = ca {
        s.push_str(&format!("tls_ca = \"{ca}\"\n"));
    }
    s
}

#[tokio::test(flavor = "multi_thread")]
async fn tls_checks_the_certificate_against_the_configured_ca() {
    let env = env();
    let url =
        std::env::var("SLUICE_TEST_TLS_PG").expect("SLUICE_TEST_TLS_PG: run through scripts/test");
    let certs = std::env::var("SLUICE_TEST_TLS_CERTS").expect("SLUICE_TEST_TLS_CERTS");
    let dir = scratch("postgres_tls");
    let mut src = connect(&env.source).await;
    recreate(
        &mut src,
        "ptls_src",
        "CREATE TABLE {db}.t (id INT PRIMARY KEY, v VARCHAR(10))",
    )
    .await;
    // The harness connects without TLS (the server allows both).
    let plain = url.replace("?sslmode=require", "");
    let pg = pg_connect(&plain).await;
    pg_recreate(
        &pg,
        "ptls",
        "CREATE TABLE {s}.t (id integer PRIMARY KEY, v varchar(10))",
    )
    .await;
    let start = source_position(&mut src).await;
    exec(&mut src, "INSERT INTO ptls_src.t VALUES (1, 'secret')").await;
    let end = source_position(&mut src).await;
    let port = free_port();
    let pipeline =
        "\n[[pipelines]]\nname = \"tls\"\nsource_tables = [\"ptls_src.t\"]\ntarget = \"pg\"\n";
    let check = |ca: Option<&str>| {
        write_config(
            &dir,
            &(config_head(&env.source, 5311, &start, port) + &tls_target(&url, ca) + pipeline),
        );
        let out = Command::new(&env.bin)
            .args(["check", "--config"])
            .arg(dir.join("sluice.toml"))
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stderr).to_string()
                + &String::from_utf8_lossy(&out.stdout),
        )
    };
    for ca in [Some(format!("{certs}/other.pem")), None] {
        let (ok, text) = check(ca.as_deref());
        assert!(!ok, "{text}");
        assert!(
            text.contains("cannot connect") && text.to_lowercase().contains("certificate"),
            "{text}"
        );
    }
    let ca = format!("{certs}/ca.pem");
    let (ok, text) = check(Some(&ca));
    assert!(ok, "{text}");
    let mut sluice = Sluice::start(&env, &dir, port);
    wait_for(Duration::from_secs(30), "the row over TLS", || async {
        pg_checkpoint(&pg, "ptls", "tls").await.as_deref() == Some(end.as_str())
    })
    .await;
    assert!(sluice.stop().success(), "{}", sluice.log_text());
    assert_eq!(
        pg_rows(&pg, "SELECT v FROM ptls.t").await,
        [[Some("secret".to_owned())]]
    );
    exec(&mut src, "DROP DATABASE ptls_src").await;
    pg_exec(&pg, "DROP SCHEMA ptls CASCADE").await;
}
