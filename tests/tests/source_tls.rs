//! TLS to the source, against a MariaDB that refuses plain connections
//! (`require_secure_transport`) and has a certificate from a CA the test
//! script made with openssl. `verify-identity` with that CA streams rows;
//! a plain connection and a certificate from another CA are refused with
//! clear errors; `required` encrypts without checking. The replication
//! user's password never appears in the output.

use std::process::Command;
use std::time::Duration;

use sluice_e2e::*;

const PASSWORD: &str = "tls-Secret-pw-42";

fn tls_env() -> (String, std::path::PathBuf) {
    let url = std::env::var("SLUICE_TEST_TLS").expect("SLUICE_TEST_TLS: run through scripts/test");
    let certs = std::env::var("SLUICE_TEST_TLS_CERTS").expect("SLUICE_TEST_TLS_CERTS");
    (url, certs.into())
}

/// `sluice check` on a config; returns (success, all output).
fn check(dir: &std::path::Path) -> (bool, String) {
    let bin = std::env::var("SLUICE_BIN").expect("SLUICE_BIN");
    let out = Command::new(bin)
        .args(["check", "--config"])
        .arg(dir.join("sluice.toml"))
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

#[tokio::test(flavor = "multi_thread")]
async fn tls_modes_connect_verify_and_refuse_with_clear_errors() {
    let env = env();
    let (url, certs) = tls_env();
    let dir = scratch("source_tls");
    // The test itself talks TLS without checking (root over TCP).
    let admin = format!("{url}?require_ssl=true&verify_ca=false");
    let mut src = connect(&admin).await;
    let mut tgt = connect(&env.target).await;
    exec(
        &mut src,
        &format!(
            "CREATE USER IF NOT EXISTS 'repl'@'%' IDENTIFIED BY '{PASSWORD}';
            GRANT REPLICATION SLAVE, REPLICATION CLIENT, SELECT ON *.* TO 'repl'@'%'"
        ),
    )
    .await;
    let table = "CREATE TABLE {db}.t (id INT PRIMARY KEY, v VARCHAR(20))";
    recreate(&mut src, "tl_src", table).await;
    recreate(&mut tgt, "tl_dst", table).await;
    let start = source_position(&mut src).await;
    exec(
        &mut src,
        "INSERT INTO tl_src.t VALUES (1, 'over tls'), (2, 'encrypted')",
    )
    .await;
    let repl = url.replace("root@", &format!("repl:{PASSWORD}@"));
    let port = free_port();
    let config = |tls: &str| {
        let mut head = config_head(&repl, 5125, &start, port);
        head = head.replacen("\n\n[metrics]", &format!("\n{tls}\n\n[metrics]"), 1);
        head + &mysql_target(&env, "dst", "tl_dst")
            + "\n[[pipelines]]\nname = \"tls\"\nsource_tables = [\"tl_src.t\"]\ntarget = \"dst\"\n"
    };
    let ca = certs.join("ca.pem");
    let other = certs.join("other.pem");

    // Plain TCP: the server refuses the login (MariaDB says only "access
    // denied"); Sluice points at the TLS setting.
    write_config(&dir, &config(""));
    let (ok, out) = check(&dir);
    assert!(!ok && out.contains("set [source] tls"), "{out}");
    assert!(!out.contains(PASSWORD), "the password leaked: {out}");

    // A certificate the configured CA did not sign.
    write_config(
        &dir,
        &config(&format!(
            "tls = \"verify-ca\"\ntls_ca = \"{}\"",
            other.display()
        )),
    );
    let (ok, out) = check(&dir);
    assert!(!ok && out.to_lowercase().contains("certificate"), "{out}");
    assert!(!out.contains(PASSWORD), "the password leaked: {out}");

    // Encrypted without checks.
    write_config(&dir, &config("tls = \"required\""));
    let (ok, out) = check(&dir);
    assert!(ok, "{out}");

    // Verified, host name included: rows stream.
    write_config(
        &dir,
        &config(&format!(
            "tls = \"verify-identity\"\ntls_ca = \"{}\"",
            ca.display()
        )),
    );
    let mut sluice = Sluice::start(&env, &dir, port);
    wait_for(Duration::from_secs(30), "both rows over TLS", || async {
        let mut c = connect(&env.target).await;
        rows(&mut c, "SELECT id, v FROM tl_dst.t ORDER BY id")
            .await
            .len()
            == 2
    })
    .await;
    assert!(sluice.stop().success(), "{}", sluice.log_text());
    let log = sluice.log_text();
    assert!(
        !log.contains(PASSWORD),
        "the password leaked into the log:\n{log}"
    );
    exec(&mut src, "DROP DATABASE tl_src").await;
    exec(&mut tgt, "DROP DATABASE tl_dst").await;
}
