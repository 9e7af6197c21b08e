"""CPU seconds used by each process group during a command (e.g. a wrk run), from /proc.

    python bench/cpu_split.py -- wrk -t2 -c16 -d15s ...
"""
from __future__ import annotations

import os
import subprocess
import sys
import time

GROUPS = {"gunicorn workers": "gunicorn", "postgres": "postgres", "load generator": ("wrk", "locust")}
TICK = os.sysconf("SC_CLK_TCK")


def snapshot() -> dict[str, float]:
    totals = {name: 0.0 for name in GROUPS}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{pid}/comm") as f:
                comm = f.read().strip()
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        seconds = (int(fields[11]) + int(fields[12])) / TICK  # utime + stime
        for name, match in GROUPS.items():
            if any(m in comm or m in cmdline for m in ((match,) if isinstance(match, str) else match)):
                totals[name] += seconds
                break
    return totals


def main() -> None:
    command = sys.argv[sys.argv.index("--") + 1:]
    before, started = snapshot(), time.monotonic()
    output = subprocess.run(command, capture_output=True, text=True).stdout
    after, elapsed = snapshot(), time.monotonic() - started
    print(output)
    for name in GROUPS:
        print(f"{name:18s} {(after[name] - before[name]) / elapsed * 100:6.1f}% of one CPU")


if __name__ == "__main__":
    main()
