"""Prometheus metrics: what each family counts (in-process, the process's own registry), and the
production command's master serving the sum over its workers, alive and dead."""
from __future__ import annotations

import concurrent.futures
import os
import pathlib
import signal
import subprocess
import sys
import threading
import time

import psycopg2
import pytest
import requests
import webtest
from prometheus_client import REGISTRY
from prometheus_client.mmap_dict import MmapedDict
from prometheus_client.parser import text_string_to_metric_families

from app.analytics import UsageRecorder, usage_row
from app.conflicts import retry_on_conflict
from app.metrics import Tally
from app.rate_limits import RateLimited, RateLimiter
from app.scoring.service import ScoringContention
from db.pool import DatabaseUnavailable, Pool, PoolTimeout, TransactionConflict
from tests.conftest import BASE_ENV
from tests.servers import PRODUCTION_APP, ROOT, command, free_port, gunicorn_server
from tests.test_ceramic_cache import bearer
from tests.world import new_address


def value(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


class Delta:
    """The change of a sample over a block: ``with Delta("x_total", a="b") as d: ...; d.value``."""

    def __init__(self, name: str, **labels):
        self.name, self.labels = name, labels

    def __enter__(self):
        self.before = value(self.name, **self.labels)
        return self

    def __exit__(self, *exc):
        self.value = value(self.name, **self.labels) - self.before


# -- HTTP ------------------------------------------------------------------------------------------

def test_requests_are_counted_by_route_template_method_and_status(make_app, world):
    community = world.community({"Google": 1}, "1")
    _, key = world.api_key(world.account_of(community))
    _, app = make_app()
    api = webtest.TestApp(app)
    route = "/v2/stamps/{scorer_id}/score/{address}"
    with (Delta("scorer_http_requests_total", route=route, method="GET", status="200") as ok,
          Delta("scorer_http_requests_total", route=route, method="GET", status="401") as refused,
          Delta("scorer_http_request_duration_seconds_count", route=route, method="GET") as timed,
          Delta("scorer_http_requests_total", route="unrouted", method="GET", status="404") as unrouted,
          Delta("scorer_http_requests_total", route="unrouted", method="OTHER", status="404") as odd):
        for _ in range(3):
            api.get(f"/v2/stamps/{community}/score/{new_address()}", headers={"X-API-KEY": key})
        api.get(f"/v2/stamps/{community}/score/{new_address()}", status=401)
        api.get("/no/such/" + new_address(), status=404)
        api.request("/nowhere", method="TRACE", status=404)
    assert (ok.value, refused.value, timed.value, unrouted.value, odd.value) == (3, 1, 4, 1, 1)


# -- the pool --------------------------------------------------------------------------------------

def test_the_pool_counts_waiters_timeouts_and_acquire_time(database_url):
    pool = Pool(database_url, size=1, acquire_timeout=0.2)
    try:
        waiting = []
        with (Delta("scorer_db_pool_acquire_timeouts_total") as timeouts,
              Delta("scorer_db_pool_acquire_seconds_count") as acquired,
              Delta("scorer_db_pool_connections_in_use") as in_use):
            with pool.connection():
                held_in_use = value("scorer_db_pool_connections_in_use") - in_use.before
                watcher = threading.Thread(target=lambda: (time.sleep(0.1),
                                                           waiting.append(value("scorer_db_pool_waiting"))))
                watcher.start()
                with pytest.raises(PoolTimeout):
                    with pool.connection():
                        pass
                watcher.join()
            pool.ping()
        assert (timeouts.value, acquired.value, held_in_use, in_use.value) == (1, 2, 1, 0)
        assert waiting[0] >= 1 and value("scorer_db_pool_waiting") == 0
    finally:
        pool.close()


def test_the_pool_counts_its_size_and_connections_opened_and_discarded(database_url):
    with Delta("scorer_db_pool_size") as size:
        pool = Pool(database_url, size=3)
    try:
        assert size.value == 3
        with (Delta("scorer_db_connections_opened_total") as opened,
              Delta("scorer_db_connections_discarded_total", reason="broken") as broken):
            with pool.cursor() as cur:
                cur.execute("SELECT pg_backend_pid()")
                victim = cur.fetchone()[0]
            admin = psycopg2.connect(database_url)
            admin.autocommit = True
            with admin.cursor() as cur:
                cur.execute("SELECT pg_terminate_backend(%s)", (victim,))
            admin.close()
            time.sleep(0.1)
            with pytest.raises(DatabaseUnavailable):
                pool.ping()
            pool.ping()
        assert (opened.value, broken.value) == (2, 1)
    finally:
        with Delta("scorer_db_pool_size") as closed:
            pool.close()
        assert closed.value == -3


# -- credentials, retries, rate limits, analytics -------------------------------------------------

def test_credential_checks_are_counted_by_verdict_and_verdicts_served_from_the_cache(make_app, world):
    community = world.community({"Google": 1, "Github": 1}, "1")
    _, key = world.api_key(world.account_of(community))
    address = new_address()
    world.stamp(address, "Google")
    world.cache(address, world.credential(new_address(), "Github"))  # another address's stamp
    _, app = make_app()
    api = webtest.TestApp(app)
    with (Delta("scorer_credential_checks_total", result="valid", reason="") as valid,
          Delta("scorer_credential_checks_total", result="invalid", reason="subject mismatch") as mismatch,
          Delta("scorer_credential_cache_lookups_total", cache="row", result="miss") as misses,
          Delta("scorer_credential_cache_lookups_total", cache="row", result="hit") as hits,
          Delta("scorer_rescore_memo_total", outcome="hit") as remembered):
        for _ in range(3):
            api.get(f"/v2/stamps/{community}/score/{address}", headers={"X-API-KEY": key})
    # the first score verifies both rows, the second finds them known, the third is a remembered
    # rescore (app/scoring/memo.py), which looks no row up
    assert (valid.value, mismatch.value, misses.value, hits.value, remembered.value) == (1, 1, 2, 2, 1)


def test_a_bulk_writes_verdicts_are_counted_once_per_stamp_whether_its_proof_was_known_or_not(make_app, world):
    community = world.community({"Google": 1, "Github": 1, "Twitter": 1}, "1")
    _, app = make_app(CERAMIC_CACHE_SCORER_ID=community)
    api = webtest.TestApp(app)
    address = new_address()
    body = [{"provider": p, "stamp": world.credential(address, p)} for p in ("Google", "Github", "Twitter")]
    body.append({"provider": "Discord", "stamp": world.credential(new_address(), "Discord")})  # not the token's
    with (Delta("scorer_credential_checks_total", result="valid", reason="") as valid,
          Delta("scorer_credential_checks_total", result="invalid", reason="subject mismatch") as mismatch,
          Delta("scorer_credential_cache_lookups_total", cache="proof", result="miss") as checked,
          Delta("scorer_credential_cache_lookups_total", cache="proof", result="hit") as known):
        for _ in range(2):  # the second post writes new rows of the same texts: proofs known
            api.post_json("/ceramic-cache/stamps/bulk", body, headers=bearer(address), status=201)
    assert (valid.value, mismatch.value, checked.value, known.value) == (6, 2, 3, 3)


def test_a_tally_adds_each_counters_increments_once_and_starts_again_empty():
    class Counter:
        def __init__(self):
            self.calls = []

        def inc(self, amount=1):
            self.calls.append(amount)

    a, b, tally = Counter(), Counter(), Tally()
    for counter in (a, b, a, a):
        tally.inc(counter)
    assert (a.calls, b.calls) == ([], [])
    tally.add()
    tally.add()  # nothing left to add
    assert (a.calls, b.calls) == ([3], [1])


def test_retried_and_abandoned_transactions_are_counted():
    attempts = []

    def conflicting_once():
        attempts.append(1)
        if len(attempts) == 1:
            raise TransactionConflict("deadlock detected")
        return "done"

    def always_conflicting():
        raise TransactionConflict("deadlock detected")

    with (Delta("scorer_transaction_retries_total", cause="conflict") as retried,
          Delta("scorer_transaction_contention_failures_total") as failed):
        assert retry_on_conflict(conflicting_once) == "done"
        with pytest.raises(ScoringContention):
            retry_on_conflict(always_conflicting)
    assert (retried.value, failed.value) == (1 + 2, 1)


def test_rate_limit_decisions_and_redis_failures_are_counted(redis_server):
    import redis

    limiter = RateLimiter(redis.Redis.from_url(redis_server.url), "limited", backoff=60)
    dead = RateLimiter(redis.Redis(host="127.0.0.1", port=free_port(), socket_timeout=0.05,
                                   socket_connect_timeout=0.05), "limited", backoff=60)
    prefix = new_address()[:10]
    with (Delta("scorer_rate_limit_decisions_total", decision="allowed") as allowed,
          Delta("scorer_rate_limit_decisions_total", decision="limited") as limited,
          Delta("scorer_rate_limit_decisions_total", decision="skipped") as skipped,
          Delta("scorer_rate_limit_redis_failures_total") as failures):
        for _ in range(2):
            limiter.check(prefix, "2/m")
        with pytest.raises(RateLimited):
            limiter.check(prefix, "2/m")
        dead.check(prefix, "2/m")  # fails: skipped, then skipped without asking for the backoff
        dead.check(prefix, "2/m")
    limiter.close()
    dead.close()
    assert (allowed.value, limited.value, skipped.value, failures.value) == (2, 1, 2, 1)


def test_analytics_rows_queued_written_and_dropped_are_counted(database_url, world):
    key_id, _ = world.api_key(world.account())
    row = usage_row(api_key_id=key_id, path="/v2/stamps/1/score/0xabc", status=200, headers={}, query={},
                    payload=None, response=b"{}")
    pool = Pool(database_url, size=1)
    broken = Pool("postgresql://nobody@127.0.0.1:1/none", size=1, connect_timeout=0.5)
    try:
        with (Delta("scorer_analytics_rows_total", outcome="queued") as queued,
              Delta("scorer_analytics_rows_total", outcome="written") as written,
              Delta("scorer_analytics_rows_total", outcome="dropped") as dropped):
            recorder, failing = UsageRecorder(pool, max_delay=0), UsageRecorder(broken, max_delay=0)
            full = UsageRecorder(pool, max_queue=1, max_delay=0)
            full._start = lambda: None  # no writer: the queue stays full
            for _ in range(3):
                recorder.record(dict(row))
            failing.record(dict(row))
            full.record(dict(row))
            full.record(dict(row))
            assert recorder.flush() and failing.flush()
        assert (queued.value, written.value, dropped.value) == (3 + 1 + 1, 3, 1 + 1)
    finally:
        pool.close()
        broken.close()


# -- the production command ------------------------------------------------------------------------

def scrape(port: int) -> dict[tuple, float]:
    text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


def sample(samples: dict, name: str, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def wait_for(condition, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def health_counts_by_worker(directory: pathlib.Path) -> dict[str, float]:
    """The /health count in each worker's own file (and the archive of the dead ones)."""
    counts = {}
    for path in directory.glob("counter_*.db"):
        for key, count, _, _ in MmapedDict.read_all_values_from_file(str(path)):
            if '"scorer_http_requests_total"' in key and '"/health"' in key:
                counts[path.stem.split("_", 1)[1]] = count
    return counts


@pytest.mark.slow
def test_the_master_serves_the_sum_over_its_workers_alive_and_dead(database_url, world, tmp_path):
    community = world.community({"Google": 1}, "1")
    _, key = world.api_key(world.account_of(community))
    address = new_address()
    world.stamp(address, "Google")
    port = free_port()
    health = dict(name="scorer_http_requests_total", route="/health", method="GET", status="200")
    with gunicorn_server(database_url, "web.wsgi:application", WEB_CONCURRENCY=2, METRICS_PORT=port,
                         TMPDIR=tmp_path) as server:
        wait_for(lambda: sample(scrape(port), "scorer_db_pool_size") == 2 * int(BASE_ENV["DB_POOL_SIZE"]))
        directory = next(tmp_path.glob("scorer-metrics-*"))
        sent = 0
        with concurrent.futures.ThreadPoolExecutor(max_workers=16) as threads:
            # fresh connections, many at once, until both workers have answered some
            while sent < 2000 and len([n for n in health_counts_by_worker(directory).values() if n]) < 2:
                assert all(s == 200 for s in threads.map(
                    lambda _: requests.get(server.base + "/health", timeout=10).status_code, range(40)))
                sent += 40
        assert len([n for n in health_counts_by_worker(directory).values() if n]) == 2
        score = requests.get(f"{server.base}/v2/stamps/{community}/score/{address}",
                             headers={"X-API-KEY": key}, timeout=10)
        assert score.status_code == 200 and score.json()["score"] == "1.00000"
        samples = scrape(port)
        assert sample(samples, **health) == sent
        assert sample(samples, "scorer_credential_checks_total", result="valid", reason="") == 1
        assert sample(samples, "scorer_credential_cache_lookups_total", cache="row", result="miss") == 1
        assert sample(samples, "scorer_db_pool_acquire_seconds_count") >= 2
        assert sample(samples, "scorer_db_connections_opened_total") >= 1  # reused by the second acquire
        assert sample(samples, "scorer_db_pool_connections_in_use") == 0
        assert sample(samples, "scorer_http_request_duration_seconds_bucket", route="/health", method="GET",
                      le="+Inf") == sent
        assert sample(samples, "scorer_worker_restarts_total") == 0

        # A worker dies: the new one starts from zero, and nothing the dead one counted is lost.
        victim = server.workers()[0]
        os.kill(victim, signal.SIGKILL)
        wait_for(lambda: sample(scrape(port), "scorer_worker_restarts_total") == 1
                 and sample(scrape(port), "scorer_db_pool_size") == 2 * int(BASE_ENV["DB_POOL_SIZE"]))
        for _ in range(10):
            assert requests.get(server.base + "/health", timeout=10).status_code == 200
        samples = scrape(port)
        assert sample(samples, **health) == sent + 10
        assert sample(samples, "scorer_credential_checks_total", result="valid", reason="") == 1
        # the dead worker's counters are in the archive, its file gone
        files = sorted(p.name for p in directory.glob("counter_*.db"))
        assert "counter_archive.db" in files and f"counter_{victim}.db" not in files


@pytest.mark.slow
def test_metrics_off_serve_nothing_and_write_no_files(database_url, tmp_path):
    port = free_port()
    with gunicorn_server(database_url, "web.wsgi:application", METRICS_PORT=0, TMPDIR=tmp_path) as server:
        assert requests.get(server.base + "/health", timeout=5).status_code == 200
        with pytest.raises(requests.ConnectionError):
            requests.get(f"http://127.0.0.1:{port}/metrics", timeout=2)
    assert not list(tmp_path.glob("scorer-metrics-*"))


@pytest.mark.slow
def test_a_metrics_port_in_use_is_logged_and_the_service_runs_on(database_url):
    import socket

    with socket.socket() as taken:
        taken.bind(("0.0.0.0", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with gunicorn_server(database_url, "web.wsgi:application", METRICS_PORT=port, LOG_LEVEL="INFO") as server:
            assert requests.get(server.base + "/health", timeout=5).status_code == 200
            assert f"metrics not served: cannot listen on port {port}" in server.log.read_text()


@pytest.mark.parametrize("name, raw", [("WEB_CONCURRENCY", "two"), ("METRICS_PORT", "70000"),
                                       ("WORKER_CONNECTIONS", "0"), ("GUNICORN_MAX_REQUESTS", "-1")])
def test_a_bad_process_setting_stops_gunicorn_with_one_line_and_status_78(database_url, name, raw):
    env = {**os.environ, **BASE_ENV, "DATABASE_URL": database_url, "PORT": str(free_port()), name: raw}
    done = subprocess.run(command(PRODUCTION_APP), cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 78
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("configuration error: ") and name in lines[0]


REMEMBERED_PID_SCRIPT = """
import os, tempfile
folder = tempfile.mkdtemp()
os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder
import web.metrics
web.metrics.remember_pid()
from prometheus_client import CollectorRegistry, Counter, multiprocess
counter = Counter("remembered_total", "a test counter")
counter.inc()
child = os.fork()
if child == 0:  # the pid remembered at the fork names this process's file
    counter.inc(2)
    os._exit(0)
os.waitpid(child, 0)
other = os.fork()
if other == 0:  # writes take the remembered pid, not the kernel's
    web.metrics._pid = 424242
    counter.inc(4)
    os._exit(0)
os.waitpid(other, 0)
registry = CollectorRegistry()
multiprocess.MultiProcessCollector(registry, path=folder)
files = sorted(f"counter_{pid}.db" for pid in (os.getpid(), child, 424242))
print(sorted(os.listdir(folder)) == files, registry.get_sample_value("remembered_total"))
"""


NATIVE_LOCK_SCRIPT = """
import os, tempfile
from gevent import monkey
monkey.patch_all()
os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp()
import threading
import gevent
import web.metrics
from prometheus_client import values
web.metrics.remember_pid()
from prometheus_client import Counter
counter = Counter("locked_total", "a test counter")
# the lock MultiProcessValue made, which every value's write takes
[lock] = [c.cell_contents for c in values.ValueClass.inc.__closure__ if hasattr(c.cell_contents, "acquire")]
gevent.joinall([gevent.spawn(lambda: [counter.inc() for _ in range(1000)]) for _ in range(4)])
print(type(lock).__module__, type(threading.Lock()).__module__, values.Lock is threading.Lock,
      counter._value.get())
"""


def test_metric_writes_take_an_os_lock_under_gevent_and_the_library_keeps_its_own():
    """remember_pid gives prometheus-client's writes the OS lock gevent's patching replaced (no
    write can yield to another greenlet while it holds it), and leaves the library's name bound
    to the patched lock for anything created later."""
    out = subprocess.run([sys.executable, "-c", NATIVE_LOCK_SCRIPT], cwd=ROOT, capture_output=True,
                         text=True, timeout=60, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.stdout.split() == ["_thread", "gevent.thread", "True", "4000.0"], out.stderr


def test_metric_writes_name_the_process_by_the_pid_remembered_at_its_fork():
    """gunicorn's workers call remember_pid (web/metrics.py): a write takes the pid remembered at
    the process's fork instead of asking the kernel, and a forked process still writes a file of its
    own, so the sum stays right."""
    out = subprocess.run([sys.executable, "-c", REMEMBERED_PID_SCRIPT], cwd=ROOT, capture_output=True,
                         text=True, timeout=60, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.stdout.split() == ["True", "7.0"], out.stderr
