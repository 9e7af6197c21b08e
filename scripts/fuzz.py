#!/usr/bin/env python3
"""Property-based fuzzing of the running service against its own OpenAPI document (schemathesis).

Creates a fresh database with the demo data of ``make run`` (real signed stamps, an API key),
serves it with the production gunicorn command (two workers), and runs schemathesis against
``/openapi.json`` with every security scheme authenticated (the partner key, the internal key, a
JWT of the demo address), in every phase (examples, coverage, fuzzing, stateful: the links of the
document feed a POST's stamps into a PATCH and a DELETE). Checks: no 5xx, every status and body as
documented, the right content type. The run's reports (JUnit XML, NDJSON events, the CLI output)
and a summary go to ``.fuzz/``; the exit status is schemathesis's, or 1 when fewer requests than
``--min-requests`` were made.

    make fuzz                                            # at least 10,000 requests
    .venv/bin/python scripts/fuzz.py --max-examples 20   # a short run (CI runs one from the tests)
"""
from __future__ import annotations

import argparse
import os
import pathlib
import secrets
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import orjson  # noqa: E402
import requests  # noqa: E402

from bench.run import create_database, drop_database, server_dsn  # noqa: E402
from scripts.dev_server import DEMO_ADDRESS, demo_issuer_key, demo_jwt, seed_demo  # noqa: E402

BIN = pathlib.Path(sys.executable).parent
CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(dsn: str, env: dict, port: int, log: pathlib.Path) -> subprocess.Popen:
    proc = subprocess.Popen([str(BIN / "python"), "-m", "web.serve"], cwd=ROOT,
                            env={**os.environ, **env, "DATABASE_URL": dsn, "PORT": str(port)},
                            stdout=log.open("wb"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/ready", timeout=1).status_code == 200:
                return proc
        except requests.RequestException:
            pass
        if proc.poll() is not None:
            break
        time.sleep(0.2)
    proc.kill()
    raise SystemExit(f"gunicorn did not become ready; see {log}")


def config_file(path: pathlib.Path, api_key: str, internal_key: str, token: str) -> None:
    path.write_text(
        "[auth.openapi.ApiKey]\n" f"api_key = {orjson.dumps(api_key).decode()}\n\n"
        "[auth.openapi.InternalKey]\n" f"api_key = {orjson.dumps(internal_key).decode()}\n\n"
        "[auth.openapi.Bearer]\n" f"bearer = {orjson.dumps(token).decode()}\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--max-examples", type=int, default=500, help="test cases per operation and phase")
    parser.add_argument("--min-requests", type=int, default=0, help="fail when fewer requests were made")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--workers", default="2")
    parser.add_argument("--out", type=pathlib.Path, default=ROOT / ".fuzz")
    args = parser.parse_args(argv)

    stamp = time.strftime("%Y%m%d-%H%M%S")
    out = args.out / stamp
    out.mkdir(parents=True, exist_ok=True)
    admin = server_dsn()
    dsn = create_database(admin)
    proc = None
    try:
        issuer_key = demo_issuer_key()
        demo = seed_demo(dsn, issuer_key)
        secret, internal_key = secrets.token_hex(24), secrets.token_hex(16)
        env = {"JWT_SECRET": secret, "INTERNAL_API_KEY": internal_key,
               "CERAMIC_CACHE_SCORER_ID": str(demo["community_id"]),
               "TRUSTED_IAM_ISSUERS": orjson.dumps([demo["issuer"]]).decode(),
               "WEB_CONCURRENCY": "2", "LOG_LEVEL": "INFO", "FF_API_ANALYTICS": "on",
               "GUNICORN_MAX_REQUESTS": "0"}
        port = free_port()
        log = out / "gunicorn.log"
        proc = serve(dsn, env, port, log)
        config = out / "schemathesis.toml"
        config_file(config, demo["api_key"], internal_key, demo_jwt(secret, DEMO_ADDRESS))
        command = [str(BIN / "schemathesis"), "--config-file", str(config), "run",
                   f"http://127.0.0.1:{port}/openapi.json", "--checks", CHECKS,
                   "--phases", "examples,coverage,fuzzing,stateful", "--max-examples", str(args.max_examples),
                   "--workers", args.workers, "--report", "junit,ndjson", "--report-dir", str(out),
                   "--no-color", "--generation-allow-x00", "true", "--request-timeout", "30"]
        if args.seed is not None:
            command += ["--seed", str(args.seed)]
        started = time.monotonic()
        with (out / "schemathesis.txt").open("wb") as output:
            status = subprocess.run(command, cwd=ROOT, stdout=output, stderr=subprocess.STDOUT).returncode
        elapsed = time.monotonic() - started
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=60)
        drop_database(admin, dsn)

    lines = log.read_bytes().splitlines()
    served = [orjson.loads(line) for line in lines if line.startswith(b"{") and b'"logger":"access"' in line]
    fuzzed = [r for r in served if r.get("route") not in ("/ready",)]
    by_status: dict[int, int] = {}
    for r in fuzzed:
        by_status[r["status"]] = by_status.get(r["status"], 0) + 1
    errors = [line.decode() for line in lines if b'"level":"ERROR"' in line]
    reports = out.relative_to(ROOT) if out.is_relative_to(ROOT) else out
    summary = (f"# Fuzz run {stamp}\n\n{len(fuzzed)} requests in {elapsed:.0f} s, schemathesis exit status {status}; "
               f"responses by status: {dict(sorted(by_status.items()))}; {len(errors)} error log lines.\n\n"
               f"Command: `{' '.join(command[1:])}`\n\nReports: {reports}"
               "/ (schemathesis.txt, junit.xml, events.ndjson, gunicorn.log)\n")
    (out / "summary.md").write_text(summary)
    tail = (out / "schemathesis.txt").read_text().splitlines()[-30:]
    print("\n".join(tail))
    print(summary)
    if status == 0 and len(fuzzed) < args.min_requests:
        print(f"only {len(fuzzed)} requests, fewer than {args.min_requests}")
        return 1
    return status


if __name__ == "__main__":
    raise SystemExit(main())
