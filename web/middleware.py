"""Falcon middleware: request id, body-size limit and body slots, and for every request one JSON
access-log line and its request metrics."""
from __future__ import annotations

import io
import itertools
import os
import re
import threading
import time

import falcon

from app.analytics import usage_row
from app.errors import BadRequest, ServiceError
from db import deadline as request_deadline
from web.logs import AccessLog, request_id_var
from web.metrics import RequestMetrics

access_log = AccessLog()  # one JSON line per request (web/logs.py)

SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:/+=-]{1,128}$")


def _new_process_ids() -> None:
    global _id_prefix, _id_counter
    _id_prefix = os.urandom(8).hex()
    _id_counter = itertools.count()


def new_request_id() -> str:
    """32 hex digits, unique: 64 random bits drawn per process (again in each forked worker) and a
    64-bit count of the process's requests. ``uuid.uuid4().hex`` took a system call and about
    15,000 instructions (1.2% of a remembered v2 score); this takes a few hundred."""
    return f"{_id_prefix}{next(_id_counter) & 0xFFFFFFFFFFFFFFFF:016x}"


_new_process_ids()
os.register_at_fork(after_in_child=_new_process_ids)
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class BodiesBusy(ServiceError):
    status = 503
    default_detail = "Too many requests with a body at once, please retry."
    retry_after = 1


class RequestContext:
    """Request id in and out (``X-Request-ID``), the request's time budget (``budget`` seconds,
    ``db/deadline.py``), 413 before any body is parsed, body slots, access log and request metrics.

    A parsed body costs memory in proportion to its size (JSON objects take several times their
    text), so at most ``max_bodies`` requests with a body are handled at once per worker; others
    wait for a slot (``body_wait`` seconds, then 503) before their body is read. Bodies then cost
    at most ``max_bodies`` times the largest one, whatever the number of connections (README,
    "Memory of a pod")."""

    def __init__(self, max_body_bytes: int, max_bodies: int = 6, body_wait: float = 5.0, budget: float = 5.0):
        self.max_body_bytes = max_body_bytes
        self._budget = budget
        self._body_slots = threading.BoundedSemaphore(max_bodies)
        self._body_wait = min(body_wait, budget)
        self._metrics = RequestMetrics()

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        req.context.started = time.perf_counter()
        req.context.deadline_token = request_deadline.start(self._budget)
        incoming = req.get_header("X-Request-ID")
        request_id = incoming if incoming and SAFE_REQUEST_ID.match(incoming) else new_request_id()
        req.context.request_id = request_id
        req.context.token = request_id_var.set(request_id)
        resp.set_header("X-Request-ID", request_id)
        if "\x00" in req.path or "%00" in req.query_string:
            # PostgreSQL cannot take a NUL in a text value: refused here, before any handler.
            raise BadRequest("The request URL contains a NUL character.")
        self._limit_body(req)

    def _limit_body(self, req: falcon.Request) -> None:
        too_large = falcon.HTTPContentTooLarge(
            description=f"Request body is too large (limit {self.max_body_bytes} bytes).")
        length = req.content_length
        if length is not None and length > self.max_body_bytes:
            raise too_large
        chunked = length is None and req.method in _BODY_METHODS and req.env.get("wsgi.input_terminated")
        if not (length or chunked):
            return
        if not self._body_slots.acquire(timeout=self._body_wait):
            raise BodiesBusy()
        req.context.body_slot = True
        if chunked:
            # A chunked body has no Content-Length: read at most limit + 1 bytes, then hand the
            # buffered body to the media handlers as if it had one.
            data = req.env["wsgi.input"].read(self.max_body_bytes + 1)
            if len(data) > self.max_body_bytes:
                raise too_large
            req.env["wsgi.input"] = io.BytesIO(data)
            req.env["CONTENT_LENGTH"] = str(len(data))

    def process_response(self, req: falcon.Request, resp: falcon.Response, resource,
                         req_succeeded: bool) -> None:
        if getattr(req.context, "body_slot", False):
            req.context.body_slot = False
            self._body_slots.release()
        started = getattr(req.context, "started", None)
        seconds = time.perf_counter() - started if started else 0.0
        self._metrics.observe(req.uri_template, req.method, resp.status_code, seconds)
        access_log({
            "method": req.method,
            "route": req.uri_template or "<unmatched>",
            "path": req.path,
            "status": resp.status_code,
            "duration_ms": round(seconds * 1000, 3) if started else None,
            "request_id": getattr(req.context, "request_id", None),
        })
        token = getattr(req.context, "token", None)
        if token is not None:
            request_id_var.reset(token)
        token = getattr(req.context, "deadline_token", None)
        if token is not None:
            request_deadline.end(token)


class ApiKeyUsage:
    """Queues one analytics row for every request whose API key was identified (even if refused).
    Python's Lambda records the body it parsed after authenticating (``{}`` for a GET): an
    authenticated request without a body records ``{}``, a refused one nothing."""

    def __init__(self, recorder):
        self._recorder = recorder

    def process_response(self, req: falcon.Request, resp: falcon.Response, resource,
                         req_succeeded: bool) -> None:
        key_id = getattr(req.context, "api_key_id", None)
        if key_id is None or not self._recorder.enabled:
            return
        authenticated = getattr(req.context, "api_key_authenticated", False)
        query = {name: value[-1] if isinstance(value, list) else value for name, value in req.params.items()}
        self._recorder.record(usage_row(
            api_key_id=key_id, path=req.env.get("PATH_INFO") or req.path, status=resp.status_code,
            headers=req.headers, query=query, payload={} if authenticated else None,
            response=resp.data))
