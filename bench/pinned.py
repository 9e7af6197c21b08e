"""Where wrk's p99 tail comes from: the same server measured with its workers sharing both CPUs with
PostgreSQL, and with the workers on CPU 0 and PostgreSQL (and wrk) on CPU 1.

In production the service and its database run on machines of their own; on the 2-CPU development
machine wrk, the two workers and PostgreSQL's backends take turns on the same two CPUs. This
script serves this checkout once (gunicorn, production configuration), warms it up over
``--addresses`` addresses, then alternates wrk runs on the v2 score path: "shared" (every process
may run on either CPU, as in ``make bench``) and "pinned" (CPU affinities set for the gunicorn
master and workers, every PostgreSQL process of the server, new backends included since they
inherit the postmaster's, and wrk). It prints each run and the medians of each mode, then gives
every process back both CPUs. Run as a user allowed to change PostgreSQL's affinity (root here).

    python bench/run.py --levels 16 --keep            # a seeded database and its manifest
    python bench/pinned.py --dsn postgresql://.../scorer_bench_... --manifest .bench/manifest-....json \
        [--rounds 3] [--seconds 15] [--connections 16] [--addresses 2000] [--warmups 2]

Needs at least two CPUs (``os.sched_getaffinity``).
"""
from __future__ import annotations

import argparse
import os
import pathlib
import statistics
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import orjson  # noqa: E402

from bench import run  # noqa: E402

PORT = 8773


def pin(pids: list[int], cpus: set[int]) -> None:
    """Set the affinity of every thread of each process (gone processes are skipped)."""
    for pid in pids:
        try:
            threads = [int(t) for t in os.listdir(f"/proc/{pid}/task")]
        except FileNotFoundError:
            continue
        for tid in threads:
            try:
                os.sched_setaffinity(tid, cpus)
            except ProcessLookupError:  # the thread ended meanwhile
                pass
            except PermissionError:
                raise SystemExit(f"not allowed to set the CPU affinity of process {pid}: run as root") from None


def postgres_pids() -> list[int]:
    """Every process of the PostgreSQL server on this machine (postmaster, backends, helpers)."""
    out = subprocess.run(["pgrep", "-u", "postgres"], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dsn", required=True, help="a database seeded by bench/run.py --keep")
    parser.add_argument("--manifest", required=True, type=pathlib.Path)
    parser.add_argument("--rounds", type=int, default=3, help="wrk runs per mode")
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--addresses", type=int, default=2000, help="the first N seeded addresses")
    parser.add_argument("--warmups", type=int, default=2, help="wrk runs before measuring (discarded)")
    args = parser.parse_args()
    both = os.sched_getaffinity(0)
    if len(both) < 2:
        raise SystemExit("needs at least two CPUs")
    first, second = sorted(both)[:2]
    manifest = orjson.loads(args.manifest.read_bytes())
    # connections stay with the worker that took them, so both modes see the same split
    server = run.start_gunicorn(args.dsn, manifest, {"GUNICORN_MAX_REQUESTS": "0", "METRICS_PORT": "0",
                                                     "GUNICORN_KEEPALIVE_REQUESTS": "0"},
                                port=PORT, log_name="pinned.log")
    base = f"http://127.0.0.1:{PORT}"
    gunicorn = [server.pid] + [int(p) for p in
                               pathlib.Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()]
    results: dict[str, list[dict]] = {"shared": [], "pinned": []}
    try:
        for _ in range(args.warmups):  # warm-up: each worker's caches over the addresses measured
            run.wrk(manifest, args.connections, args.seconds, base=base, addresses=args.addresses)
        for i in range(args.rounds):
            for mode in ("shared", "pinned") if i % 2 == 0 else ("pinned", "shared"):
                if mode == "pinned":
                    pin(gunicorn, {first})
                    pin(postgres_pids(), {second})
                    os.sched_setaffinity(0, {second})  # wrk inherits it
                else:
                    pin(gunicorn + postgres_pids(), both)
                    os.sched_setaffinity(0, both)
                w = run.wrk(manifest, args.connections, args.seconds, base=base, addresses=args.addresses)
                results[mode].append(w)
                print(f"{mode}: {w['rps']:.1f} req/s, p50 {w['p50']:.1f} ms, p99 {w['p99']:.1f} ms "
                      f"({w['p99'] / w['p50']:.2f}x), errors {w['errors']}, CPU ms/request workers "
                      f"{w['cpu_ms']['workers']:.2f} / PostgreSQL {w['cpu_ms']['postgres']:.2f}", flush=True)
    finally:
        pin(gunicorn + postgres_pids(), both)
        os.sched_setaffinity(0, both)
        server.terminate()
        server.wait()
    for mode, runs in results.items():
        if runs:
            med = {k: statistics.median(r[k] for r in runs) for k in ("rps", "p50", "p99")}
            workers = statistics.median(r["cpu_ms"]["workers"] for r in runs)
            postgres = statistics.median(r["cpu_ms"]["postgres"] for r in runs)
            ratios = ", ".join(f"{r['p99'] / r['p50']:.2f}" for r in runs)
            print(f"{mode} (medians of {len(runs)}): {med['rps']:.1f} req/s, p50 {med['p50']:.1f} ms, "
                  f"p99 {med['p99']:.1f} ms; CPU ms/request workers {workers:.2f} / PostgreSQL {postgres:.2f}; "
                  f"p99 / p50 run by run {ratios}")


if __name__ == "__main__":
    main()
