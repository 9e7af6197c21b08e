"""The front door: a request the worker could not answer within its budget is refused before any
work is spent on it, and refusals cannot crowd out the answers.

The decision is the connection pool's own (``Pool.would_shed``: the queue ahead of a newcomer could
not clear within ``REQUEST_BUDGET``), taken before routing, authentication, body parsing and logging,
so a refusal costs a small fraction of an answer. It is a 503 with ``Retry-After: 1`` and the
service's error body.

Clients that ask again at once, ignoring ``Retry-After``, turn every refusal into another request;
answered at once, such refusals took the CPU the answers needed and the worker kept refusing (a
refusal storm, docs/benchmarks.md "Overload"). So each worker answers at most ``rate`` refusals a
second at once; past that, a refusal is held for ``Retry-After`` before it is sent: a held
connection costs no CPU, and no client can be refused more often than once a second.

Health, readiness and the OpenAPI document are never refused here. Each refusal gets its access-log
line (route ``<shed>``) and is counted in the request metrics (route ``unrouted``, status 503) and in
``scorer_db_pool_shed_total``; the application log gets a warning with the count at most once a
second.
"""
from __future__ import annotations

import logging
import threading
import time
import uuid

from db.metrics import POOL_SHED
from web import responses
from web.errors import RETRY_AFTER_SECONDS
from web.metrics import RequestMetrics
from web.middleware import SAFE_REQUEST_ID, access_log
from web.render import json_text

log = logging.getLogger("app.shedding")

EXEMPT_PATHS = frozenset({"/health", "/ready", "/openapi.json"})
BUSY_DETAIL = "Service temporarily unavailable, please retry."


class RefusalPacer:
    """At most ``rate`` refusals a second (a bucket of ``rate`` tokens) are sent at once; past that,
    each is held ``hold`` seconds."""

    def __init__(self, rate: float = 20.0, hold: float = float(RETRY_AFTER_SECONDS), clock=time.monotonic):
        self._rate = rate
        self._hold = hold
        self._clock = clock
        self._tokens = rate
        self._stamp = clock()
        self._lock = threading.Lock()

    def delay(self) -> float:
        """Seconds to hold the refusal being sent now."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self._rate, self._tokens + (now - self._stamp) * self._rate)
            self._stamp = now
            if self._tokens >= 1:
                self._tokens -= 1
                return 0.0
            return self._hold


class FrontDoor:
    """WSGI middleware around the Falcon app (every other attribute is the app's: ``add_route``,
    routes for ``served_routes``)."""

    def __init__(self, app, pool, budget: float, pacer: RefusalPacer | None = None, clock=time.monotonic):
        self._app = app
        self._pool = pool
        self._budget = budget
        self.pacer = pacer or RefusalPacer()
        self._clock = clock
        self._metrics = RequestMetrics()
        self._body = json_text(responses.error(BUSY_DETAIL))
        self._unlogged = 0
        self._logged_at = clock()

    def __call__(self, environ, start_response):
        if environ.get("PATH_INFO") in EXEMPT_PATHS or not self._pool.would_shed(self._budget):
            return self._app(environ, start_response)
        return self._refuse(environ, start_response)

    def __getattr__(self, name):
        return getattr(self._app, name)

    def _refuse(self, environ, start_response):
        started = self._clock()
        POOL_SHED.inc()
        delay = self.pacer.delay()
        if delay:
            time.sleep(delay)  # cooperative in a gevent worker: the held connection costs no CPU
        incoming = environ.get("HTTP_X_REQUEST_ID")
        request_id = incoming if incoming and SAFE_REQUEST_ID.match(incoming) else uuid.uuid4().hex
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
        access_log.info("request", extra={
            "method": method, "route": "<shed>", "path": environ.get("PATH_INFO", ""), "status": 503,
            "duration_ms": round(seconds * 1000, 3), "request_id": request_id})
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
