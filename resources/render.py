"""Response helpers shared by resources."""
from __future__ import annotations

import falcon
import orjson

from app.errors import Unprocessable
from app.telemetry import annotate


def json_body(resp: falcon.Response, body, status: str = falcon.HTTP_200) -> None:
    resp.status = status
    resp.content_type = falcon.MEDIA_JSON
    resp.data = orjson.dumps(body)


def score_body(resp: falcon.Response, result, status: str = falcon.HTTP_200) -> None:
    annotate(address=result.address, scorer_id=result.community_id, stamp_count=len(result.stamps))
    json_body(resp, result.to_response(), status)


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
