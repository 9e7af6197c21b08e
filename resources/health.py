"""Liveness and readiness probes."""
from __future__ import annotations

import falcon

from db.pool import DatabaseUnavailable
from web import responses
from web.errors import RETRY_AFTER_SECONDS, set_error
from web.render import json_body


class Health:
    """Liveness: the process serves requests. Never touches the database."""

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        json_body(resp, responses.health())


class Ready:
    """Readiness: the database answers within the pool timeout."""

    def __init__(self, pool):
        self._pool = pool

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        try:
            self._pool.ping()
        except DatabaseUnavailable:
            set_error(resp, falcon.HTTP_503, "Database unavailable")
            resp.set_header("Retry-After", str(RETRY_AFTER_SECONDS))
            return
        json_body(resp, responses.health())
