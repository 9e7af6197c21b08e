"""`make bench`: seed a fresh database, serve it with the production gunicorn set-up, and measure.

1. A fresh database on BENCH_DATABASE_URL's server (else this machine's PostgreSQL on
   127.0.0.1:5432, else an embedded one), loaded from db/schema.sql and seeded (bench/seed.py).
2. gunicorn -c gunicorn.conf.py web.wsgi:application, production settings, logs to .bench/.
3. A warm-up pass (discarded), then at each concurrency level, from separate processes:
   locust with the realistic mix (bench/locustfile.py) and wrk on the v2 score path alone; then the
   soak, if asked for; then at each level locust with bulk POSTs alone (every user posting); then
   the ceiling: pgbench replaying the exact SQL of v2 score requests (bench/pgbench_replay.py).
   At 16 connections, after wrk over every address, the hot set: wrk over 10 addresses, so that
   several requests rescore one address at once; during both, what PostgreSQL's backends wait for
   (bench/waits.py).
4. One table per endpoint (requests/s, p50, p95, p99, errors), each worker's PSS before and after,
   printed and written to .bench/report-<time>.md. Everything is bounded in time and loopback only.

    python bench/run.py [--levels 1 16 64] [--seconds 30] [--hot-set 10] [--soak 600]
"""
from __future__ import annotations

import argparse
import csv
import datetime
import os
import pathlib
import re
import resource
import shutil
import signal
import subprocess
import sys
import time
import uuid

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import orjson  # noqa: E402
import psycopg2  # noqa: E402
import requests  # noqa: E402

from bench import cpu_split  # noqa: E402
from bench.vacuum import Vacuumer  # noqa: E402
from bench.waits import WaitSampler  # noqa: E402
from db.dsn import with_dbname  # noqa: E402

OUT = ROOT / ".bench"
BIN = pathlib.Path(sys.executable).parent
PORT = int(os.environ.get("BENCH_PORT", "8765"))
BASE = f"http://127.0.0.1:{PORT}"
JWT_SECRET = "bench-only-jwt-secret-bench-only-jwt-secret"
INTERNAL_KEY = "bench-only-internal-key"


# --- database -----------------------------------------------------------------------------------

def server_dsn() -> str:
    if os.environ.get("BENCH_DATABASE_URL"):
        return os.environ["BENCH_DATABASE_URL"]
    local = "postgresql://postgres@127.0.0.1:5432/postgres"
    try:
        psycopg2.connect(local, connect_timeout=2).close()
        return local
    except psycopg2.OperationalError:
        import pgserver

        return pgserver.get_server(ROOT / ".dev" / "pgbench", cleanup_mode=None).get_uri()


def create_database(admin: str) -> str:
    name = f"scorer_bench_{uuid.uuid4().hex[:8]}"
    conn = psycopg2.connect(admin)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    conn.close()
    dsn = with_dbname(admin, name)
    conn = psycopg2.connect(dsn)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute((ROOT / "db" / "schema.sql").read_text())
    conn.close()
    return dsn


def drop_database(admin: str, dsn: str) -> None:
    conn = psycopg2.connect(admin)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{dsn.rsplit("/", 1)[-1].split("?")[0]}" WITH (FORCE)')
    conn.close()


# --- the service --------------------------------------------------------------------------------

def start_gunicorn(dsn: str, manifest: dict, extra_env: dict, *, root: pathlib.Path = ROOT,
                   port: int = PORT, log_name: str = "gunicorn.log") -> subprocess.Popen:
    """gunicorn with the production configuration, serving the code of ``root`` (a checkout; this
    one by default) on ``port``, once it answers /ready."""
    env = {**os.environ, "DATABASE_URL": dsn, "PORT": str(port), "JWT_SECRET": JWT_SECRET,
           "INTERNAL_API_KEY": INTERNAL_KEY, "CERAMIC_CACHE_SCORER_ID": str(manifest["ceramic_community"]),
           "TRUSTED_IAM_ISSUERS": orjson.dumps([manifest["issuer"]]).decode(),
           "FF_API_ANALYTICS": "on", **extra_env}  # as production runs it (the dashboards read the rows)
    log = open(OUT / log_name, "wb")
    proc = subprocess.Popen([str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "web.wsgi:application"],
                            cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/ready", timeout=1).status_code == 200:
                return proc
        except requests.RequestException:  # not listening yet, or busy loading the app
            time.sleep(0.2)
    proc.kill()
    raise SystemExit(f"gunicorn did not become ready; see .bench/{log_name}")


def worker_pss(master: int) -> dict[int, float]:
    """PSS in MB of each gunicorn worker (children of the master), from /proc/<pid>/smaps_rollup."""
    children = pathlib.Path(f"/proc/{master}/task/{master}/children").read_text().split()
    result = {}
    for pid in map(int, children):
        try:
            text = pathlib.Path(f"/proc/{pid}/smaps_rollup").read_text()
        except FileNotFoundError:
            continue
        result[pid] = int(re.search(r"^Pss:\s+(\d+) kB", text, re.M).group(1)) / 1024
    return result


# --- load ---------------------------------------------------------------------------------------

def locust(manifest_path: pathlib.Path, users: int, seconds: int, prefix: pathlib.Path,
           tags: str | None = None) -> list[dict]:
    """One locust run: the whole mix, or only the tasks tagged ``tags`` (e.g. "post")."""
    env = {**os.environ, "BENCH_MANIFEST": str(manifest_path), "BENCH_JWT_SECRET": JWT_SECRET,
           "BENCH_INTERNAL_KEY": INTERNAL_KEY}
    subprocess.run([str(BIN / "locust"), "-f", str(ROOT / "bench" / "locustfile.py"), "--headless",
                    "-u", str(users), "-r", str(users), "-t", f"{seconds}s", "--host", BASE, "--csv", str(prefix),
                    "--only-summary", "--loglevel", "WARNING", "--stop-timeout", "5"]
                   + (["--tags", tags] if tags else []),
                   env=env, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   timeout=seconds + 60)
    with open(f"{prefix}_stats.csv") as f:
        return [row for row in csv.DictReader(f)]


def require_wrk() -> None:
    """Stop at once, before any server is started or warmed up, when wrk is not installed."""
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install wrk (make bench installs it)")


def wrk(manifest: dict, connections: int, seconds: int, base: str = BASE, addresses: int | None = None,
        posts: pathlib.Path | None = None) -> dict:
    """One wrk run on the v2 score path, over the first ``addresses`` seeded addresses (all by
    default), or of bulk POSTs of the payloads in ``posts`` (``post_requests``): rates, latencies,
    errors, and the CPU each process group spent per request (gunicorn workers and PostgreSQL from
    /proc, wrk from its rusage)."""
    env = {**os.environ, "BENCH_SCORER": str(manifest["partner_community"]), "BENCH_API_KEY": manifest["api_key"],
           "BENCH_ADDRESSES": str(addresses or manifest["addresses"]), "BENCH_POSTS": str(posts or "")}
    script = "bulk_post.lua" if posts else "v2_score.lua"
    before, children_before = cpu_split.snapshot(), resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    out = subprocess.run(["wrk", "-t", str(min(connections, 2)), "-c", str(connections), "-d", f"{seconds}s",
                          "--latency", "-s", str(ROOT / "bench" / script), base],
                         env=env, capture_output=True, text=True, timeout=seconds + 60).stdout
    elapsed = time.monotonic() - started
    after, children_after = cpu_split.snapshot(), resource.getrusage(resource.RUSAGE_CHILDREN)

    def ms(label: str) -> float:
        value, unit = re.search(rf"^\s+{label}\s+([\d.]+)(us|ms|s)\s*$", out, re.M).groups()
        return float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit]

    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    requests_done = max(rps * elapsed, 1.0)
    wrk_cpu = (children_after.ru_utime + children_after.ru_stime
               - children_before.ru_utime - children_before.ru_stime)
    return {"rps": rps, "p50": ms("50%"), "p90": ms("90%"), "p99": ms("99%"), "requests": requests_done,
            "errors": (int(errors.group(1)) if errors else 0) + (sum(map(int, socket_errors.groups()))
                                                                  if socket_errors else 0),
            "cpu_ms": {"workers": (after["gunicorn workers"] - before["gunicorn workers"]) / requests_done * 1000,
                       "postgres": (after["postgres"] - before["postgres"]) / requests_done * 1000,
                       "wrk": wrk_cpu / requests_done * 1000}}


def post_requests(manifest: dict, path: pathlib.Path, lifetime: int = 86400) -> pathlib.Path:
    """The seeded bulk POST payloads as bench/bulk_post.lua reads them: "<JWT>\t<body>" lines."""
    import jwt

    now = int(time.time())
    with open(path, "w") as out:
        for address, entries in manifest["post_payloads"].items():
            token = jwt.encode({"did": f"did:pkh:eip155:1:{address}", "token_type": "access", "iat": now,
                                "exp": now + lifetime, "jti": "bench"}, JWT_SECRET, algorithm="HS256")
            out.write(f"{token}\t{orjson.dumps(entries).decode()}\n")
    return path


def pgbench(dsn: str, manifest_path: pathlib.Path, levels: list[int], seconds: int) -> dict[int, float]:
    out = subprocess.run([sys.executable, str(ROOT / "bench" / "pgbench_replay.py"), "--dsn", dsn,
                          "--manifest", str(manifest_path), "--seconds", str(seconds), "--clients",
                          *map(str, levels)], capture_output=True, text=True, check=True).stdout
    return {int(c): float(r) for c, r in re.findall(r"(\d+) clients: ([\d.]+) requests/s", out)}


def warm_up(manifest: dict, sweeps: int, base: str = BASE) -> None:
    """Bring the service to the state of a long-running pod before anything is measured.

    * Score every seeded address ``sweeps`` times over 16 keep-alive connections, so each worker
      has seen (and cached the verdicts on) nearly every stamp row and written nearly every
      passport's stamps: a connection lands on either worker, so an address misses a given worker
      with probability about 2 ** -sweeps (6 sweeps: under 2%).
    * Read every address's ceramic-cache score once, which scores it for the ceramic-cache
      community: in production the app reads a score that exists, so the mix's ceramic-cache reads
      should not all be first scores (each a transaction writing links and ten stamp rows)."""
    from concurrent.futures import ThreadPoolExecutor

    import jwt

    url = f"{base}/v2/stamps/{manifest['partner_community']}/score/"
    headers = {"X-API-KEY": manifest["api_key"]}
    sessions = [requests.Session() for _ in range(16)]

    def sweep(connection: int) -> None:
        # A keep-alive connection stays on one worker: rotate which connection asks for which
        # address between sweeps, so every address reaches every worker with high probability.
        for s in range(sweeps):
            for i in range(1, manifest["addresses"] + 1):
                if (i + 7 * s) % 16 == connection:
                    sessions[connection].get(url + "0x" + format(i, "040x"), headers=headers, timeout=30)

    def ceramic_scores(connection: int) -> None:
        now = int(time.time())
        for i in range(1 + connection, manifest["addresses"] + 1, 16):
            address = "0x" + format(i, "040x")
            token = jwt.encode({"did": f"did:pkh:eip155:1:{address}", "token_type": "access", "iat": now,
                                "exp": now + 3600, "jti": "bench-warm-up"}, JWT_SECRET, algorithm="HS256")
            sessions[connection].get(f"{base}/ceramic-cache/score/{address}",
                                     headers={"Authorization": f"Bearer {token}"}, timeout=30)

    with ThreadPoolExecutor(16) as executor:
        list(executor.map(sweep, range(16)))
        list(executor.map(ceramic_scores, range(16)))
    for session in sessions:
        session.close()


# --- report -------------------------------------------------------------------------------------

def table(headers: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--addresses", type=int, default=10_000)
    parser.add_argument("--stamps", type=int, default=10)
    parser.add_argument("--levels", type=int, nargs="+", default=[1, 16, 64])
    parser.add_argument("--seconds", type=int, default=30, help="per level and tool")
    parser.add_argument("--sweeps", type=int, default=6,
                        help="warm-up: requests for every seeded address, this many times (discarded)")
    parser.add_argument("--hot-set", type=int, default=10,
                        help="the hot-set level: wrk over this many addresses (0: none)")
    parser.add_argument("--hot-connections", type=int, default=16, help="connections of the hot-set level")
    parser.add_argument("--soak", type=int, default=0, help="seconds of v2 load at 16 connections, PSS sampled")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    args = parser.parse_args()
    require_wrk()
    OUT.mkdir(exist_ok=True)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    admin = server_dsn()
    dsn = create_database(admin)
    manifest_path = OUT / f"manifest-{stamp}.json"
    proc, vacuumer = None, None
    report = [f"# Benchmark {stamp}", "",
              f"{args.addresses} addresses x {args.stamps} stamps; levels {args.levels}; {args.seconds}s per "
              f"level and tool; warm-up {args.sweeps} sweeps. Machine: {os.cpu_count()} CPUs, "
              f"{platform_line()}.", ""]
    try:
        subprocess.run([sys.executable, str(ROOT / "bench" / "seed.py"), "--dsn", dsn, "--addresses",
                        str(args.addresses), "--stamps", str(args.stamps), "--out", str(manifest_path)], check=True)
        manifest = orjson.loads(manifest_path.read_bytes())
        soak_env = {"GUNICORN_MAX_REQUESTS": "0"} if args.soak else {}
        proc = start_gunicorn(dsn, manifest, soak_env)
        print(f"warming up: {args.sweeps} sweeps over every address (each worker's credential cache)",
              flush=True)
        warm_up(manifest, args.sweeps)
        vacuumer = Vacuumer(dsn)
        vacuumer.start()  # the warm-up's dead rows reclaimed, statistics fresh, before any measurement
        mix_rows: dict[str, list] = {}
        wrk_rows, pss_rows, cpu_rows, post_rows, hot_report = [], [], [], [], []
        for level in args.levels:
            before = worker_pss(proc.pid)
            stats = locust(manifest_path, level, args.seconds, OUT / f"locust-{stamp}-{level}")
            after = worker_pss(proc.pid)
            pss_rows.append([level, " ".join(f"{v:.1f}" for v in before.values()),
                             " ".join(f"{v:.1f}" for v in after.values())])
            for row in stats:
                mix_rows.setdefault(row["Name"], []).append(
                    [level, f"{float(row['Requests/s']):.1f}", row["50%"], row["95%"], row["99%"],
                     row["Failure Count"], row["Request Count"]])
            with WaitSampler(dsn) as waits:
                w = wrk(manifest, level, args.seconds)
            if level == args.hot_connections and args.hot_set:
                hot_report = hot_set(dsn, manifest, level, args.seconds, args.hot_set, w, waits)
            wrk_rows.append([level, f"{w['rps']:.1f}", f"{w['p50']:.1f}", f"{w['p90']:.1f}", f"{w['p99']:.1f}",
                             w["errors"]])
            cpu_rows.append([level] + [f"{w['cpu_ms'][k]:.2f}" for k in ("workers", "postgres", "wrk")])
            print(f"level {level}: done", flush=True)
        # The soak, then bulk POSTs alone: each POST writes ten new row versions, which the workers'
        # row caches take in and evict older rows for, so before a v2 run they turn its rows into misses.
        soak_report = soak(manifest, proc.pid, args.soak) if args.soak else []
        for level in args.levels:
            for row in locust(manifest_path, level, args.seconds, OUT / f"locust-{stamp}-{level}-post", tags="post"):
                if row["Name"] != "Aggregated":
                    post_rows.append([level, f"{float(row['Requests/s']):.1f}", row["50%"], row["95%"], row["99%"],
                                      row["Failure Count"], row["Request Count"]])
        ceiling = pgbench(dsn, manifest_path, args.levels, args.seconds)
        for name, rows in mix_rows.items():
            report += [f"## locust mix: {name}", "",
                       table(["connections", "req/s", "p50 ms", "p95 ms", "p99 ms", "errors", "requests"], rows), ""]
        report += ["## locust: bulk POST (10 stamps) alone, every user posting", "",
                   table(["connections", "req/s", "p50 ms", "p95 ms", "p99 ms", "errors", "requests"], post_rows), "",
                   "## wrk: v2 score only", "",
                   table(["connections", "req/s", "p50 ms", "p90 ms", "p99 ms", "errors", "pgbench ceiling req/s",
                          "share of ceiling"],
                         [row + [f"{ceiling.get(row[0], 0):.1f}",
                                 f"{float(row[1]) / ceiling[row[0]] * 100:.0f}%" if ceiling.get(row[0]) else "-"]
                          for row in wrk_rows]), "",
                   "## CPU per v2 request during the wrk runs (ms)", "",
                   "PostgreSQL includes its background processes and the analytics writes; on a shared "
                   "machine every figure also carries the cost of time-slicing.", "",
                   table(["connections", "gunicorn workers", "postgres", "wrk"], cpu_rows), "",
                   "## worker PSS (MB) around each locust level", "",
                   table(["connections", "before", "after"], pss_rows), ""]
        report += hot_report
        report += soak_report
    finally:
        if vacuumer is not None:
            vacuumer.stop()
            report.insert(3, f"Database: {vacuumer.describe()}.")
            report.insert(4, "")
        if proc is not None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=60)
        if not args.keep:
            drop_database(admin, dsn)
    text = "\n".join(report)
    (OUT / f"report-{stamp}.md").write_text(text)
    print(text)
    print(f"\nwritten to .bench/report-{stamp}.md")


def hot_set(dsn: str, manifest: dict, connections: int, seconds: int, addresses: int, spread: dict,
            spread_waits: WaitSampler) -> list[str]:
    """The hot-set level: wrk at ``connections`` over ``addresses`` addresses (each rescored by
    several requests at once), beside the run over every address just made at that level; both with
    what the database's backends waited for."""
    with WaitSampler(dsn) as waits:
        hot = wrk(manifest, connections, seconds, addresses=addresses)
    rows = [[f"all {manifest['addresses']}", f"{spread['rps']:.1f}", f"{spread['p50']:.1f}", f"{spread['p99']:.1f}",
             f"{spread['p99'] / spread['p50']:.1f}", spread["errors"],
             f"{spread['cpu_ms']['workers']:.2f} / {spread['cpu_ms']['postgres']:.2f}",
             f"{spread_waits.active_per_sample():.1f}", spread_waits.summary()],
            [f"hot {addresses}", f"{hot['rps']:.1f}", f"{hot['p50']:.1f}", f"{hot['p99']:.1f}",
             f"{hot['p99'] / hot['p50']:.1f}", hot["errors"],
             f"{hot['cpu_ms']['workers']:.2f} / {hot['cpu_ms']['postgres']:.2f}",
             f"{waits.active_per_sample():.1f}", waits.summary()]]
    return [f"## wrk: v2 score at {connections} connections, hot set against every address", "",
            table(["addresses", "req/s", "p50 ms", "p99 ms", "p99/p50", "errors", "CPU ms/req workers / postgres",
                   "active backends", "backend samples by wait event"], rows), "",
            f"Hot set: {hot['rps'] / spread['rps'] * 100:.0f}% of the throughput over every address, "
            f"p99 {hot['p99'] / spread['p99']:.2f}x its p99.", ""]


def soak(manifest: dict, master: int, seconds: int) -> list[str]:
    """v2 load at 16 connections for ``seconds``, PSS sampled every 30 s (worker recycling off)."""
    samples, rows, started = [], [], time.monotonic()
    while time.monotonic() - started < seconds:
        w = wrk(manifest, 16, min(30, int(seconds - (time.monotonic() - started)) or 1))
        pss = worker_pss(master)
        samples.append(pss)
        rows.append([f"{time.monotonic() - started:.0f}", f"{w['rps']:.1f}", f"{w['p99']:.1f}", w["errors"],
                     f"{w['cpu_ms']['workers']:.2f} / {w['cpu_ms']['postgres']:.2f}",
                     " ".join(f"{v:.1f}" for v in pss.values())])
    first = {pid: v for pid, v in samples[0].items()}
    growth = max((samples[-1][pid] - first[pid]) / first[pid] * 100 for pid in first if pid in samples[-1])
    return [f"## soak: v2 score at 16 connections for {seconds}s", "",
            table(["t (s)", "req/s", "p99 ms", "errors", "CPU ms/req (workers / postgres)", "worker PSS MB"],
                  rows), "",
            f"Largest worker PSS growth from the first to the last sample: {growth:.1f}%.", ""]


def platform_line() -> str:
    import platform

    return f"{platform.system()} {platform.release()}, Python {platform.python_version()}"


if __name__ == "__main__":
    main()
