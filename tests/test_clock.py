"""The one parser of credential dates (app/clock.py): its answers, and its bounded memory."""
from datetime import datetime, timedelta, timezone

import pytest

from app import clock
from app.clock import parse_expiration

UTC = timezone.utc


@pytest.mark.parametrize("text, expected", [
    ("2025-09-01T00:00:00Z", datetime(2025, 9, 1, tzinfo=UTC)),
    ("2025-09-01T02:30:00.123456+02:30", datetime(2025, 9, 1, 0, 0, 0, 123456, tzinfo=UTC)),
    ("2025-09-01T00:00:00-23:59", datetime(2025, 9, 1, 23, 59, tzinfo=UTC)),  # kept as its instant
    ("2025-09-01T00:00:00", None),                     # naive: no offset
    ("0001-01-01T00:00:00+01:00", None),               # before year 1 in UTC
    ("yesterday", None), ("", None), ("2025-09-01T00:00:00Z" + " " * 60, None),  # too long
    (None, None), (20250901, None), (["2025-09-01T00:00:00Z"], None), ({"a": 1}, None),
])
def test_a_date_is_parsed_the_same_every_time(text, expected):
    assert [parse_expiration(text) for _ in range(3)] == [expected] * 3
    if expected is not None:
        assert parse_expiration(text).tzinfo is UTC


def test_a_flood_of_distinct_dates_stays_bounded_and_answers_right():
    base = datetime(2030, 1, 1, tzinfo=UTC)
    for i in range(10_000):
        moment = base + timedelta(seconds=i)
        assert parse_expiration(moment.isoformat()) == moment
    assert clock._parse.cache_info().currsize <= 4096
