#!/usr/bin/env python3
"""End-to-end benchmark: binlog -> sluice -> MySQL target, against the raw
insert ceiling of the same target, measured in the same run.

Run by `scripts/bench` (which starts throwaway servers and builds sluice);
it passes SOURCE_PORT, TARGET_PORT, SLUICE_BIN and WORK in the environment.
Prints a Markdown table. Standard library only.

Workload (issue #5): table t(id bigint PK auto_increment, a int,
b varchar(64), c decimal(12,2), d datetime(6), e text):
  * 200,000 inserts in 1000-row statements;
  * 50,000 single-row updates in transactions of 100;
  * 20,000 deletes, as single-row deletes in transactions of 100.
Runs (ceiling and catch-up alternate BENCH_REPEAT times, default 3):
  * ceiling: the inserts loaded straight into the target by the mariadb
    client (the raw limit of this target on this machine);
  * catch-up: the binlog holds the whole workload when sluice starts; time
    until the target's CHECKSUM TABLE equals the source's;
  * live: sluice runs while the workload runs; lag after the source is done;
  * steady: 5,000 rows/s for 20 s; per-row lag from the source commit time
    to the target insert time, p50 and p99.
"""

import os
import random
import socket
import subprocess
import sys
import time

from mariadb_cli import client, master_status, sql

SRC = int(os.environ["SOURCE_PORT"])
DST = int(os.environ["TARGET_PORT"])
BIN = os.environ["SLUICE_BIN"]
WORK = os.environ["WORK"]
SCALE = float(os.environ.get("BENCH_SCALE", "1"))

INSERTS = int(200_000 * SCALE)
UPDATES = int(50_000 * SCALE)
DELETES = int(20_000 * SCALE)
TABLE = """CREATE TABLE t (id BIGINT PRIMARY KEY AUTO_INCREMENT, a INT,
  b VARCHAR(64), c DECIMAL(12,2), d DATETIME(6), e TEXT{extra}) ENGINE=InnoDB"""


def load(port, path, db):
    with open(path) as f:
        subprocess.run(client(port, db), stdin=f, check=True)


def reset(extra_target=""):
    for port, extra in ((SRC, ""), (DST, extra_target)):
        sql(port, "DROP DATABASE IF EXISTS bench; CREATE DATABASE bench; USE bench; "
            + TABLE.format(extra=extra) + ";")
    sql(DST, "DROP TABLE IF EXISTS bench.sluice_checkpoint")


def workload_files():
    """The three parts of the workload as SQL files (deterministic)."""
    rnd = random.Random(42)
    ins = os.path.join(WORK, "inserts.sql")
    with open(ins, "w") as f:
        for s in range(INSERTS // 1000):
            rows = []
            for i in range(1000):
                n = s * 1000 + i
                rows.append(
                    f"({rnd.randint(-2**31, 2**31 - 1)},'name-{n}-{rnd.random():.12f}',"
                    f"{rnd.randint(-10**9, 10**9)}.{rnd.randint(0, 99):02d},"
                    f"'2024-{rnd.randint(1, 12):02d}-{rnd.randint(1, 28):02d} "
                    f"{rnd.randint(0, 23):02d}:{rnd.randint(0, 59):02d}:{rnd.randint(0, 59):02d}."
                    f"{rnd.randint(0, 999999):06d}','{'text ' * rnd.randint(5, 30)}')"
                )
            f.write("INSERT INTO t (a,b,c,d,e) VALUES " + ",".join(rows) + ";\n")
    rest = os.path.join(WORK, "updates_deletes.sql")
    with open(rest, "w") as f:
        for t in range(UPDATES // 100):
            f.write("BEGIN;\n")
            for _ in range(100):
                f.write(
                    f"UPDATE t SET a = a + 1, b = 'upd-{t}-{rnd.random():.9f}' "
                    f"WHERE id = {rnd.randint(1, INSERTS)};\n"
                )
            f.write("COMMIT;\n")
        ids = rnd.sample(range(1, INSERTS + 1), DELETES)
        for t in range(0, DELETES, 100):
            f.write("BEGIN;\n")
            for i in ids[t:t + 100]:
                f.write(f"DELETE FROM t WHERE id = {i};\n")
            f.write("COMMIT;\n")
    return ins, rest


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def write_config(work, name, server_id, db, pipeline, source_extra="", pipeline_extra=""):
    """Write WORK/NAME/sluice.toml: the bench source, one pipeline copying
    DB.t into the same database on the target. Returns (folder, config)."""
    d = os.path.join(work, name)
    os.makedirs(d, exist_ok=True)
    cfg = os.path.join(d, "sluice.toml")
    with open(cfg, "w") as f:
        f.write(f"""[source]
url = "mysql://root@127.0.0.1:{SRC}"
server_id = {server_id}
{source_extra}

[metrics]
listen = "127.0.0.1:{free_port()}"

[targets.dst]
kind = "mysql"
url = "mysql://root@127.0.0.1:{DST}/{db}"

[[pipelines]]
name = "{pipeline}"
source_tables = ["{db}.t"]
target = "dst"
{pipeline_extra}
""")
    return d, cfg


def start_sluice(name, start):
    d, cfg = write_config(WORK, name, 9001, "bench", "bench", f'start = "{start[0]}:{start[1]}"',
                          os.environ.get("BENCH_PIPELINE", ""))
    log = open(os.path.join(d, "sluice.log"), "w")
    return subprocess.Popen([BIN, "run", "--config", cfg], stderr=log, stdout=log)


def checkpoint():
    """The pipeline's checkpoint, or None before sluice has written one."""
    r = subprocess.run(client(DST), capture_output=True, text=True, input=(
        "SELECT binlog_file, binlog_pos FROM bench.sluice_checkpoint WHERE pipeline = 'bench'"))
    out = r.stdout.strip()
    if r.returncode != 0 or not out:
        return None
    f, p = out.split("\t")
    return f, int(p)


def wait_caught_up(proc, end, timeout=600):
    """Wait until the checkpoint reaches `end`; returns the time it did."""
    key = lambda fp: (int(fp[0].rsplit(".", 1)[1]), fp[1])
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"sluice exited with {proc.returncode}; see {WORK}")
        cp = checkpoint()
        if cp and key(cp) >= key(end):
            return time.monotonic()
        time.sleep(0.05)
    sys.exit("sluice did not catch up in time")


def usage(pid):
    """CPU seconds and peak RSS (MiB) of a process."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    cpu = (int(fields[11]) + int(fields[12])) / tick
    with open(f"/proc/{pid}/status") as f:
        hwm = next(int(line.split()[1]) for line in f if line.startswith("VmHWM"))
    return cpu, hwm / 1024


def checksums_equal():
    a = sql(SRC, "CHECKSUM TABLE bench.t").split("\t")[1]
    b = sql(DST, "CHECKSUM TABLE bench.t").split("\t")[1]
    return a == b, a


def stop(proc):
    proc.terminate()
    proc.wait(30)


def main():
    os.makedirs(WORK, exist_ok=True)
    ins, rest = workload_files()
    total = INSERTS + UPDATES + DELETES
    results = []

    # Ceiling and catch-up, alternated REPEAT times: each ratio pairs a
    # ceiling with the catch-up run right after it.
    ratios = []
    for _ in range(int(os.environ.get("BENCH_REPEAT", "3"))):
        reset()
        t0 = time.monotonic()
        load(DST, ins, "bench")
        ceiling_s = time.monotonic() - t0
        ceiling = INSERTS / ceiling_s
        results.append(("ceiling: inserts by the mariadb client into the target", INSERTS,
                        ceiling_s, "-", "-"))

        # Catch-up: the whole workload is in the binlog before sluice starts.
        reset()
        start = master_status(SRC)
        load(SRC, ins, "bench")
        load(SRC, rest, "bench")
        end = master_status(SRC)
        t0 = time.monotonic()
        proc = start_sluice("catchup", start)
        done = wait_caught_up(proc, end)
        cpu, rss = usage(proc.pid)
        stop(proc)
        equal, _ = checksums_equal()
        if not equal:
            sys.exit("catch-up: target checksum differs from the source")
        catchup = total / (done - t0)
        results.append(("catch-up: whole workload already in the binlog", total, done - t0,
                        f"{cpu:.1f}", f"{rss:.0f}"))
        ratios.append(catchup / ceiling)

    # Live: sluice runs while the workload runs.
    reset()
    start = master_status(SRC)
    proc = start_sluice("live", start)
    time.sleep(1)
    t0 = time.monotonic()
    load(SRC, ins, "bench")
    load(SRC, rest, "bench")
    source_done = time.monotonic()
    end = master_status(SRC)
    done = wait_caught_up(proc, end)
    cpu, rss = usage(proc.pid)
    stop(proc)
    equal, _ = checksums_equal()
    if not equal:
        sys.exit("live: target checksum differs from the source")
    live_lag = done - source_done
    results.append(("live: sluice running while the workload runs", total, done - t0,
                    f"{cpu:.1f}", f"{rss:.0f}"))

    # Steady: 5,000 rows/s, per-row lag from source commit to target insert.
    reset(extra_target=", applied DATETIME(6) NOT NULL DEFAULT NOW(6)")
    start = master_status(SRC)
    proc = start_sluice("steady", start)
    time.sleep(1)
    seconds, per_tick, tick = int(20 * max(SCALE, 0.25)), 50, 0.01
    gen = subprocess.Popen(client(SRC, "bench"), stdin=subprocess.PIPE, text=True)
    row = "(1,'steady',1.00,NOW(6),'x')"
    t_next = time.monotonic()
    for _ in range(int(seconds / tick)):
        gen.stdin.write("INSERT INTO t (a,b,c,d,e) VALUES " + ",".join([row] * per_tick) + ";\n")
        gen.stdin.flush()
        t_next += tick
        time.sleep(max(0.0, t_next - time.monotonic()))
    gen.stdin.close()
    gen.wait()
    end = master_status(SRC)
    wait_caught_up(proc, end)
    stop(proc)
    lags = sorted(float(x) for x in sql(
        DST, "SELECT TIMESTAMPDIFF(MICROSECOND, d, applied) / 1000 FROM bench.t").split())
    p50 = lags[len(lags) // 2]
    p99 = lags[int(len(lags) * 0.99)]
    rate = len(lags) / seconds

    print("| run | row changes | seconds | rows/s | sluice CPU s | sluice peak RSS MiB |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, rows, secs, cpu, rss in results:
        print(f"| {name} | {rows} | {secs:.2f} | {rows / secs:,.0f} | {cpu} | {rss} |")
    print()
    print("catch-up / ceiling, per pair: " + ", ".join(f"{r:.2f}" for r in ratios)
          + f"; median **{sorted(ratios)[len(ratios) // 2]:.2f}**")
    print(f"live: lag after the source finished: **{live_lag:.2f} s**")
    print(f"steady {rate:,.0f} rows/s: lag p50 **{p50:.1f} ms**, p99 **{p99:.1f} ms** "
          f"({len(lags)} rows)")


if __name__ == "__main__":
    main()
