"""How the production Python service writes numbers and times, used wherever the service answers.

* ``fmt5``: decimals with 5 places, rounded half-even (Python's ``format(Decimal, ".5f")``);
* ``iso``: ``datetime.isoformat()`` in UTC (``+00:00``, microseconds when non-zero);
* ``django_iso``: Django's JSON encoder (milliseconds, ``Z``), as its serializer stored events.
"""
from __future__ import annotations

import functools
from datetime import datetime, timezone
from decimal import Decimal


def fmt5(value: Decimal) -> str:
    return format(value, ".5f")


def iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return (value if value.tzinfo is timezone.utc else value.astimezone(timezone.utc)).isoformat()


# A stamp's expiry (and a score's, the first of its stamps') is written into every score of its
# address: the same few thousand datetimes again and again, each formatted once. Bounded; a
# datetime is immutable, so its text cannot go stale.
iso_repeated = functools.lru_cache(maxsize=4096)(iso)


def django_iso(value: datetime | None) -> str | None:
    """Django's JSON encoder: milliseconds, ``Z`` for UTC (used in the SCU event snapshot)."""
    if value is None:
        return None
    text = value.astimezone(timezone.utc).isoformat()
    if value.microsecond:
        text = text[:23] + text[26:]
    return text[:-6] + "Z" if text.endswith("+00:00") else text


django_iso_repeated = functools.lru_cache(maxsize=4096)(django_iso)  # as iso_repeated
