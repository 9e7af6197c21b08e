"""Every error leaves the service as JSON ``{"detail": ...}`` with Python's status codes and messages."""
from __future__ import annotations

import logging

import falcon
import orjson
from marshmallow import ValidationError

from app.errors import ServiceError
from db.pool import DatabaseUnavailable

log = logging.getLogger("app.errors")

RETRY_AFTER_SECONDS = 1


def _detail_of(exc: falcon.HTTPError):
    if exc.description:
        return exc.description
    title = exc.title or "Error"
    # Falcon titles read "404 Not Found"; Django's details read "Not Found".
    code, _, rest = title.partition(" ")
    return rest if code.isdigit() and rest else title


def serialize_error(req: falcon.Request, resp: falcon.Response, exc: falcon.HTTPError) -> None:
    resp.content_type = falcon.MEDIA_JSON
    resp.data = orjson.dumps({"detail": _detail_of(exc)})


def handle_service_error(req, resp, exc: ServiceError, params) -> None:
    resp.status = exc.status
    resp.media = {"detail": exc.detail}


def handle_malformed_body(req, resp, exc: falcon.MediaMalformedError, params) -> None:
    cause = exc.__cause__
    reason = str(cause) if cause is not None else "malformed JSON"
    resp.status = falcon.HTTP_400
    resp.media = {"detail": f"Cannot parse request body ({reason})"}


def handle_validation_error(req, resp, exc: ValidationError, params) -> None:
    resp.status = falcon.HTTP_422
    resp.media = {"detail": flatten_validation_messages(exc.messages)}


def flatten_validation_messages(messages, location=("body",)) -> list[dict]:
    """marshmallow's nested ``{field: [msg]}`` as a flat list ``[{"loc": [...], "msg": ...}]``."""
    problems: list[dict] = []
    if isinstance(messages, dict):
        for key, value in messages.items():
            where = location if key == "_schema" else (*location, key)
            problems.extend(flatten_validation_messages(value, where))
    elif isinstance(messages, list):
        for item in messages:
            problems.extend(flatten_validation_messages(item, location))
    else:
        problems.append({"loc": list(location), "msg": str(messages)})
    return problems


def handle_database_unavailable(req, resp, exc: DatabaseUnavailable, params) -> None:
    log.warning("database unavailable: %s", exc)
    resp.status = falcon.HTTP_503
    resp.set_header("Retry-After", str(RETRY_AFTER_SECONDS))
    resp.media = {"detail": "Service temporarily unavailable, please retry."}


def handle_unexpected(req, resp, exc: Exception, params) -> None:
    if isinstance(exc, falcon.HTTPError):  # Falcon's own errors keep their status
        raise exc
    log.exception("unhandled error on %s %s", req.method, req.path,
                  extra={"request_id": getattr(req.context, "request_id", None)})
    resp.status = falcon.HTTP_500
    resp.media = {"detail": "Internal server error"}


def install(app: falcon.App) -> None:
    """Register the handlers; Falcon picks the most specific class for each exception."""
    app.set_error_serializer(serialize_error)
    app.add_error_handler(Exception, handle_unexpected)
    app.add_error_handler(ServiceError, handle_service_error)
    app.add_error_handler(DatabaseUnavailable, handle_database_unavailable)
    app.add_error_handler(ValidationError, handle_validation_error)
    app.add_error_handler(falcon.MediaMalformedError, handle_malformed_body)
