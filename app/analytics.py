"""API key usage analytics, written off the request path.

``record`` only queues the row; a background worker (a greenlet under gevent) writes batches with
one INSERT, at most every ``max_delay`` seconds (so a busy worker writes one batch of many rows,
not one small transaction per request). A full queue or a failing database drops rows with a warning:
analytics never slow or fail a request. Rows queued, written and dropped are counted (app/metrics.py).
"""
from __future__ import annotations

import logging
import queue
import threading
import time
from datetime import datetime, timezone

import orjson

from app.metrics import ANALYTICS_ROWS
from db.queries import analytics as sql

log = logging.getLogger(__name__)
_QUEUED, _WRITTEN, _DROPPED = (ANALYTICS_ROWS.labels(o) for o in ("queued", "written", "dropped"))

# Python's Lambda keeps the key's prefix (``<prefix>.***``); the other credentials a caller may send
# are masked whole, as Python's Django middleware masks them.
MASKED_HEADERS = frozenset({"authorization", "cookie", "x-internal-secret"})


def masked_headers(headers: dict) -> dict:
    """The request headers as Python's Lambda stores them: lowercase names (as the load balancer
    hands them over), ``x-api-key`` reduced to its prefix, other credentials masked."""
    masked = {}
    for name, value in headers.items():
        name = name.lower()
        if name == "x-api-key":
            value = value.split(".")[0] + ".***"
        elif name in MASKED_HEADERS:
            value = "***"
        masked[name] = value
    return masked


def usage_row(*, api_key_id: str, path: str, status: int, headers: dict, query: dict,
              payload, response) -> dict:
    """An analytics row as Python's v2 Lambda writes it (``save_api_key_analytics``): the path and
    its segments (``path.split("/")[1:]``), no ``base_path``, the query and masked headers, the
    request body, the response body as a JSON *string* (Python stores the body text it returned),
    the error message and the status. ``response`` may be the raw JSON bytes."""
    return {
        "created_at": datetime.now(timezone.utc), "path": path[:1000], "api_key_id": api_key_id,
        "base_path": None, "error": None, "headers": masked_headers(headers),
        "path_segments": path.split("/")[1:], "payload": payload, "query_params": query,
        "response": response, "response_skipped": False, "status_code": status,
    }


def _body_text(body) -> str | None:
    if body is None:
        return None
    if isinstance(body, (bytes, bytearray)):
        return body.decode()
    return orjson.dumps(body).decode()


def _error(text: str | None) -> str | None:
    """The message of an error body (its one-line ``error``)."""
    try:
        body = orjson.loads(text) if text else None
    except orjson.JSONDecodeError:
        return None
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, str) else None


def write_batch(pool, rows: list[dict]) -> None:
    """Write queued rows (``usage_row``) in one INSERT."""
    for row in rows:
        text = _body_text(row["response"])
        if row["status_code"] >= 400:  # decoded only for errors, to record the message
            row["error"] = _error(text)
        row["response"] = None if text is None else orjson.dumps(text).decode()  # a JSON string
    with pool.cursor() as cur:
        sql.insert_usage(cur, rows)


class UsageRecorder:
    def __init__(self, pool, enabled: bool = True, max_queue: int = 10_000, batch_size: int = 500,
                 max_delay: float = 0.2):
        self._pool = pool
        self.enabled = enabled
        self._max_delay = max_delay
        self._queue: queue.Queue = queue.Queue(maxsize=max_queue)
        self._batch_size = batch_size
        self._worker: threading.Thread | None = None
        self._lock = threading.Lock()
        self.dropped = 0

    def record(self, row: dict) -> None:
        if not self.enabled:
            return
        if self._worker is None:
            self._start()
        try:
            self._queue.put_nowait(row)
            _QUEUED.inc()
        except queue.Full:
            self.dropped += 1
            _DROPPED.inc()
            log.warning("API analytics queue full: row dropped")

    def _start(self) -> None:
        with self._lock:
            if self._worker is None:
                self._worker = threading.Thread(target=self._run, name="api-analytics", daemon=True)
                self._worker.start()

    def _run(self) -> None:
        while True:
            rows = [self._queue.get()]
            if self._max_delay > 0:
                time.sleep(self._max_delay)  # let the batch gather (cooperative under gevent)
            while len(rows) < self._batch_size:
                try:
                    rows.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            try:
                write_batch(self._pool, rows)
                _WRITTEN.inc(len(rows))
            except Exception as exc:
                self.dropped += len(rows)
                _DROPPED.inc(len(rows))
                log.warning("API analytics rows dropped: %s", exc)
            finally:
                for _ in rows:
                    self._queue.task_done()

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until every queued row is written or dropped (tests, shutdown)."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return True
