"""The front door: a request the worker could not answer within its budget is refused before any
work is spent on it, and refusals cannot crowd out the answers.

A newcomer is refused when either estimate says it could not be answered within ``REQUEST_BUDGET``:

* Little's law over the worker's requests (:class:`Admission`): the requests in flight ahead of it,
  times the time between two answers while the worker is saturated, over ``ADMIT_SHARE`` of the
  budget (the rest is left for the unevenness of a queue). This counts everything a request waits
  for (both of a score's statements, the CPU shared with the other requests), which the pool's
  queue alone does not see: at 3,000 connections the pool's estimate let every request in and a
  third of them ran out of budget in the queue (docs/benchmarks.md, "Overload").
* the connection pool's own (``Pool.would_shed``: the queue for a connection could not clear in
  time), which also holds before the worker has been saturated long enough to be timed.

The decision is taken before routing, authentication, body parsing and logging, so a refusal costs a
small fraction of an answer. It is a 503 with ``Retry-After: 1`` and the service's error body.

Clients that ask again at once, ignoring ``Retry-After``, turn every refusal into another request;
answered at once, such refusals took the CPU the answers needed and the worker kept refusing (a
refusal storm, docs/benchmarks.md "Overload"). So refusals are paced per connection
(:class:`RefusalPacer`): a client that waits ``Retry-After`` is refused at once, one that asks again
sooner is held until its ``Retry-After`` has passed, and ever longer (up to 4 s) while it keeps
doing so. A held connection costs no CPU.

Health, readiness and the OpenAPI document are never refused here. Each refusal gets its access-log
line (route ``<shed>``; ``shed``: ``pace`` or ``queue``, the estimate that refused it) and is counted
in the request metrics (route ``unrouted``, status 503); those of the pool's estimate also in
``scorer_db_pool_shed_total``. The application log gets a warning with the count at most once a
second.
"""
from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from typing import Hashable

from db.metrics import POOL_SHED
from web import responses
from web.errors import RETRY_AFTER_SECONDS
from web.metrics import RequestMetrics
from web.middleware import SAFE_REQUEST_ID, access_log, new_request_id
from web.render import json_text

log = logging.getLogger("app.shedding")

EXEMPT_PATHS = frozenset({"/health", "/ready", "/openapi.json"})
ADMIT_SHARE = 0.7  # of the budget, for the expected time in the worker of a request let in
BUSY_DETAIL = "Service temporarily unavailable, please retry."


class RefusalPacer:
    """When each refusal on a connection is sent. A connection's first refusal, and one that comes
    after the connection waited for ``Retry-After``, go at once; one that comes sooner is held until
    the connection's ``Retry-After`` has passed, and each further early one doubles the wait, up to
    ``max_hold`` seconds. The connections seen lately are remembered, at most ``size`` of them."""

    def __init__(self, hold: float = float(RETRY_AFTER_SECONDS), max_hold: float = 4.0, size: int = 10_000,
                 clock=time.monotonic):
        self._hold = hold
        self._max_hold = max_hold
        self._size = size
        self._clock = clock
        self._lock = threading.Lock()
        # connection -> (when its next refusal may be sent, how many came early in a row)
        self._connections: OrderedDict[Hashable, tuple[float, int]] = OrderedDict()

    def delay(self, connection: Hashable) -> float:
        """Seconds to hold the refusal that ``connection`` is getting now."""
        with self._lock:
            now = self._clock()
            allowed, early = self._connections.pop(connection, (now, -1))
            delay = max(0.0, allowed - now)
            early = early + 1 if delay else 0
            sent = now + delay
            self._connections[connection] = (sent + min(self._hold * 2 ** early, self._max_hold), early)
            self._forget(now)
            return delay

    def _forget(self, now: float) -> None:
        """Drop the oldest entries while they are over ``size`` or no longer hold anything back."""
        connections = self._connections
        while connections:
            oldest = next(iter(connections))
            if len(connections) <= self._size and connections[oldest][0] > now:
                break
            del connections[oldest]


class Admission:
    """The requests in flight in this worker, and its pace while saturated (at least ``busy``
    requests in flight, the pool's size: some wait for a connection, so answers leave at the rate
    the worker can serve). A newcomer is let in while the requests ahead of it, answered at that
    pace, leave within ``limit`` seconds.

    The pace is the time between answers over windows of ``WINDOW`` seconds of saturation, in a
    moving average over about ``limit`` seconds of windows. A newcomer is refused only when its
    wait would be about ``limit`` or more, and what decides that wait is the pace over the next
    ``limit`` seconds, which the pace over the last ``limit`` seconds predicts best: a stall (a slow
    commit, a collection, the other processes' turn on the CPU, a second of addresses new to the
    worker whose proofs it verifies) weighs as much as it lasts, not as one gap among many, and does
    not refuse requests that will be answered after it. A worker that slows down for good is timed
    at its new pace within about ``limit`` seconds; until then the pool's estimate and the handler's
    budget still apply. Each saturated period is timed afresh (a worker that was slow while its
    caches were cold may be fast now); until its first window is complete every newcomer is let in."""

    WINDOW = 0.25

    def __init__(self, limit: float, busy: int, clock=time.monotonic):
        self._limit = limit
        self._busy = busy
        self._clock = clock
        self.in_flight = 0
        self.interval: float | None = None  # seconds between answers while saturated, once timed
        self._window_start: float | None = None
        self._answers = 0
        self._lock = threading.Lock()

    def admit(self) -> bool:
        with self._lock:
            if self.interval is not None and (self.in_flight + 1) * self.interval > self._limit:
                return False
            self.in_flight += 1
            return True

    def done(self) -> None:
        with self._lock:
            self.in_flight -= 1
            if self.in_flight < self._busy:  # the period is over: its pace says nothing of the next
                self.interval = self._window_start = None
                return
            now = self._clock()
            if self._window_start is None:
                self._window_start, self._answers = now, 0
                return
            self._answers += 1
            elapsed = now - self._window_start
            if elapsed >= self.WINDOW:
                pace = elapsed / self._answers
                if self.interval is None:
                    self.interval = pace
                else:
                    self.interval += (pace - self.interval) * min(1.0, elapsed / self._limit)
                self._window_start, self._answers = now, 0


class FrontDoor:
    """WSGI middleware around the Falcon app (every other attribute is the app's: ``add_route``,
    routes for ``served_routes``)."""

    def __init__(self, app, pool, budget: float, pacer: RefusalPacer | None = None, clock=time.monotonic):
        self._app = app
        self._pool = pool
        self._budget = budget
        self.admission = Admission(budget * ADMIT_SHARE, busy=pool.size, clock=clock)
        self.pacer = pacer or RefusalPacer()
        self._clock = clock
        self._metrics = RequestMetrics()
        self._body = json_text(responses.error(BUSY_DETAIL))
        self._unlogged = 0
        self._logged_at = clock()

    def __call__(self, environ, start_response):
        if environ.get("PATH_INFO") in EXEMPT_PATHS:
            return self._app(environ, start_response)
        if self._pool.would_shed(self._budget):
            POOL_SHED.inc()
            return self._refuse(environ, start_response, "queue")
        if not self.admission.admit():
            return self._refuse(environ, start_response, "pace")
        try:
            return self._app(environ, start_response)
        finally:
            self.admission.done()

    def __getattr__(self, name):
        return getattr(self._app, name)

    def _refuse(self, environ, start_response, reason: str):
        started = self._clock()
        delay = self.pacer.delay((environ.get("REMOTE_ADDR"), environ.get("REMOTE_PORT")))
        if delay:
            time.sleep(delay)  # cooperative in a gevent worker: the held connection costs no CPU
        incoming = environ.get("HTTP_X_REQUEST_ID")
        request_id = incoming if incoming and SAFE_REQUEST_ID.match(incoming) else new_request_id()
        start_response("503 Service Unavailable", [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(self._body))),
            ("Retry-After", str(RETRY_AFTER_SECONDS)),
            ("Access-Control-Allow-Origin", "*"),
            ("X-Request-ID", request_id),
        ])
        seconds = self._clock() - started
        method = environ.get("REQUEST_METHOD", "")
        self._metrics.observe(None, method, 503, seconds)
        access_log({
            "method": method, "route": "<shed>", "path": environ.get("PATH_INFO", ""), "status": 503,
            "duration_ms": round(seconds * 1000, 3), "request_id": request_id, "shed": reason})
        self._log_now_and_then()
        return [self._body]

    def _log_now_and_then(self) -> None:
        self._unlogged += 1
        now = self._clock()
        if now - self._logged_at >= 1.0:
            log.warning("refused %d requests at the door in %.1f s: the queue for a database "
                        "connection could not clear within the request budget",
                        self._unlogged, now - self._logged_at)
            self._unlogged, self._logged_at = 0, now
