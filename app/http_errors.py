"""Every error leaves the service as JSON ``{"detail": ..., "error": ...}`` with Python's status
codes and messages.

Both keys, because production clients read either: Django's own routes answer ``{"detail": msg}``
and the AWS Lambda handlers that serve ``/v2`` and ``/ceramic-cache`` in production answer
``{"error": msg}`` (``api/aws_lambdas/utils.py``). ``error`` is always one line of text: the message
itself, or for a list of validation problems a summary of them.
"""
from __future__ import annotations

import logging

import falcon
import orjson
from marshmallow import ValidationError

from app.errors import ServiceError
from db.pool import DatabaseUnavailable

log = logging.getLogger("app.errors")

RETRY_AFTER_SECONDS = 1
# A list of problems names at most this many, then how many more there are: a huge bad body must
# not make a huge answer.
MAX_PROBLEMS = 10
# Python (django-ninja, DEBUG off) answers a body that is not JSON with exactly this text.
UNPARSABLE_BODY = "Cannot parse request body"


def error_body(detail) -> dict:
    """The error body for ``detail`` (a message, or a list of ``{"loc", "msg"}`` problems, of which
    the first ``MAX_PROBLEMS`` are listed)."""
    if isinstance(detail, str):
        return {"detail": detail, "error": detail}
    if isinstance(detail, list) and len(detail) > MAX_PROBLEMS:
        more = len(detail) - MAX_PROBLEMS
        return {"detail": [*detail[:MAX_PROBLEMS], {"loc": ["body"], "msg": f"and {more} more problems"}],
                "error": summary(detail)}
    return {"detail": detail, "error": summary(detail)}


def summary(problems) -> str:
    """One line for a list of validation problems: the first one, and how many more there are."""
    if not isinstance(problems, list) or not problems:
        return "Invalid request."
    first = problems[0]
    if isinstance(first, dict):
        where = ".".join(str(part) for part in first.get("loc", ()))
        text = f"{where}: {first.get('msg')}" if where else str(first.get("msg"))
    else:
        text = str(first)
    more = len(problems) - 1
    return f"Invalid request: {text}" + (f" (and {more} more)" if more else "")


def set_error(resp: falcon.Response, status, detail) -> None:
    resp.status = status
    resp.content_type = falcon.MEDIA_JSON
    resp.data = orjson.dumps(error_body(detail))


def _detail_of(exc: falcon.HTTPError):
    if exc.description:
        return exc.description
    title = exc.title or "Error"
    # Falcon titles read "404 Not Found"; Django's details read "Not Found".
    code, _, rest = title.partition(" ")
    return rest if code.isdigit() and rest else title


def serialize_error(req: falcon.Request, resp: falcon.Response, exc: falcon.HTTPError) -> None:
    resp.content_type = falcon.MEDIA_JSON
    resp.data = orjson.dumps(error_body(_detail_of(exc)))


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
