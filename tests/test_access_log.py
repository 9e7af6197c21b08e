"""The access line (web/logs.py, AccessLog): the bytes logging would write, without logging's cost."""
import io
import json
import logging
import os
import pathlib
import subprocess
import sys
from datetime import datetime, timezone

import pytest

from web import logs
from web.logs import AccessLog, configure_logging, request_id_var

FIELDS = {"method": "GET", "route": "/v2/stamps/{scorer_id}/score/{address}", "path": "/v2/stamps/7/score/0xab",
          "status": 200, "duration_ms": 1.234, "request_id": "from-the-fields", "shed": None}


@pytest.fixture
def stdout(monkeypatch):
    """configure_logging's setup, writing to a buffer; logging as it was afterwards."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level, logs._stdout_handler, logging.getLogger("access").level)
    buffer = io.StringIO()
    monkeypatch.setattr(sys, "stdout", buffer)
    configure_logging("INFO")
    yield buffer
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])
    logs._stdout_handler = saved[2]
    logging.getLogger("access").setLevel(saved[3])


def lines(buffer):
    return buffer.getvalue().splitlines()


def same_but_time(direct: str, through_logging: str) -> None:
    """Equal bytes once each line's time is set aside; the times are UTC instants in one format."""
    times = [json.loads(line)["time"] for line in (direct, through_logging)]
    for value in times:
        parsed = datetime.fromisoformat(value)
        assert parsed.tzinfo == timezone.utc and abs((datetime.now(timezone.utc) - parsed).total_seconds()) < 60
    assert direct.replace(times[0], "T") == through_logging.replace(times[1], "T")


def test_an_access_line_is_the_bytes_logging_writes(stdout):
    token = request_id_var.set("rid-of-the-request")
    try:
        AccessLog()(FIELDS)
        logging.getLogger("access").info("request", extra=FIELDS)
    finally:
        request_id_var.reset(token)
    direct, through_logging = lines(stdout)
    same_but_time(direct, through_logging)
    assert list(json.loads(direct)) == ["level", "logger", "message", "method", "route", "path", "status",
                                        "duration_ms", "request_id", "shed", "time"]
    assert json.loads(direct)["request_id"] == "rid-of-the-request"  # the context's, as the filter sets


def test_outside_a_request_the_fields_request_id_stays_and_trace_ids_follow_it(stdout, monkeypatch):
    monkeypatch.setattr(logs, "_trace_ids", lambda: ("a" * 32, "b" * 16))
    AccessLog()(FIELDS)
    logging.getLogger("access").info("request", extra=FIELDS)
    direct, through_logging = lines(stdout)
    same_but_time(direct, through_logging)
    line = json.loads(direct)
    assert (line["request_id"], line["trace_id"], line["span_id"]) == ("from-the-fields", "a" * 32, "b" * 16)
    assert list(line)[-3:] == ["trace_id", "span_id", "time"]


def test_with_another_handler_on_the_way_the_line_goes_through_logging(stdout):
    seen = []

    class Collect(logging.Handler):
        def emit(self, record):
            seen.append(record)

    collector = Collect()
    logging.getLogger().addHandler(collector)
    try:
        AccessLog()(FIELDS)
    finally:
        logging.getLogger().removeHandler(collector)
    assert [(r.name, r.getMessage(), r.route) for r in seen] == [("access", "request", FIELDS["route"])]
    assert len(lines(stdout)) == 1  # and the stdout handler wrote it too


def test_a_filter_on_the_access_logger_still_sees_every_line(stdout):
    access = logging.getLogger("access")
    dropped = logging.Filter("nothing-matches")
    access.addFilter(dropped)
    try:
        AccessLog()(FIELDS)
    finally:
        access.removeFilter(dropped)
    assert lines(stdout) == []


def test_no_line_when_the_access_logger_is_quieter_than_info(stdout):
    logging.getLogger("access").setLevel(logging.WARNING)
    AccessLog()(FIELDS)
    assert lines(stdout) == []


NATIVE_LOCK_SCRIPT = """
from gevent import monkey
monkey.patch_all()
import json, logging, sys, threading
import gevent
from web.logs import AccessLog, configure_logging
configure_logging("INFO")
[handler] = logging.getLogger().handlers
access, app = AccessLog(), logging.getLogger("app")

def write(n):
    for i in range(250):
        access({"greenlet": n, "i": i})
        app.info("line", extra={"greenlet": n, "i": i})
        gevent.sleep(0)

gevent.joinall([gevent.spawn(write, n) for n in range(4)])
lock = type(handler.lock)
sys.stderr.write(f"{lock.__module__}.{lock.__name__} {type(threading.RLock()).__module__}\\n")
"""


def test_under_gevent_the_log_handler_takes_an_os_lock_and_every_line_is_whole():
    """configure_logging gives the stdout handler the C RLock gevent's patching replaced (nothing
    under it can yield); four greenlets writing 500 lines each leave 2,000 whole JSON lines."""
    root = pathlib.Path(__file__).resolve().parent.parent
    out = subprocess.run([sys.executable, "-c", NATIVE_LOCK_SCRIPT], cwd=root, capture_output=True, text=True,
                         timeout=60, env={**os.environ, "PYTHONPATH": str(root)})
    assert out.stderr.split() == ["_thread.RLock", "threading"], out.stderr
    written = [json.loads(line) for line in out.stdout.splitlines()]
    assert len(written) == 2000
    assert sorted((line["logger"], line["greenlet"], line["i"]) for line in written) == sorted(
        (logger, n, i) for logger in ("access", "app") for n in range(4) for i in range(250))
