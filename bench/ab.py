"""Compare two checkouts on one machine whose speed drifts: both served at once, wrk runs alternated.

Runs made one after the other on a shared 2-CPU machine differ by 20% and more as its speed
drifts over minutes (the same code measured 606 and 788 req/s within half an hour). So both
checkouts are served at the same time, each by gunicorn with the production configuration on a
port of its own, against one benchmark database, both warmed up; then wrk drives the v2 score path
of one and then the other, alternating (A B, B A, ...), and the medians are compared: each part
ends with B's change against A in percent (throughput, latency, CPU per request), the range of
each side's per-run worker CPU and each side's worker / PostgreSQL CPU ratio. The server
not being measured is idle. Each run reports the share of its stamp-row lookups that missed the
workers' verified-row cache (from each server's metrics port): a comparison of steady states needs
it near 0, since every miss is a proof verified during the run (6 warm-up sweeps give under 1%).

    python bench/run.py --levels 16 --keep            # a seeded database and its manifest
    git worktree add /tmp/base main                   # the checkout to compare with
    python bench/ab.py --dsn postgresql://.../scorer_bench_... --manifest .bench/manifest-....json \\
        --a /tmp/base [--b .] [--rounds 8] [--seconds 10] [--connections 16] [--sweeps 6] [--addresses 10]
        [--hot-set 10] [--posts]

Both run on this checkout's virtualenv; gunicorn imports the application from each checkout.
``--a-env`` / ``--b-env NAME=VALUE`` (repeatable) add settings to one server: the same checkout
twice, with a feature on and off, is compared the same way. ``--rate-limit`` sets the benchmark
API key's ``rate_limit`` first (e.g. ``""`` for an unlimited key, ``100000000/15m`` for one that is
counted in Redis on every request but never refused).

    python bench/ab.py --dsn ... --manifest ... --a . --b . \
        --b-env RATELIMIT_ENABLE=true --b-env REDIS_URL=redis://127.0.0.1:6379/0 --rate-limit ""
"""
from __future__ import annotations

import argparse
import pathlib
import re
import statistics
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import orjson  # noqa: E402
import requests  # noqa: E402

from bench import run  # noqa: E402
from bench.vacuum import Vacuumer  # noqa: E402
from bench.waits import WaitSampler  # noqa: E402

PORTS = {"A": 8771, "B": 8772}
METRICS_PORTS = {"A": 9771, "B": 9772}
_ROW_LOOKUP = re.compile(r'^scorer_credential_cache_lookups_total\{cache="row",result="(hit|miss)"\} ([\d.e+]+)$', re.M)
_MEMO = re.compile(r'^scorer_rescore_memo_total\{outcome="(hit|stale)"\} ([\d.e+]+)$', re.M)


def row_lookups(name: str) -> dict[str, float] | None:
    """The server's verified-row cache lookups so far, {"hit": n, "miss": n}, and its remembered
    rescores {"memo hit": n, "memo stale": n}; None without metrics (``METRICS_PORT=0``, or a
    checkout from before them)."""
    try:
        text = requests.get(f"http://127.0.0.1:{METRICS_PORTS[name]}/metrics", timeout=5).text
    except requests.RequestException:
        return None
    found = {result: float(value) for result, value in _ROW_LOOKUP.findall(text)}
    found.update({"memo " + outcome: float(value) for outcome, value in _MEMO.findall(text)})
    return found or None


def miss_share(before: dict | None, after: dict | None) -> str:
    """The share of the run's row lookups that missed the workers' cache: proofs verified during the
    run, which a comparison of steady states must not contain (warm up with enough sweeps). "none"
    when the run looked no row up (every rescore answered from the rescore memo)."""
    if not before or not after:
        return "n/a"
    hits, misses = (after.get(k, 0.0) - before.get(k, 0.0) for k in ("hit", "miss"))
    return f"{misses / (hits + misses) * 100:.1f}%" if hits + misses else "none"


def memo_share(before: dict | None, after: dict | None, requests_done: float) -> str:
    """The share of the run's requests answered from the rescore memo (app/scoring/memo.py)."""
    if not before or not after or "memo hit" not in after:
        return "n/a"
    return f"{(after['memo hit'] - before.get('memo hit', 0.0)) / max(requests_done, 1.0) * 100:.0f}%"


def summary(name: str, runs: list[dict]) -> str:
    def median(pick) -> float:
        return statistics.median(pick(r) for r in runs)

    return (f"{name}: median {median(lambda r: r['rps']):.1f} req/s, p50 {median(lambda r: r['p50']):.1f} ms, "
            f"p99 {median(lambda r: r['p99']):.1f} ms, CPU ms/request workers "
            f"{median(lambda r: r['cpu_ms']['workers']):.2f} / "
            f"PostgreSQL {median(lambda r: r['cpu_ms']['postgres']):.2f}"
            f"; errors {sum(r['errors'] for r in runs)}")


def comparison(label: str, a: list[dict], b: list[dict]) -> str:
    """B's medians against A's, as changes in percent, with each side's range of per-run worker CPU
    (how far a median may move with one more run) and its worker / PostgreSQL CPU ratio."""
    def median(runs: list[dict], pick) -> float:
        return statistics.median(pick(r) for r in runs)

    def change(pick) -> str:
        before, after = median(a, pick), median(b, pick)
        return f"{(after - before) / before * 100:+.1f}%" if before else "n/a"

    def workers(r: dict) -> float:
        return r["cpu_ms"]["workers"]

    def postgres(r: dict) -> float:
        return r["cpu_ms"]["postgres"]

    def spread(runs: list[dict]) -> str:
        return f"{min(map(workers, runs)):.2f}-{max(map(workers, runs)):.2f}"

    def ratio(runs: list[dict]) -> str:
        pg = median(runs, postgres)
        return f"{median(runs, workers) / pg:.2f}" if pg else "n/a"

    return (f"B against A ({label}): req/s {change(lambda r: r['rps'])}, p50 {change(lambda r: r['p50'])}, "
            f"p99 {change(lambda r: r['p99'])}; CPU per request: workers {change(workers)} "
            f"(runs A {spread(a)}, B {spread(b)} ms), PostgreSQL {change(postgres)}; "
            f"workers / PostgreSQL A {ratio(a)}, B {ratio(b)}")


def alternate(args, manifest: dict, addresses: int | None, posts: pathlib.Path | None = None
              ) -> dict[str, list[dict]]:
    """``args.rounds`` wrk runs per server, alternated A B, B A, ..., with the database's waits."""
    results: dict[str, list[dict]] = {"A": [], "B": []}
    for i in range(args.rounds):
        for name in ("A", "B") if i % 2 == 0 else ("B", "A"):
            lookups = row_lookups(name)
            with WaitSampler(args.dsn) as waits:
                w = run.wrk(manifest, args.connections, args.seconds, base=f"http://127.0.0.1:{PORTS[name]}",
                            addresses=addresses, posts=posts)
            results[name].append(w)
            after = row_lookups(name)
            print(f"{name}: {w['rps']:.1f} req/s, p50 {w['p50']:.1f} ms, p99 {w['p99']:.1f} ms, "
                  f"errors {w['errors']}, CPU ms/request workers {w['cpu_ms']['workers']:.2f} "
                  f"/ PostgreSQL {w['cpu_ms']['postgres']:.2f}; row cache misses {miss_share(lookups, after)}, "
                  f"memo hits {memo_share(lookups, after, w['requests'])}; waits: {waits.summary(4)}", flush=True)
    return results


def set_rate_limit(dsn: str, manifest: dict, rate: str) -> None:
    import psycopg2

    conn = psycopg2.connect(dsn)
    try:
        with conn, conn.cursor() as cur:
            cur.execute("UPDATE account_accountapikey SET rate_limit = %s WHERE prefix = %s",
                        (rate, manifest["api_key"].split(".")[0]))
    finally:
        conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dsn", required=True, help="a database seeded by bench/run.py --keep")
    parser.add_argument("--manifest", required=True, type=pathlib.Path)
    parser.add_argument("--a", required=True, type=pathlib.Path, help="checkout A (e.g. the base)")
    parser.add_argument("--b", default=ROOT, type=pathlib.Path, help="checkout B (default: this one)")
    parser.add_argument("--rounds", type=int, default=8, help="wrk runs per checkout")
    parser.add_argument("--seconds", type=int, default=10, help="per wrk run")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--addresses", type=int, help="wrk over the first N addresses only (a hot set)")
    parser.add_argument("--hot-set", type=int, default=0,
                        help="then the same rounds again over the first N addresses only")
    parser.add_argument("--posts", action="store_true",
                        help="then the same rounds again of bulk POSTs (10 stamps) of the seeded payloads")
    parser.add_argument("--sweeps", type=int, default=6,
                        help="warm-up sweeps per server (6, as bench/run.py: under 2%% of the addresses "
                             "then miss a worker's cache; each run reports its row cache misses)")
    parser.add_argument("--a-env", action="append", default=[], metavar="NAME=VALUE", help="a setting of A")
    parser.add_argument("--b-env", action="append", default=[], metavar="NAME=VALUE", help="a setting of B")
    parser.add_argument("--rate-limit", help="set the benchmark API key's rate_limit to this first")
    args = parser.parse_args()
    run.require_wrk()
    manifest = orjson.loads(args.manifest.read_bytes())
    envs = {name: dict(item.split("=", 1) for item in items) for name, items in (("A", args.a_env), ("B", args.b_env))}
    if args.rate_limit is not None:
        set_rate_limit(args.dsn, manifest, args.rate_limit)
    run.OUT.mkdir(exist_ok=True)
    procs = {}
    try:
        for name, root in (("A", args.a), ("B", args.b)):
            settings = {"GUNICORN_MAX_REQUESTS": "0", "METRICS_PORT": str(METRICS_PORTS[name]), **envs[name]}
            procs[name] = run.start_gunicorn(args.dsn, manifest, settings,
                                             root=root.resolve(), port=PORTS[name], log_name=f"ab-{name}.log")
            print(f"{name} = {root.resolve()} {envs[name] or ''}: warming up ({args.sweeps} sweeps)", flush=True)
            run.warm_up(manifest, args.sweeps, base=f"http://127.0.0.1:{PORTS[name]}")
        vacuumer = Vacuumer(args.dsn)
        vacuumer.start()
        print(f"database: {vacuumer.describe()}", flush=True)
        for addresses in [args.addresses] + ([args.hot_set] if args.hot_set else []):
            label = f"over {addresses} addresses" if addresses else "over every address"
            results = alternate(args, manifest, addresses)
            for name in ("A", "B"):
                print(summary(f"{name} ({label})", results[name]))
            print(comparison(label, results["A"], results["B"]))
        if args.posts:
            posts = run.post_requests(manifest, run.OUT / "ab-posts.tsv")
            results = alternate(args, manifest, None, posts)
            for name in ("A", "B"):
                print(summary(f"{name} (bulk POST)", results[name]))
            print(comparison("bulk POST", results["A"], results["B"]))
        for name in ("A", "B"):
            print(f"{name}: worker PSS MB {' '.join(f'{v:.1f}' for v in run.worker_pss(procs[name].pid).values())}")
        vacuumer.stop()
    finally:
        for proc in procs.values():
            proc.terminate()
        for proc in procs.values():
            proc.wait(timeout=60)


if __name__ == "__main__":
    main()
