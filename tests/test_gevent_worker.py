"""Cooperative I/O on the production server set-up: gunicorn + one gevent worker + psycogreen."""
import concurrent.futures
import os
import pathlib
import socket
import subprocess
import sys
import time

import pytest
import requests

from tests.conftest import BASE_ENV

ROOT = pathlib.Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def gunicorn_server(database_url):
    port = free_port()
    env = {**os.environ, **BASE_ENV, "DATABASE_URL": database_url, "PORT": str(port),
           "WEB_CONCURRENCY": "1", "DB_POOL_SIZE": "20", "DB_POOL_TIMEOUT": "5", "LOG_LEVEL": "WARNING"}
    gunicorn = pathlib.Path(sys.executable).with_name("gunicorn")
    proc = subprocess.Popen([str(gunicorn), "-c", "gunicorn.conf.py", "tests.gevent_app:application"],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if requests.get(base + "/ready", timeout=1).status_code == 200:
                break
        except requests.ConnectionError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError("gunicorn did not start:\n" + proc.stdout.read().decode())
        time.sleep(0.1)
    yield base
    proc.terminate()
    proc.wait(timeout=30)


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
    assert resp.status_code == 404 and resp.json() == {"detail": "Not Found"}
