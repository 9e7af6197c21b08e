"""Start the service under real gunicorn (production config) for tests that need real processes."""
from __future__ import annotations

import contextlib
import os
import pathlib
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass

import requests

from tests.conftest import BASE_ENV

ROOT = pathlib.Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    base: str      # http://127.0.0.1:<port>
    master: int    # the gunicorn master's pid
    log: pathlib.Path

    def workers(self) -> list[int]:
        """The pids of the master's worker processes."""
        children = pathlib.Path(f"/proc/{self.master}/task/{self.master}/children").read_text()
        return [int(pid) for pid in children.split()]


PRODUCTION_APP = "web.wsgi:application"


def command(app: str) -> list[str]:
    """The production command (the image's) for the production app, else gunicorn with its config."""
    if app == PRODUCTION_APP:
        return [sys.executable, "-m", "web.serve"]
    return [str(pathlib.Path(sys.executable).with_name("gunicorn")), "-c", "gunicorn.conf.py", app]


@contextlib.contextmanager
def gunicorn_server(database_url: str, app: str = "tests.gevent_app:application", **env_overrides):
    """Yield a :class:`Server`: gunicorn running ``app`` with gunicorn.conf.py; stopped afterwards."""
    port = free_port()
    env = {**os.environ, **BASE_ENV, "DATABASE_URL": database_url, "PORT": str(port),
           "WEB_CONCURRENCY": "1", "LOG_LEVEL": "WARNING", **{k: str(v) for k, v in env_overrides.items()}}
    # A file, not a pipe: a pipe nobody reads fills up and blocks the worker's logging.
    log = tempfile.NamedTemporaryFile(prefix="gunicorn-", suffix=".log", delete=False)
    proc = subprocess.Popen(command(app), cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    try:
        while True:
            try:
                if requests.get(base + "/ready", timeout=1).status_code == 200:
                    break
            except requests.RequestException:  # not listening yet, or busy loading the app
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError("gunicorn did not start:\n" + pathlib.Path(log.name).read_text())
            time.sleep(0.1)
        yield Server(base, proc.pid, pathlib.Path(log.name))
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()
        if os.environ.get("KEEP_GUNICORN_LOGS") != "1":
            os.unlink(log.name)


@contextlib.contextmanager
def gunicorn(database_url: str, app: str = "tests.gevent_app:application", **env_overrides):
    """Yield the base URL of a gunicorn running ``app`` with gunicorn.conf.py; stopped afterwards."""
    with gunicorn_server(database_url, app, **env_overrides) as server:
        yield server.base
