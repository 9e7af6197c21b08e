"""A test that leaves a process behind, run only by tests/test_session_cleanup.py (LEAK_PROBE=1)."""
import os
import subprocess

import pytest


@pytest.mark.skipif(os.environ.get("LEAK_PROBE") != "1", reason="run by test_session_cleanup.py only")
def test_leaves_a_sleeper_behind():
    subprocess.Popen(["sleep", "120"], start_new_session=True)  # re-parented, as a daemon would be
