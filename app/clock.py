"""The clock, and the one parser of the timestamps credentials carry."""
from __future__ import annotations

import functools
from datetime import datetime, timezone
from typing import Any


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def parse_expiration(value: Any) -> datetime | None:
    """A credential's date (``expirationDate``, ``issuanceDate``) as an aware datetime in UTC, or None
    if absent, unparseable or naive.

    Python's scorer uses ``datetime.fromisoformat`` (3.11 accepts ``Z``); a value without an offset
    cannot be compared with an aware "now" there, so it is refused here. The instant is kept, its
    offset is not: Python accepts offsets up to 23:59 where PostgreSQL stores only up to 15:59, and
    an instant before year 1 in UTC is no date at all.
    """
    if not isinstance(value, str) or not 0 < len(value) <= 64:
        return None
    return _parse(value)


# A bulk POST reads each stamp's two dates in the schema, the row and the verifier, and a rescore
# each stored stamp's expiry: the same few texts again and again. Bounded, and a pure function of a
# short text, so a flood of distinct dates only evicts others.
@functools.lru_cache(maxsize=4096)
def _parse(value: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        return None
    try:
        return parsed.astimezone(timezone.utc)
    except OverflowError:
        return None
