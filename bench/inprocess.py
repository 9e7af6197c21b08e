"""CPU per request of the application itself: no HTTP server, no load generator, no time-slicing.

Seeds a fresh database (as ``make bench`` does, smaller by default), then calls the WSGI app
directly, in this process, under gevent with psycopg2 made cooperative as in a gunicorn worker, from
``--greenlets`` concurrent callers. Every address is scored once to warm the caches; then the
addresses are scored again in a fixed order, three times, and the best pass's CPU per request is
printed. The access log is written (to /dev/null), analytics are on: the production settings.

This is the steady instrument for changes to the request path: a wrk run on a 2-CPU machine varies
by +-10% between runs, this by a few percent. ``make bench`` remains the measure of the service.

    python bench/inprocess.py [--addresses 3000] [--requests 3000] [--greenlets 1] [--endpoint v2]
                              [--profile FILE]   # then: python -m pstats FILE
                              [--instructions]

``--instructions`` counts instead of timing: the script runs itself under valgrind's callgrind,
which counts the instructions this process executes during the measured passes only (seeding,
imports and the warm-up pass run uninstrumented). A count does not depend on what else the machine
is doing, so two versions of the code can be compared to a percent on a machine whose speed varies
by a third within the hour; it is about 50 times slower, so a few hundred requests are enough.
It counts this process's instructions only (not PostgreSQL's, not the kernel's), and an
instruction of a system call is not its cost: use it to compare changes of the application's code.

``--endpoint post`` measures the bulk POST of 10 stamps instead (JWT, body parsing, verification of
the new rows, the write transaction and the rescore), cycling through 200 seeded POST payloads; a
re-post replaces the address's live stamps, as a client refreshing its stamps does. Its figures are
CPU of this process only: PostgreSQL's share of a write is larger than the app's (docs/benchmarks.md).
"""
from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import contextlib  # noqa: E402
import io  # noqa: E402
import os  # noqa: E402
import pathlib  # noqa: E402
import re  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

from psycogreen.gevent import patch_psycopg  # noqa: E402

patch_psycopg()

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import gevent  # noqa: E402
import jwt  # noqa: E402
import orjson  # noqa: E402

from bench.run import INTERNAL_KEY, JWT_SECRET, create_database, drop_database, server_dsn  # noqa: E402


def environ(method: str, path: str, headers: dict[str, str], body: bytes = b"") -> dict:
    env = {"REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": "", "SERVER_NAME": "bench",
           "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1", "wsgi.url_scheme": "http",
           "wsgi.input": io.BytesIO(body), "wsgi.errors": sys.stderr}
    if body:
        env.update({"CONTENT_LENGTH": str(len(body)), "CONTENT_TYPE": "application/json"})
    env.update({"HTTP_" + k.upper().replace("-", "_"): v for k, v in headers.items()})
    return env


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--addresses", type=int, default=3000)
    parser.add_argument("--requests", type=int, default=3000, help="requests per measured pass")
    parser.add_argument("--greenlets", type=int, default=1, help="concurrent callers")
    parser.add_argument("--endpoint", choices=["v2", "embed", "post"], default="v2")
    parser.add_argument("--profile", type=pathlib.Path, metavar="FILE",
                        help="profile the measured passes (cProfile, CPU time) into FILE (pstats)")
    parser.add_argument("--instructions", action="store_true",
                        help="count the measured passes' instructions under valgrind instead of timing them")
    args = parser.parse_args()
    if args.instructions and not os.environ.get(UNDER_CALLGRIND):
        count_instructions(args)
        return

    admin = server_dsn()
    dsn = create_database(admin)
    try:
        with tempfile.TemporaryDirectory(prefix="bench-inprocess-") as folder:
            manifest_path = pathlib.Path(folder) / "manifest.json"
            subprocess.run([sys.executable, str(ROOT / "bench" / "seed.py"), "--dsn", dsn, "--addresses",
                            str(args.addresses), "--post-addresses", "200" if args.endpoint == "post" else "1",
                            "--out", str(manifest_path)],
                           check=True, stdout=subprocess.DEVNULL)
            manifest = orjson.loads(manifest_path.read_bytes())
        measure(dsn, manifest, args)
    finally:
        drop_database(admin, dsn)


def measure(dsn: str, manifest: dict, args) -> None:
    os.environ.update({"DATABASE_URL": dsn, "JWT_SECRET": JWT_SECRET, "INTERNAL_API_KEY": INTERNAL_KEY,
                       "CERAMIC_CACHE_SCORER_ID": str(manifest["ceramic_community"]),
                       "TRUSTED_IAM_ISSUERS": orjson.dumps([manifest["issuer"]]).decode()})
    real_stdout = sys.stdout
    sys.stdout = open(os.devnull, "w")  # the JSON log lines are produced and written, not shown
    from web.wsgi import application, services

    scorer, count = manifest["partner_community"], manifest["addresses"]
    if args.endpoint == "v2":
        path, headers = f"/v2/stamps/{scorer}/score/", {"X-API-KEY": manifest["api_key"]}
    else:
        path, headers = f"/internal/embed/score/{scorer}/", {"Authorization": INTERNAL_KEY}
    posts = [environ_args_for_post(address, entries) for address, entries in manifest["post_payloads"].items()]
    if args.endpoint == "post":
        count = len(posts)

    def start_response(status, response_headers, exc_info=None):
        if not status.startswith(("200", "201")):
            raise SystemExit(f"unexpected {status}")

    def request(i: int) -> dict:
        if args.endpoint == "post":
            post_headers, body = posts[i % count]
            return environ("POST", "/ceramic-cache/stamps/bulk", post_headers, body)
        return environ("GET", path + "0x" + format(i % count + 1, "040x"), headers)

    def serve(indexes) -> None:
        for i in indexes:
            b"".join(application(request(i), start_response))

    def one_pass(total: int) -> tuple[float, float]:
        started, cpu = time.perf_counter(), time.process_time()
        gevent.joinall([gevent.spawn(serve, range(g, total, args.greenlets)) for g in range(args.greenlets)],
                       raise_error=True)
        return (time.process_time() - cpu) / total * 1000, (time.perf_counter() - started) / total * 1000

    one_pass(count)  # every address once: proof cache, scorer config, connections
    counting = bool(os.environ.get(UNDER_CALLGRIND))
    with observed(args.profile, counting):
        passes = [one_pass(args.requests) for _ in range(3)]
    if counting:
        services.close()
        return  # the parent reads the count
    services.usage.flush()
    cpu, wall = min(passes)
    sys.stdout = real_stdout
    what = "bulk POST of 10 stamps" if args.endpoint == "post" else f"{args.endpoint} score"
    print(f"{what}, {count} addresses x 10 stamps, {args.greenlets} greenlet(s): "
          f"{cpu:.3f} ms CPU per request (best of 3 passes of {args.requests}; "
          f"others {', '.join(f'{c:.3f}' for c, _ in sorted(passes)[1:])}), {wall:.2f} ms wall")
    services.close()


UNDER_CALLGRIND = "BENCH_INPROCESS_UNDER_CALLGRIND"


@contextlib.contextmanager
def observed(profile: pathlib.Path | None, counting: bool):
    """The measured passes, profiled into ``profile`` (cProfile) or counted by callgrind."""
    if counting:
        callgrind_instrumentation("on")
        try:
            yield
        finally:
            callgrind_instrumentation("off")
        return
    if profile is None:
        yield
        return
    import cProfile

    # CPU time, not wall time: under gevent a statement's wall time includes the database's.
    profiler = cProfile.Profile(time.process_time)
    profiler.enable()
    try:
        yield
    finally:
        profiler.disable()
        profiler.dump_stats(str(profile))


def count_instructions(args) -> None:
    """Run this script again under callgrind, instrumented only during the measured passes, and
    print the instructions per request."""
    argv = [a for a in sys.argv[1:] if a != "--instructions"]
    with tempfile.TemporaryDirectory(prefix="bench-callgrind-") as folder:
        out = pathlib.Path(folder) / "callgrind.out"
        subprocess.run(["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}",
                        "--log-file=" + str(pathlib.Path(folder) / "valgrind.log"),
                        sys.executable, str(pathlib.Path(__file__).resolve()), *argv],
                       check=True, env={**os.environ, UNDER_CALLGRIND: "1"})
        totals = re.search(r"^totals: (\d+)", out.read_text(), re.MULTILINE)
    if totals is None:
        raise SystemExit("callgrind wrote no totals")
    requests = 3 * args.requests
    what = "bulk POST of 10 stamps" if args.endpoint == "post" else f"{args.endpoint} score"
    print(f"{what}, {args.greenlets} greenlet(s): {int(totals.group(1)) / requests / 1e6:.3f} million "
          f"instructions per request (callgrind, {requests} requests)")


def callgrind_instrumentation(state: str) -> None:
    """Switch callgrind's instrumentation of this process on or off (it waits for the answer)."""
    answer = subprocess.run(["callgrind_control", "--instr=" + state, str(os.getpid())], capture_output=True,
                            text=True)
    if answer.returncode != 0:
        raise SystemExit(f"callgrind_control failed: {answer.stdout}{answer.stderr}")


def environ_args_for_post(address: str, entries: list) -> tuple[dict[str, str], bytes]:
    """Headers (a JWT for ``address``, valid for a day) and body of one bulk POST."""
    now = int(time.time())
    token = jwt.encode({"did": f"did:pkh:eip155:1:{address}", "token_type": "access", "iat": now,
                        "exp": now + 86400, "jti": "bench"}, JWT_SECRET, algorithm="HS256")
    return {"Authorization": f"Bearer {token}"}, orjson.dumps(entries)


if __name__ == "__main__":
    main()
