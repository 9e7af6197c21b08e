"""Cooperative I/O on the production server set-up: gunicorn + one gevent worker + psycogreen."""
import concurrent.futures
import time

import pytest
import requests

from tests.errors import error
from tests.servers import gunicorn

pytestmark = pytest.mark.slow


@pytest.fixture
def gunicorn_server(database_url):
    with gunicorn(database_url, DB_POOL_SIZE=20, DB_POOL_TIMEOUT=5) as base:
        yield base


def test_twenty_concurrent_pg_sleeps_overlap_on_one_worker(gunicorn_server):
    url = gunicorn_server + "/test/pg-sleep?seconds=0.5"
    with concurrent.futures.ThreadPoolExecutor(max_workers=20) as executor:
        started = time.monotonic()
        statuses = list(executor.map(lambda _: requests.get(url, timeout=30).status_code, range(20)))
        elapsed = time.monotonic() - started
    assert statuses == [200] * 20
    # Serialized, 20 x 0.5 s = 10 s. Cooperative, they overlap: about 0.5 s plus overhead.
    assert elapsed < 3.0, f"20 requests took {elapsed:.2f}s: the worker is not yielding on I/O"


def test_health_and_errors_through_gunicorn(gunicorn_server):
    resp = requests.get(gunicorn_server + "/health", timeout=5)
    assert resp.json() == {"status": "ok"} and resp.headers["X-Request-ID"]
    resp = requests.get(gunicorn_server + "/nowhere", timeout=5)
    assert resp.status_code == 404 and resp.json() == error("Not Found")


def test_keep_alive_connections_are_closed_after_the_configured_number_of_requests(database_url):
    """GUNICORN_KEEPALIVE_REQUESTS: the Nth request on a connection is answered with
    "Connection: close" and the server closes it, so clients reconnect (and rebalance)."""
    with gunicorn(database_url, GUNICORN_KEEPALIVE_REQUESTS=3) as base:
        with requests.Session() as session:
            headers = [session.get(base + "/health", timeout=5).headers.get("Connection") for _ in range(7)]
    assert headers == ["keep-alive", "keep-alive", "close"] * 2 + ["keep-alive"]


def test_no_per_connection_limit_when_set_to_zero(database_url):
    with gunicorn(database_url, GUNICORN_KEEPALIVE_REQUESTS=0) as base:
        with requests.Session() as session:
            headers = {session.get(base + "/health", timeout=5).headers.get("Connection") for _ in range(120)}
    assert headers == {"keep-alive"}


def test_a_held_refusal_holds_only_its_own_connection(database_url):
    """A refusal held at the door (web/shedding.py) sleeps cooperatively: while one connection
    waits for its held 503, the worker answers others at once."""
    path = "/v2/stamps/1/score/0x" + "ab" * 20
    with gunicorn(database_url, TEST_DOOR_REFUSES="1") as base:
        with requests.Session() as pushy, requests.Session() as other:
            assert pushy.get(base + path, timeout=5).status_code == 503  # the first: at once
            with concurrent.futures.ThreadPoolExecutor(max_workers=1) as executor:
                started = time.monotonic()
                held = executor.submit(lambda: pushy.get(base + path, timeout=5))  # asked again at once
                time.sleep(0.2)
                during = []
                for url in (base + "/health", base + path):
                    t = time.monotonic()
                    during.append((other.get(url, timeout=5).status_code, time.monotonic() - t))
                resp = held.result()
                held_for = time.monotonic() - started
    assert resp.status_code == 503 and resp.headers["Retry-After"] == "1"
    assert held_for >= 0.9, f"the second refusal came after {held_for:.2f}s: not held"
    assert [status for status, _ in during] == [200, 503]
    assert all(seconds < 0.5 for _, seconds in during), f"the worker stalled during a held refusal: {during}"
