"""Overload: far more concurrent connections than the service can answer at once, on one instance.

Serves a benchmark database (``bench/run.py --keep``) with the production gunicorn command (two
workers), warms it up, then drives the v2 score path with wrk at each level (default 1,000 and 3,000
connections, 30 s each, client timeout 60 s) and reports, per level:

* from wrk: requests/s, the latency distribution over every answer, non-2xx answers, socket errors;
* from the service's access log (one JSON line per request, its own duration): answers by status
  (refusals at the door and in the handler apart), and for each the p50, p99 and longest duration,
  so that the 503s' speed and the 2xx' bound can be read apart; how many answers took longer than
  ``REQUEST_BUDGET``; refusals at the door sent at once and held (web/shedding.py);
* each worker's PSS at the end of the level.

    python bench/overload.py --dsn postgresql://.../scorer_bench_... --manifest .bench/manifest-....json \\
        [--levels 1000 3000] [--seconds 30] [--env REQUEST_BUDGET=5 ...]
"""
from __future__ import annotations

import argparse
import collections
import os
import pathlib
import re
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import orjson  # noqa: E402

from bench import run  # noqa: E402

PORT = 8781
# Every connection a greenlet of its own, so that requests queue inside the service (within their
# budget) rather than in the kernel's accept queue, where no budget applies.
DEFAULTS = {"WORKER_CONNECTIONS": "4000", "GUNICORN_MAX_REQUESTS": "0", "LOG_LEVEL": "INFO"}


def percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] if values else 0.0


def access_log(path: pathlib.Path, offset: int) -> tuple[dict[str, list[float]], int]:
    """Durations (ms) of the v2 requests logged after ``offset``, by status and, for refusals,
    where they were refused (at the door, web/shedding.py, or in the handler); the new offset."""
    by_status: dict[str, list[float]] = collections.defaultdict(list)
    with path.open("rb") as f:
        f.seek(offset)
        for line in f:
            if b'"logger":"access"' not in line or b"/v2/stamps/" not in line:
                continue
            entry = orjson.loads(line)
            where = (f" at the door ({entry['shed']})" if entry["route"] == "<shed>"
                     else " in the handler" if entry["status"] == 503 else "")
            by_status[f"{entry['status']}{where}"].append(entry["duration_ms"])
        return by_status, f.tell()


def wrk(manifest: dict, connections: int, seconds: int) -> str:
    env = {**os.environ, "BENCH_SCORER": str(manifest["partner_community"]), "BENCH_API_KEY": manifest["api_key"],
           "BENCH_ADDRESSES": str(manifest["addresses"])}
    return subprocess.run(["wrk", "-t", "2", "-c", str(connections), "-d", f"{seconds}s", "--timeout", "60s",
                           "--latency", "-s", str(ROOT / "bench" / "v2_score.lua"), f"http://127.0.0.1:{PORT}"],
                          env=env, capture_output=True, text=True, timeout=seconds + 120).stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dsn", required=True)
    parser.add_argument("--manifest", required=True, type=pathlib.Path)
    parser.add_argument("--levels", type=int, nargs="+", default=[1000, 3000])
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--sweeps", type=int, default=4)
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE")
    args = parser.parse_args()
    run.require_wrk()
    manifest = orjson.loads(args.manifest.read_bytes())
    env = {**DEFAULTS, **dict(item.split("=", 1) for item in args.env)}
    budget_ms = float(env.get("REQUEST_BUDGET", "5")) * 1000
    run.OUT.mkdir(exist_ok=True)
    log = run.OUT / "overload.log"
    vacuumer = None
    proc = run.start_gunicorn(args.dsn, manifest, env, port=PORT, log_name=log.name)
    try:
        print(f"settings {env}; warming up ({args.sweeps} sweeps)", flush=True)
        run.warm_up(manifest, args.sweeps, base=f"http://127.0.0.1:{PORT}")
        # autovacuum's work, as bench/run.py does it (this machine's server runs with autovacuum off):
        # the warm-up's dead rows reclaimed and statistics fresh before any measurement.
        vacuumer = run.Vacuumer(args.dsn)
        vacuumer.start()
        _, offset = access_log(log, 0)
        for level in args.levels:
            out = wrk(manifest, level, args.seconds)
            by_status, offset = access_log(log, offset)
            rps = re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)
            latency = re.search(r"^\s+Latency\s+(\S+)\s+(\S+)\s+(\S+)", out, re.M).groups()
            dist = dict(re.findall(r"^\s+(50|90|99)%\s+(\S+)", out, re.M))
            errors = re.search(r"Socket errors: (.*)", out)
            non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
            print(f"\n## {level} connections, {args.seconds} s (wrk): {rps} req/s; latency avg {latency[0]}, "
                  f"p50 {dist.get('50')}, p90 {dist.get('90')}, p99 {dist.get('99')}, max {latency[2]}; "
                  f"non-2xx {non2xx.group(1) if non2xx else 0}; socket errors: "
                  f"{errors.group(1) if errors else 'none'}")
            total = sum(len(v) for v in by_status.values())
            for status, durations in sorted(by_status.items()):
                over = sum(1 for d in durations if d > budget_ms)
                print(f"  status {status}: {len(durations)} ({len(durations) / total * 100:.1f}%), service-side "
                      f"p50 {percentile(durations, 0.5):.0f} ms, p99 {percentile(durations, 0.99):.0f} ms, "
                      f"max {max(durations):.0f} ms, over the {budget_ms / 1000:g} s budget: {over}")
                if " at the door" in status:
                    at_once = [d for d in durations if d < 100]
                    print(f"    at once (a first refusal, or one after Retry-After): {len(at_once)}, p99 "
                          f"{percentile(at_once, 0.99):.0f} ms; held (the connection asked again sooner): "
                          f"{len(durations) - len(at_once)}")
            print(f"  worker PSS MB: {' '.join(f'{v:.1f}' for v in run.worker_pss(proc.pid).values())}", flush=True)
    finally:
        if vacuumer is not None:
            vacuumer.stop()
        proc.terminate()
        proc.wait(timeout=120)


if __name__ == "__main__":
    main()
