#!/usr/bin/env python3
"""Snapshot benchmark: sluice's initial snapshot of a table against the raw
insert ceiling of the same target, measured in the same run.

Run by `scripts/bench snapshot` (which starts throwaway servers and builds
sluice); it passes SOURCE_PORT, TARGET_PORT, SLUICE_BIN and WORK in the
environment. Prints a Markdown table. Standard library only.

The source table (the e2e benchmark's shape: bigint key, int, varchar(64),
decimal(12,2), datetime(6), text) holds 1,000,000 rows (BENCH_SCALE scales
it). Pairs of runs alternate BENCH_REPEAT times (default 2):
  * ceiling: `mariadb-dump` output of the table (multi-row INSERTs) loaded
    into the empty target table by the mariadb client;
  * snapshot: sluice starts on the empty target with snapshot = "initial";
    the time until its checkpoint exists (the copy is done and committed),
    with sluice's CPU seconds and peak RSS.
"""

import os
import subprocess
import sys
import time

from e2e import usage, write_config
from mariadb_cli import client, sql

SRC = int(os.environ["SOURCE_PORT"])
DST = int(os.environ["TARGET_PORT"])
BIN = os.environ["SLUICE_BIN"]
WORK = os.environ["WORK"]
SCALE = float(os.environ.get("BENCH_SCALE", "1"))
REPEAT = int(os.environ.get("BENCH_REPEAT", "2"))
CHUNK = int(os.environ.get("BENCH_CHUNK", "5000"))
ROWS = int(1_000_000 * SCALE)

TABLE = """CREATE TABLE t (id BIGINT PRIMARY KEY, a INT, b VARCHAR(64),
  c DECIMAL(12,2), d DATETIME(6), e TEXT) ENGINE=InnoDB"""


def fresh_target():
    sql(DST, f"DROP DATABASE IF EXISTS snapbench; CREATE DATABASE snapbench; USE snapbench; {TABLE};")


def run_snapshot(name):
    d, cfg = write_config(WORK, name, 9002, "snapbench", "snap",
                          pipeline_extra=f"snapshot_chunk_rows = {CHUNK}")
    log = open(os.path.join(d, "sluice.log"), "w")
    t0 = time.monotonic()
    proc = subprocess.Popen([BIN, "run", "--config", cfg], stderr=log, stdout=log)
    deadline = t0 + 1200
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"sluice exited with {proc.returncode}; see {d}")
        r = subprocess.run(client(DST), capture_output=True, text=True, input=(
            "SELECT COUNT(*) FROM snapbench.sluice_checkpoint WHERE pipeline = 'snap'"))
        if r.returncode == 0 and r.stdout.strip() == "1":
            took = time.monotonic() - t0
            cpu, rss = usage(proc.pid)
            proc.terminate()
            proc.wait(30)
            return took, cpu, rss
        time.sleep(0.05)
    sys.exit("the snapshot did not finish in time")


def main():
    os.makedirs(WORK, exist_ok=True)
    sql(SRC, f"DROP DATABASE IF EXISTS snapbench; CREATE DATABASE snapbench; USE snapbench; {TABLE}; "
        f"INSERT INTO t SELECT seq, seq * 7919 % 2147483647, CONCAT('name-', seq, '-', MD5(seq)), "
        f"seq / 100, TIMESTAMP'2024-01-01 00:00:00' + INTERVAL seq SECOND + INTERVAL (seq % 999999) MICROSECOND, "
        f"REPEAT('text ', 5 + seq % 25) FROM seq_1_to_{ROWS};")
    dump = os.path.join(WORK, "t.sql")
    with open(dump, "w") as f:
        subprocess.run(["mariadb-dump", "--no-defaults", "-h127.0.0.1", f"-P{SRC}", "-uroot",
                        "--no-create-info", "--skip-triggers", "--extended-insert", "snapbench", "t"],
                       stdout=f, check=True)
    source_sum = sql(SRC, "CHECKSUM TABLE snapbench.t").split("\t")[1]
    rows, ratios = [], []
    for i in range(REPEAT):
        fresh_target()
        t0 = time.monotonic()
        with open(dump) as f:
            subprocess.run(client(DST, "snapbench"), stdin=f, check=True)
        ceiling_s = time.monotonic() - t0
        ceiling = ROWS / ceiling_s
        rows.append(("ceiling: mariadb-dump output loaded by the mariadb client", ceiling_s, ceiling, "-", "-"))
        fresh_target()
        took, cpu, rss = run_snapshot(f"run{i}")
        if sql(DST, "CHECKSUM TABLE snapbench.t").split("\t")[1] != source_sum:
            sys.exit("the snapshot's CHECKSUM TABLE differs from the source's")
        rate = ROWS / took
        rows.append((f"sluice snapshot (chunks of {CHUNK})", took, rate, f"{cpu:.1f}", f"{rss:.0f}"))
        ratios.append(rate / ceiling)
    print(f"\n{ROWS:,} rows; pairs of runs, ceiling then snapshot\n")
    print("| run | seconds | rows/s | sluice CPU s | sluice peak RSS MiB |")
    print("|---|---|---|---|---|")
    for name, s, r, cpu, rss in rows:
        print(f"| {name} | {s:.1f} | {r:,.0f} | {cpu} | {rss} |")
    print("\nsnapshot / ceiling, per pair: " + ", ".join(f"{r:.2f}" for r in ratios)
          + f"; median {sorted(ratios)[len(ratios) // 2]:.2f}")


if __name__ == "__main__":
    main()
