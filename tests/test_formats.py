"""Numbers and times as the production Python service writes them (app/formats.py), and the
weights as a score shows them (app/scoring/weights.py)."""
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from app.formats import django_iso, django_iso_repeated, fmt5, iso, iso_repeated
from app.scoring.weights import WeightError, Weights


@pytest.mark.parametrize("value, text", [
    (datetime(2027, 1, 4, tzinfo=timezone.utc), "2027-01-04T00:00:00+00:00"),
    (datetime(2027, 1, 4, 0, 0, 0, 7, tzinfo=timezone.utc), "2027-01-04T00:00:00.000007+00:00"),
    (datetime(2027, 1, 4, 2, 30, tzinfo=timezone(timedelta(hours=2))), "2027-01-04T00:30:00+00:00"),
    (datetime.fromisoformat("2027-01-04T00:00:00Z"), "2027-01-04T00:00:00+00:00"),
    (None, None),
])
def test_times_are_written_in_utc_with_microseconds_only_when_set(value, text):
    assert iso(value) == text


def test_a_weight_is_shown_with_five_places_half_even_and_as_a_float():
    weights = Weights.from_json('{"Google": 1.125005, "Ens": "2", "Bad": null}', overlay=[("Custom", "0.5")])
    assert weights.shown("Google") == (Decimal("1.125005"), "1.12500", 1.125005)
    assert weights.shown("Ens") == (Decimal(2), "2.00000", 2.0)
    assert weights.shown("Custom") == (Decimal("0.5"), "0.50000", 0.5)
    assert weights.shown("Unknown") == (Decimal(0), "0.00000", 0.0)
    assert weights.shown("Google") is weights.shown("Google")  # worked out once
    assert fmt5(Decimal("1.125015")) == "1.12502"
    with pytest.raises(WeightError):
        weights.shown("Bad")


def test_a_repeated_datetime_is_formatted_as_iso_formats_it_and_only_once():
    moments = [datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc),
               datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=timezone.utc),
               datetime(2026, 1, 2, 5, 4, 5, tzinfo=timezone(timedelta(hours=2))), None]
    for moment in moments:
        assert iso_repeated(moment) == iso(moment)
        assert django_iso_repeated(moment) == django_iso(moment)
    hits = iso_repeated.cache_info().hits
    assert iso_repeated(datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)) == "2026-01-02T03:04:05+00:00"
    assert iso_repeated.cache_info().hits == hits + 1
