"""The clock, and the one parser of the timestamps credentials carry."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def parse_expiration(value: Any) -> datetime | None:
    """``expirationDate`` as an aware datetime, or None if absent/unparseable/naive.

    Python's scorer uses ``datetime.fromisoformat`` (3.11 accepts ``Z``); a
    value without an offset cannot be compared with an aware "now" there, so
    it is refused here.
    """
    if not isinstance(value, str) or not 0 < len(value) <= 64:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        return None
    return parsed
