# The throwaway servers the end-to-end tests use. Source it after
# scripts/lib.sh; `start_test_servers` starts them all and writes the
# SLUICE_TEST_* variables the tests read to $SERVERS_DIR/env (scripts/test
# sources it; scripts/dev-servers leaves the servers running for a
# developer to do the same).

start_test_servers() {
  log "starting throwaway MariaDB servers"
  SOURCE_PORT=$(start_mariadb source "${BINLOG_ARGS[@]}")
  TARGET_PORT=$(start_mariadb target)
  # A binlog-enabled server that is NOT in row format, for the refusal test.
  PLAIN_PORT=$(start_mariadb plain --server-id=7 --log-bin=binlog --binlog-format=MIXED)
  # Row format, but with compressed binlog events, which Sluice must not skip.
  # A source of its own for the fault tests, which kill, restart and freeze it.
  FAULTY_PORT=$(start_mariadb faulty "${BINLOG_ARGS[@]}")
  # A target of its own for the test that stops and restarts it.
  FAULTY_TARGET_PORT=$(start_mariadb faulty_target)
  COMPRESSED_PORT=$(start_mariadb compressed "${BINLOG_ARGS[@]}" --log-bin-compress=ON --log-bin-compress-min-len=10)
  # A source of its own for the million-row transaction test, so no other
  # test reads past it; room for the big transaction in the redo log.
  LARGE_PORT=$(start_mariadb large "${BINLOG_ARGS[@]}" --innodb-buffer-pool-size=256M --innodb-log-file-size=256M)
  # Sources of their own for the peer-failure tests: one in +08:00 that
  # takes 64 MiB rows (time zones, oversized rows), one whose binlogs a test
  # purges, and one nobody writes to (idle lag), which a test freezes.
  EDGE_PORT=$(start_mariadb edge "${BINLOG_ARGS[@]}" --default-time-zone=+08:00 --max-allowed-packet=256M)
  PURGE_PORT=$(start_mariadb purge "${BINLOG_ARGS[@]}")
  IDLE_PORT=$(start_mariadb idle "${BINLOG_ARGS[@]}")
  # A target that keeps the default 16 MiB max_allowed_packet (other tests
  # raise the shared target's), for the oversized-row test.
  SMALL_PACKET_PORT=$(start_mariadb small_packet --max-allowed-packet=16M)
  # TLS only, with a certificate from a CA the test makes.
  make_tls_certs "$SERVERS_DIR/certs"
  TLS_PORT=$(start_mariadb tls "${BINLOG_ARGS[@]}" --ssl-ca="$SERVERS_DIR/certs/ca.pem" \
    --ssl-cert="$SERVERS_DIR/certs/server.pem" --ssl-key="$SERVERS_DIR/certs/server.key" \
    --require-secure-transport=ON)

  log "starting throwaway PostgreSQL clusters"
  # The server's own time zone is far from UTC, to prove the target does not
  # depend on it.
  PG_PORT=$(start_postgres pg timezone=America/New_York)
  # A cluster of its own for the test that stops and restarts it.
  FAULTY_PG_PORT=$(start_postgres faulty_pg)
  # TLS: the server certificate of the test CA made above, readable by the
  # postgres user only.
  mkdir -p "$SERVERS_DIR/pg_tls_certs"
  cp "$SERVERS_DIR/certs/server.pem" "$SERVERS_DIR/certs/server.key" "$SERVERS_DIR/pg_tls_certs/"
  chmod 600 "$SERVERS_DIR/pg_tls_certs/server.key"
  [ "$(id -u)" = 0 ] && chown -R postgres "$SERVERS_DIR/pg_tls_certs"
  TLS_PG_PORT=$(start_postgres pg_tls ssl=on "ssl_cert_file=$SERVERS_DIR/pg_tls_certs/server.pem" \
    "ssl_key_file=$SERVERS_DIR/pg_tls_certs/server.key")

  log "starting throwaway MySQL 5.7 servers"
  # A MySQL 5.7 source with GTIDs on and no row metadata (the schema
  # history), and a MySQL 5.7 target for the MySQL target's suite.
  MYSQL57_SOURCE_PORT=$(start_mysql57 mysql57_source --server-id=57 "${MYSQL57_BINLOG_ARGS[@]}")
  MYSQL57_TARGET_PORT=$(start_mysql57 mysql57_target --server-id=58)
  # Another GTID source, which has none of the first one's transactions.
  MYSQL57_OTHER_PORT=$(start_mysql57 mysql57_other --server-id=59 "${MYSQL57_BINLOG_ARGS[@]}")
  # A primary and a replica for the failover test, which kills the primary
  # and promotes the replica (the test sets up the replication).
  MYSQL57_PRIMARY_PORT=$(start_mysql57 mysql57_primary --server-id=60 "${MYSQL57_BINLOG_ARGS[@]}")
  MYSQL57_REPLICA_PORT=$(start_mysql57 mysql57_replica --server-id=61 "${MYSQL57_BINLOG_ARGS[@]}")

  {
    printf "export SLUICE_TEST_SOURCE=%q\n" "mysql://root@127.0.0.1:$SOURCE_PORT"
    printf "export SLUICE_TEST_TARGET=%q\n" "mysql://root@127.0.0.1:$TARGET_PORT"
    printf "export SLUICE_TEST_PLAIN=%q\n" "mysql://root@127.0.0.1:$PLAIN_PORT"
    printf "export SLUICE_TEST_FAULTY=%q\n" "mysql://root@127.0.0.1:$FAULTY_PORT"
    printf "export SLUICE_TEST_FAULTY_DIR=%q\n" "$SERVERS_DIR/faulty"
    printf "export SLUICE_TEST_FAULTY_TARGET=%q\n" "mysql://root@127.0.0.1:$FAULTY_TARGET_PORT"
    printf "export SLUICE_TEST_FAULTY_TARGET_DIR=%q\n" "$SERVERS_DIR/faulty_target"
    printf "export SLUICE_TEST_COMPRESSED=%q\n" "mysql://root@127.0.0.1:$COMPRESSED_PORT"
    printf "export SLUICE_TEST_SOURCE_DIR=%q\n" "$SERVERS_DIR/source"
    printf "export SLUICE_TEST_LARGE=%q\n" "mysql://root@127.0.0.1:$LARGE_PORT"
    printf "export SLUICE_TEST_TLS=%q\n" "mysql://root@127.0.0.1:$TLS_PORT"
    printf "export SLUICE_TEST_EDGE=%q\n" "mysql://root@127.0.0.1:$EDGE_PORT"
    printf "export SLUICE_TEST_PURGE=%q\n" "mysql://root@127.0.0.1:$PURGE_PORT"
    printf "export SLUICE_TEST_IDLE=%q\n" "mysql://root@127.0.0.1:$IDLE_PORT"
    printf "export SLUICE_TEST_IDLE_DIR=%q\n" "$SERVERS_DIR/idle"
    printf "export SLUICE_TEST_SMALL_PACKET=%q\n" "mysql://root@127.0.0.1:$SMALL_PACKET_PORT"
    printf "export SLUICE_TEST_TLS_CERTS=%q\n" "$SERVERS_DIR/certs"
    printf "export SLUICE_TEST_PLUGINS=%q\n" "$(realpath -m "${CARGO_TARGET_DIR:-target}")/plugins"
    printf "export SLUICE_TEST_PG=%q\n" "postgres://postgres@127.0.0.1:$PG_PORT/postgres"
    printf "export SLUICE_TEST_FAULTY_PG=%q\n" "postgres://postgres@127.0.0.1:$FAULTY_PG_PORT/postgres"
    printf "export SLUICE_TEST_FAULTY_PG_DIR=%q\n" "$SERVERS_DIR/faulty_pg"
    printf "export SLUICE_TEST_TLS_PG=%q\n" "postgres://postgres@127.0.0.1:$TLS_PG_PORT/postgres?sslmode=require"
    printf "export SLUICE_BIN=%q\n" "$(realpath -m "${CARGO_TARGET_DIR:-target}")/debug/sluice"
    printf "export SLUICE_TEST_MYSQL57_SOURCE=%q\n" "mysql://root@127.0.0.1:$MYSQL57_SOURCE_PORT"
    printf "export SLUICE_TEST_MYSQL57_TARGET=%q\n" "mysql://root@127.0.0.1:$MYSQL57_TARGET_PORT"
    printf "export SLUICE_TEST_MYSQL57_OTHER=%q\n" "mysql://root@127.0.0.1:$MYSQL57_OTHER_PORT"
    printf "export SLUICE_TEST_MYSQL57_PRIMARY=%q\n" "mysql://root@127.0.0.1:$MYSQL57_PRIMARY_PORT"
    printf "export SLUICE_TEST_MYSQL57_PRIMARY_DIR=%q\n" "$SERVERS_DIR/mysql57_primary"
    printf "export SLUICE_TEST_MYSQL57_REPLICA=%q\n" "mysql://root@127.0.0.1:$MYSQL57_REPLICA_PORT"
  } >"$SERVERS_DIR/env"
}
