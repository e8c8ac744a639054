#!/usr/bin/env python3
"""Decode benchmark: rows per CPU-second of Sluice's binlog reader against
`mariadb-binlog --read-from-remote-server -v` over the same binlog range,
in the same run (issue #3). Standard library only.

Run by `scripts/bench decode`, which passes SOURCE_PORT, DECODE_BIN and
WORK. Workload: 1,000,000 row events (BENCH_SCALE scales it) on a table of
10 mixed columns, written as 1000-row INSERT statements.
"""

import os
import random
import resource
import subprocess
import sys
import time

from mariadb_cli import client, master_status, sql

SRC = int(os.environ["SOURCE_PORT"])
BIN = os.environ["DECODE_BIN"]
WORK = os.environ["WORK"]
ROWS = int(1_000_000 * float(os.environ.get("BENCH_SCALE", "1")))
REPEAT = int(os.environ.get("BENCH_REPEAT", "3"))


def timed(cmd, **kw):
    """Run cmd; return (stdout, wall seconds, CPU seconds of the child)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    out = subprocess.run(cmd, check=True, **kw)
    wall = time.monotonic() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return out.stdout, wall, cpu


def main():
    os.makedirs(WORK, exist_ok=True)
    sql(SRC, """DROP DATABASE IF EXISTS dbench; CREATE DATABASE dbench;
        CREATE TABLE dbench.t (id BIGINT PRIMARY KEY, a INT, b BIGINT, c VARCHAR(40),
          d DECIMAL(12,2), e DATETIME(6), f DOUBLE, g TINYINT UNSIGNED, h DATE, i TEXT)""")
    path = os.path.join(WORK, "decode.sql")
    rnd = random.Random(7)
    with open(path, "w") as f:
        for s in range(ROWS // 1000):
            vals = []
            for k in range(1000):
                n = s * 1000 + k
                vals.append(
                    f"({n},{rnd.randint(-2**31, 2**31 - 1)},{rnd.randint(-2**62, 2**62)},"
                    f"'c{n}-{rnd.random():.10f}',{rnd.randint(-10**9, 10**9)}.{rnd.randint(0, 99):02d},"
                    f"'2025-06-{rnd.randint(1, 28):02d} 12:{rnd.randint(0, 59):02d}:00.{rnd.randint(0, 999999):06d}',"
                    f"{rnd.random() * 1e6},{rnd.randint(0, 255)},'2024-01-{rnd.randint(1, 28):02d}',"
                    f"'{'text ' * rnd.randint(1, 8)}')")
            f.write("INSERT INTO t VALUES " + ",".join(vals) + ";\n")
    start = master_status(SRC)
    with open(path) as f:
        subprocess.run(client(SRC, "dbench"), stdin=f, check=True)
    end = master_status(SRC)
    if start[0] != end[0]:
        sys.exit("the workload spans binlog files; raise max_binlog_size")

    runs = []
    for _ in range(REPEAT):
        out, wall, cpu = timed(
            [BIN, f"mysql://root@127.0.0.1:{SRC}", f"{start[0]}:{start[1]}", f"{end[0]}:{end[1]}"],
            capture_output=True, text=True)
        rows = int(out.split()[0])
        if rows != ROWS:
            sys.exit(f"sluice decoded {rows} rows, expected {ROWS}")
        runs.append(("sluice reader (dump connection, decode to Sluice values)", rows, wall, cpu))
        _, wall, cpu = timed(
            ["mariadb-binlog", "--no-defaults", "--read-from-remote-server", "-h127.0.0.1",
             f"-P{SRC}", "-uroot", "-v", f"--start-position={start[1]}",
             f"--stop-position={end[1]}", start[0]],
            stdout=subprocess.DEVNULL)
        runs.append(("mariadb-binlog --read-from-remote-server -v > /dev/null", ROWS, wall, cpu))

    print("| reader | rows | wall s | CPU s | rows per CPU-second |")
    print("|---|---:|---:|---:|---:|")
    for name, rows, wall, cpu in runs:
        print(f"| {name} | {rows} | {wall:.2f} | {cpu:.2f} | {rows / cpu:,.0f} |")
    ratios = [(runs[i][1] / runs[i][3]) / (runs[i + 1][1] / runs[i + 1][3])
              for i in range(0, len(runs), 2)]
    print()
    print("sluice / mariadb-binlog, rows per CPU-second, per pair: "
          + ", ".join(f"{r:.2f}" for r in ratios)
          + f"; median **{sorted(ratios)[len(ratios) // 2]:.2f}**")
    sql(SRC, "DROP DATABASE dbench")


if __name__ == "__main__":
    main()
