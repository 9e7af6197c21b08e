"""Liveness and readiness probes."""
from __future__ import annotations

import falcon

from db.pool import DatabaseUnavailable
from app.http_errors import RETRY_AFTER_SECONDS, set_error


class Health:
    """Liveness: the process serves requests. Never touches the database."""

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = {"status": "ok"}


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
        resp.media = {"status": "ok"}
