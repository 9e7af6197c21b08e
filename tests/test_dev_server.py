"""`make run` from nothing: embedded PostgreSQL, schema, demo data, gunicorn serving /health and /ready."""
import os
import pathlib
import signal
import subprocess
import sys
import time

import pytest
import requests

from tests import dbutil
from tests.servers import free_port

ROOT = pathlib.Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow


def test_dev_server_serves_within_60_seconds(tmp_path):
    pytest.importorskip("pgserver")
    data_dir = tmp_path / "pg"
    port = free_port()
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "JWT_SECRET", "SECRET_KEY", "CERAMIC_CACHE_SCORER_ID",
                        "TRUSTED_IAM_ISSUERS", "INTERNAL_API_KEY")}
    env.update({"PORT": str(port), "WEB_CONCURRENCY": "1"})
    started = time.monotonic()
    proc = subprocess.Popen([sys.executable, "scripts/dev_server.py", "--data-dir", str(data_dir)],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        while True:
            try:
                if requests.get(base + "/ready", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            assert proc.poll() is None, proc.stdout.read()
            assert time.monotonic() - started < 60, "make run did not serve /ready within 60 s"
            time.sleep(0.2)
        assert requests.get(base + "/health", timeout=5).json() == {"status": "ok"}
        assert requests.get(base + "/ready", timeout=5).json() == {"status": "ok"}
    finally:
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=30)
        dbutil.stop_postgres(data_dir)  # `make run` keeps it running for the next run; a test does not
    assert "Demo API key" in output
    assert "created the development database from db/schema.sql" in output
    assert "signed 4 demo stamps" in output
