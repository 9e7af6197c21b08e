"""The ceiling: pgbench replaying the exact SQL that v2 score requests execute.

Scores ``--samples`` random seeded addresses in-process through the real services (each once
before it is recorded, as after the load runs' warm-up) with a connection that records every
statement as sent (parameters interpolated, BEGIN and COMMIT where psycopg2 sends them), writes
one pgbench script per request, and runs pgbench with all of them at a given concurrency. The
result is what PostgreSQL alone can do for this workload on this machine.

With ``SCORE_MEMO_SIZE=0`` the recorded request is a full rescore (the read, then the persist),
what a worker answers for an address it does not remember.

Statements are recorded as plain SQL (``DB_PREPARED_STATEMENTS=false``): the ceiling of the
service without prepared statements; with them, PostgreSQL skips the parsing and most planning.

The service also writes an API analytics row per request, in batches (app/analytics.py). So the
replay also records one batch INSERT of ``--analytics-batch`` rows (default 100: a worker at ~450
requests/s queues ~90 in the writer's 0.2 s) and runs it once per that many requests (pgbench script
weights); requests/s counts the score scripts only. ``--analytics-batch 0`` leaves it out.

    python bench/pgbench_replay.py --dsn ... --manifest .bench/manifest.json --clients 16 --seconds 15
    python bench/pgbench_replay.py ... --clients 8 --per-round-trip   # and each round trip alone
"""
from __future__ import annotations

import argparse
import os
import pathlib
import random
import re
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import orjson  # noqa: E402
import psycopg2.extensions  # noqa: E402

from app import analytics  # noqa: E402
from app.config import load_config  # noqa: E402
from app.scoring.service import CommunityLookup  # noqa: E402
from bench.seed import address  # noqa: E402
from web.factory import build_services  # noqa: E402
from web.responses import v2_score  # noqa: E402


class RecordingConnection(psycopg2.extensions.connection):
    statements: list[str] = []

    def cursor(self, *args, **kwargs):
        kwargs.setdefault("cursor_factory", RecordingCursor)
        return super().cursor(*args, **kwargs)

    def commit(self):
        RecordingConnection.statements.append("COMMIT")
        return super().commit()


class RecordingCursor(psycopg2.extensions.cursor):
    def execute(self, query, vars=None):
        conn = self.connection
        if not conn.autocommit and conn.info.transaction_status == psycopg2.extensions.TRANSACTION_STATUS_IDLE:
            RecordingConnection.statements.append("BEGIN")
        RecordingConnection.statements.append(self.mogrify(query, vars).decode())
        return super().execute(query, vars)


def strip_comments(sql: str) -> str:
    """Drop ``--`` line comments outside string literals (pgbench joins lines; a comment would
    swallow the rest of the statement)."""
    out, i, quoted = [], 0, False
    while i < len(sql):
        ch = sql[i]
        if ch == "'":
            quoted = not quoted
        elif not quoted and sql.startswith("--", i):
            i = sql.find("\n", i)
            if i < 0:
                break
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def pgbench_script(statements: list[str]) -> str:
    """One pgbench command per round trip: statements sent together (``a; b``) stay together (\\;)."""
    return "\n".join(pgbench_commands(statements)) + "\n"


def pgbench_commands(statements: list[str]) -> list[str]:
    """The pgbench command of each round trip."""
    commands = []
    for statement in statements:
        statement = strip_comments(statement)
        parts = [p.strip() for p in re.split(r";\s*\n", statement.strip().rstrip(";")) if p.strip()]
        # pgbench reads ":name" as a variable; the SQL has none, so protect "::" casts.
        commands.append(" \\;\n".join(p.replace("\n", " ") for p in parts) + ";")
    return commands


def capture(env: dict, manifest: dict, samples: int, folder: pathlib.Path,
            analytics_batch: int = 0) -> tuple[list[pathlib.Path], pathlib.Path | None]:
    """The score scripts, and the analytics batch script (None when ``analytics_batch`` is 0)."""
    config = load_config(env)
    services = build_services(config)
    services.pool._connect_kwargs["connection_factory"] = RecordingConnection
    files, usage = [], []
    try:
        key = services.api_keys.authenticate(manifest["api_key"])
        lookup = CommunityLookup.for_account(str(manifest["partner_community"]), key.account_id)
        for n, i in enumerate(random.sample(range(1, manifest["addresses"] + 1), samples)):
            # Twice unrecorded, as the service has seen the address before (warm caches: the
            # steady-state request, as in the load runs after their warm-up): with the rescore memo
            # on, a remembered address's rescore, one statement (app/scoring/memo.py).
            for _ in range(2):
                services.scoring.score(address(i), lookup)
            RecordingConnection.statements = []
            key = services.api_keys.authenticate(manifest["api_key"])
            result = services.scoring.score(address(i), lookup)
            usage.append(analytics.usage_row(
                api_key_id=key.id, path=f"/v2/stamps/{manifest['partner_community']}/score/{address(i)}",
                status=200, headers={"Host": "127.0.0.1", "X-API-KEY": manifest["api_key"]}, query={},
                payload=None, response=orjson.dumps(v2_score(result.view()))))
            path = folder / f"score_{n:03d}.sql"
            path.write_text(pgbench_script(RecordingConnection.statements))
            files.append(path)
            for k, command in enumerate(pgbench_commands(RecordingConnection.statements)):
                (folder / "round_trips" / str(k)).mkdir(parents=True, exist_ok=True)
                (folder / "round_trips" / str(k) / f"score_{n:03d}.sql").write_text(command + "\n")
        batch_file = None
        if analytics_batch:
            RecordingConnection.statements = []
            analytics.write_batch(services.pool, [dict(usage[j % len(usage)]) for j in range(analytics_batch)])
            batch_file = folder / "analytics.sql"
            batch_file.write_text(pgbench_script(RecordingConnection.statements))
    finally:
        services.close()
    return files, batch_file


def run_pgbench(dsn: str, files: list[pathlib.Path], clients: int, seconds: int,
                batch_file: pathlib.Path | None = None, batch: int = 0) -> float:
    """Scripts run per second; with ``batch_file``, score scripts per second, the batch running
    once per ``batch`` of them."""
    args = ["pgbench", "-n", "-c", str(clients), "-j", str(min(clients, 2)), "-T", str(seconds), "-d", dsn]
    for f in files:
        args += ["-f", f"{f}@{batch}" if batch_file else str(f)]
    if batch_file:
        args += ["-f", f"{batch_file}@{len(files)}"]
    proc = subprocess.run(args, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"pgbench failed: {proc.stderr.strip()[-2000:]}")
    out = proc.stdout
    tps = float(re.search(r"tps = ([\d.]+)", out).group(1))
    return tps * batch / (batch + 1) if batch_file else tps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dsn", required=True)
    parser.add_argument("--manifest", required=True)
    parser.add_argument("--clients", type=int, nargs="+", default=[16])
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--samples", type=int, default=100, help="distinct requests replayed (<= 128)")
    parser.add_argument("--analytics-batch", type=int, default=100,
                        help="rows per analytics INSERT, run once per that many requests (0: none)")
    parser.add_argument("--per-round-trip", action="store_true",
                        help="also replay each round trip of the request on its own")
    args = parser.parse_args()
    manifest = orjson.loads(pathlib.Path(args.manifest).read_bytes())
    env = {**os.environ, "DATABASE_URL": args.dsn, "TRUSTED_IAM_ISSUERS": orjson.dumps([manifest["issuer"]]).decode(),
           "CERAMIC_CACHE_SCORER_ID": str(manifest["ceramic_community"]), "JWT_SECRET": "unused-in-replay",
           "INTERNAL_API_KEY": "unused-in-replay", "FF_API_ANALYTICS": "off",
           # A worker reads the key row once per API_KEY_CACHE_TTL (10 s): no steady request reads
           # it, and none of the recorded ones may, however long the capture takes.
           "API_KEY_CACHE_TTL": "3600",
           # Statements as plain SQL: a pgbench script has no session of its own to PREPARE in, so
           # this is the ceiling of the service with DB_PREPARED_STATEMENTS=false.
           "DB_PREPARED_STATEMENTS": "false"}
    with tempfile.TemporaryDirectory(prefix="pgbench-") as folder:
        files, batch_file = capture(env, manifest, min(args.samples, 128), pathlib.Path(folder),
                                    args.analytics_batch)
        what = (f"one v2 score request's SQL and 1/{args.analytics_batch} of an analytics INSERT of "
                f"{args.analytics_batch} rows" if batch_file else "one v2 score request's SQL")
        for clients in args.clients:
            rate = run_pgbench(args.dsn, files, clients, args.seconds, batch_file, args.analytics_batch)
            print(f"pgbench replay of {what}: {clients} clients: {rate:.1f} requests/s")
        if args.per_round_trip:
            # Each round trip of the request alone: its rate, and 1/rate x CPUs as its cost when
            # the clients saturate the CPUs.
            folders = sorted((pathlib.Path(folder) / "round_trips").iterdir(), key=lambda p: int(p.name))
            for k, trip in enumerate(folders):
                trip_files = sorted(trip.iterdir())
                rate = run_pgbench(args.dsn, trip_files, args.clients[-1], args.seconds)
                first = trip_files[0].read_text()
                print(f"  round trip {k + 1} ({len(trip_files)} scripts, {args.clients[-1]} clients): "
                      f"{rate:.1f}/s, ~{os.cpu_count() / rate * 1000:.2f} ms CPU: {first[:70].strip()}...")


if __name__ == "__main__":
    main()
