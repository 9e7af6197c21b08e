"""Every error leaves the service as ``web.responses.error``'s body with Python's status codes and
messages; this module maps exceptions to it, in one place."""
from __future__ import annotations

import logging

import falcon
from marshmallow import ValidationError

from app.errors import ServiceError
from db.pool import DatabaseUnavailable
from web import responses
from web.render import json_body, json_text

log = logging.getLogger("app.errors")

RETRY_AFTER_SECONDS = 1
# Python (django-ninja, DEBUG off) answers a body that is not JSON with exactly this text.
UNPARSABLE_BODY = "Cannot parse request body"


def set_error(resp: falcon.Response, status, detail) -> None:
    json_body(resp, responses.error(detail), status)


def _detail_of(exc: falcon.HTTPError):
    if exc.description:
        return exc.description
    title = exc.title or "Error"
    # Falcon titles read "404 Not Found"; Django's details read "Not Found".
    code, _, rest = title.partition(" ")
    return rest if code.isdigit() and rest else title


def serialize_error(req: falcon.Request, resp: falcon.Response, exc: falcon.HTTPError) -> None:
    resp.content_type = falcon.MEDIA_JSON
    resp.data = json_text(responses.error(_detail_of(exc)))


def handle_service_error(req, resp, exc: ServiceError, params) -> None:
    set_error(resp, exc.status, exc.detail)
    if exc.retry_after is not None:
        resp.set_header("Retry-After", str(exc.retry_after))


def handle_malformed_body(req, resp, exc: falcon.HTTPBadRequest, params) -> None:
    # The parser's own text (position, character) stays out of the body, as in Python's production.
    set_error(resp, falcon.HTTP_400, UNPARSABLE_BODY)


def handle_validation_error(req, resp, exc: ValidationError, params) -> None:
    set_error(resp, falcon.HTTP_422, flatten_validation_messages(exc.messages))


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
    set_error(resp, falcon.HTTP_503, "Service temporarily unavailable, please retry.")
    resp.set_header("Retry-After", str(RETRY_AFTER_SECONDS))


def handle_unexpected(req, resp, exc: Exception, params) -> None:
    if isinstance(exc, falcon.HTTPError):  # Falcon's own errors keep their status
        raise exc
    log.exception("unhandled error on %s %s", req.method, req.path,
                  extra={"request_id": getattr(req.context, "request_id", None)})
    set_error(resp, falcon.HTTP_500, "Internal server error")


def install(app: falcon.App) -> None:
    """Register the handlers; Falcon picks the most specific class for each exception."""
    app.set_error_serializer(serialize_error)
    app.add_error_handler(Exception, handle_unexpected)
    app.add_error_handler(ServiceError, handle_service_error)
    app.add_error_handler(DatabaseUnavailable, handle_database_unavailable)
    app.add_error_handler(ValidationError, handle_validation_error)
    app.add_error_handler(falcon.MediaMalformedError, handle_malformed_body)
    app.add_error_handler(falcon.MediaNotFoundError, handle_malformed_body)  # an empty body
