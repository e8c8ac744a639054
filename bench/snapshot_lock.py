#!/usr/bin/env python3
"""How long a snapshot on MySQL blocks writers on the source.

MySQL reports no position for a consistent snapshot, so Sluice opens the
read under FLUSH TABLES WITH READ LOCK and releases it at once
(engine/src/source/snapshot.rs). This measures the stall a writer sees.

Run by `scripts/bench snapshot-lock` (MySQL 5.7 source and target); it
passes SOURCE_PORT, TARGET_PORT, SLUICE_BIN and WORK. Standard library
only. A writer commits single-row inserts back to back all along, each row
stamped with NOW(6) by the server; each of RUNS snapshots of a 200,000-row
table is started against it. Reported per run: Sluice's own measure of the
lock (from asking for it to releasing it, `writers_blocked` in its log),
and the longest gap between two consecutive writer commits while that
snapshot started, next to the writer's usual gap.
"""

import os
import re
import subprocess
import sys
import threading
import time

from e2e import free_port
from mariadb_cli import client, sql

SRC = int(os.environ["SOURCE_PORT"])
DST = int(os.environ["TARGET_PORT"])
BIN = os.environ["SLUICE_BIN"]
WORK = os.environ["WORK"]
RUNS = int(os.environ.get("BENCH_REPEAT", "5"))
ROWS = 200_000


def writer(stop):
    """Single-row autocommit inserts until `stop` is set."""
    p = subprocess.Popen(client(SRC, "lockbench"), stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    n = 0
    while not stop.is_set():
        p.stdin.write("INSERT INTO w (v) VALUES (%d);\n" % n)
        n += 1
        if n % 50 == 0:
            p.stdin.flush()
    p.stdin.close()
    p.wait()


def run_snapshot(i):
    d = os.path.join(WORK, f"run{i}")
    os.makedirs(d, exist_ok=True)
    sql(DST, "DROP DATABASE IF EXISTS lockbench; CREATE DATABASE lockbench; "
        "CREATE TABLE lockbench.t (id BIGINT PRIMARY KEY, v INT, s VARCHAR(40));")
    cfg = os.path.join(d, "sluice.toml")
    with open(cfg, "w") as f:
        f.write(f"""[source]
url = "mysql://root@127.0.0.1:{SRC}"
server_id = {9100 + i}
start = "current"

[metrics]
listen = "127.0.0.1:{free_port()}"

[targets.dst]
kind = "mysql"
url = "mysql://root@127.0.0.1:{DST}/lockbench"

[[pipelines]]
name = "lock"
source_tables = ["lockbench.t"]
target = "dst"
""")
    log_path = os.path.join(d, "sluice.log")
    with open(log_path, "w") as log:
        started = sql(SRC, "SELECT NOW(6)")
        p = subprocess.Popen([BIN, "run", "--config", cfg], stderr=log, stdout=log)
        deadline = time.monotonic() + 120
        text = ""
        while time.monotonic() < deadline and "snapshot done" not in text:
            time.sleep(0.1)
            text = open(log_path).read()
        ended = sql(SRC, "SELECT NOW(6)")
        p.terminate()
        p.wait()
    m = re.search(r"writers_blocked=([0-9.]+)(ms|µs|s)", text)
    if not m:
        sys.exit(f"no writers_blocked in {log_path}")
    held = float(m.group(1)) * {"ms": 1.0, "µs": 0.001, "s": 1000.0}[m.group(2)]
    gap = float(sql(SRC, f"""SELECT COALESCE(MAX(TIMESTAMPDIFF(MICROSECOND, a.at, b.at)), 0) / 1000
        FROM lockbench.w a JOIN lockbench.w b ON b.id = a.id + 1
        WHERE a.at BETWEEN '{started}' AND '{ended}'"""))
    usual = float(sql(SRC, f"""SELECT AVG(TIMESTAMPDIFF(MICROSECOND, a.at, b.at)) / 1000
        FROM lockbench.w a JOIN lockbench.w b ON b.id = a.id + 1
        WHERE a.at BETWEEN '{started}' AND '{ended}'"""))
    return held, gap, usual


def main():
    os.makedirs(WORK, exist_ok=True)
    sql(SRC, "DROP DATABASE IF EXISTS lockbench; CREATE DATABASE lockbench; USE lockbench; "
        "CREATE TABLE t (id BIGINT PRIMARY KEY, v INT, s VARCHAR(40)); "
        "CREATE TABLE w (id BIGINT PRIMARY KEY AUTO_INCREMENT, v INT, at DATETIME(6) NOT NULL DEFAULT NOW(6)); "
        "")
    for lo in range(0, ROWS, 5000):
        values = ",".join(f"({i}, {i % 1000}, 'row-{i}')" for i in range(lo + 1, lo + 5001))
        sql(SRC, f"INSERT INTO lockbench.t VALUES {values}")
    stop = threading.Event()
    w = threading.Thread(target=writer, args=(stop,))
    w.start()
    time.sleep(1)
    results = []
    try:
        for i in range(RUNS):
            results.append(run_snapshot(i))
    finally:
        stop.set()
        w.join()
    print(f"\n{RUNS} snapshots of a {ROWS:,}-row table while a writer commits single-row inserts\n")
    print("| run | lock held, by sluice (ms) | longest gap between writer commits (ms) | usual gap (ms) |")
    print("|---|---:|---:|---:|")
    for i, (held, gap, usual) in enumerate(results):
        print(f"| {i + 1} | {held:.1f} | {gap:.1f} | {usual:.2f} |")


if __name__ == "__main__":
    main()
