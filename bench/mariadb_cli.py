"""The mariadb client, as the benchmark scripts use it (standard library)."""

import subprocess
import sys


def client(port, db=None):
    """The command line of a batch-mode client on 127.0.0.1:port."""
    cmd = ["mariadb", "--no-defaults", "-h127.0.0.1", f"-P{port}", "-uroot", "-N", "-B"]
    return cmd + ([db] if db else [])


def sql(port, text, db=None):
    """Run statements; their output, tab-separated. Exits on an error."""
    out = subprocess.run(client(port, db), input=text, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"mariadb -P{port}: {out.stderr}")
    return out.stdout.strip()


def master_status(port):
    """(binlog file, offset) at the end of the server's binlog."""
    file, pos = sql(port, "SHOW MASTER STATUS").split("\t")[:2]
    return file, int(pos)
