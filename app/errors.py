"""Errors the core raises for the caller to see. Plain Python: the HTTP layer maps ``status``.

Messages are the ones the production Python service returns in ``{"detail": ...}``.
"""
from __future__ import annotations

from typing import Any


class ServiceError(Exception):
    status = 500
    default_detail = "Internal server error"
    retry_after: int | None = None  # seconds, sent as Retry-After (a 503 the caller may retry)

    def __init__(self, detail: Any = None, retry_after: int | None = None):
        self.detail = self.default_detail if detail is None else detail
        if retry_after is not None:
            self.retry_after = retry_after
        super().__init__(self.detail if isinstance(self.detail, str) else repr(self.detail))


class BadRequest(ServiceError):
    status = 400
    default_detail = "Bad request"


class InvalidAddress(BadRequest):
    default_detail = "Invalid address."


class Unauthorized(ServiceError):
    status = 401
    default_detail = "Unauthorized"


class NotFound(ServiceError):
    status = 404
    default_detail = "Not Found"


class Unprocessable(ServiceError):
    """422; ``detail`` is a message or a list of field problems."""

    status = 422
    default_detail = "Unprocessable entity"
