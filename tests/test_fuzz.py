"""A short schemathesis run against the production gunicorn command (scripts/fuzz.py): no 5xx, every
status, body and content type as the OpenAPI document says. `make fuzz` runs a long one."""
from __future__ import annotations

import os
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow


def test_a_short_fuzz_run_finds_nothing(tmp_path):
    env = dict(os.environ)
    if env.get("TEST_DATABASE_URL"):
        env["BENCH_DATABASE_URL"] = env["TEST_DATABASE_URL"]
    proc = subprocess.run([sys.executable, "scripts/fuzz.py", "--max-examples", "4", "--seed", "20261202",
                           "--out", str(tmp_path)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "0 error log lines" in proc.stdout
