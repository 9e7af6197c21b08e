"""A test session fails when a process it started outlives it (tests/conftest.py)."""
import os
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent


def test_a_process_left_behind_fails_the_session():
    env = {k: v for k, v in os.environ.items() if k != "SCORER_TEST_SESSION"}
    env["LEAK_PROBE"] = "1"
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_leak_probe.py"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1, proc.stdout
    assert "1 passed" in proc.stdout and "outlived them" in proc.stdout and "sleep 120" in proc.stdout
