"""The one JSON writer of every response (bodies from ``web.responses``), and the parameter
helpers of resources."""
from __future__ import annotations

import falcon
import orjson

from app.errors import Unprocessable


def json_text(body) -> bytes:
    """A body as JSON bytes: orjson, compact, passing through the database's JSON fragments."""
    return orjson.dumps(body)


def json_body(resp: falcon.Response, body, status: str = falcon.HTTP_200) -> None:
    resp.status = status
    resp.content_type = falcon.MEDIA_JSON
    resp.data = json_text(body)


def int_param(value: str, name: str, location: str = "path") -> int:
    """A path or query integer; 422 like Python's schema validation when it is not one."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise Unprocessable([{"loc": [location, name], "msg": "Input should be a valid integer"}]) from None
    if not -2**63 <= number < 2**63:
        raise Unprocessable([{"loc": [location, name], "msg": "Input should be a valid 64-bit integer"}])
    return number


def required_param(req: falcon.Request, name: str) -> str:
    """A query parameter that must be present; 422 like Python's schema validation otherwise."""
    value = req.get_param(name)
    if value is None:
        raise Unprocessable([{"loc": ["query", name], "msg": "Field required"}])
    return value
