"""The score of an address: computed from the deduplicated stamps, and rendered as Python does.

Sums are exact ``Decimal`` arithmetic; strings carry 5 decimals rounded half-even (Python's
``format(Decimal, ".5f")``); timestamps are ``datetime.isoformat()`` (``+00:00``, microseconds when
non-zero).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal

from app.scoring.dedup import Plan
from app.scoring.weights import Weights

ZERO = Decimal(0)


def fmt5(value: Decimal) -> str:
    return format(value, ".5f")


def iso(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(timezone.utc).isoformat()


def django_iso(value: datetime | None) -> str | None:
    """Django's JSON encoder: milliseconds, ``Z`` for UTC (used in the SCU event snapshot)."""
    if value is None:
        return None
    text = value.astimezone(timezone.utc).isoformat()
    if value.microsecond:
        text = text[:23] + text[26:]
    return text[:-6] + "Z" if text.endswith("+00:00") else text


@dataclass
class ScoreResult:
    address: str
    community_id: int
    raw_score: Decimal
    threshold: Decimal
    last_score_timestamp: datetime
    expiration: datetime | None
    stamps: dict[str, dict]            # provider -> {"score", "dedup", "expiration_date"}
    stamp_scores: dict[str, float]     # counted providers -> weight
    counted_cache_ids: list[int]       # ceramic-cache rows of the counted stamps
    counted_nullifiers: dict[str, tuple[str, ...]]  # counted provider -> its raw nullifiers

    @property
    def passing(self) -> bool:
        return self.raw_score >= self.threshold

    @property
    def binary_score(self) -> Decimal:
        return Decimal(1) if self.passing else ZERO

    @property
    def evidence(self) -> dict:
        return {"type": "ThresholdScoreCheck", "success": self.passing,
                "rawScore": str(self.raw_score), "threshold": str(self.threshold)}

    def to_response(self, points_data: dict | None = None, possible_points_data: dict | None = None) -> dict:
        """The V2ScoreResponse body."""
        return {
            "address": self.address,
            "score": fmt5(self.raw_score),
            "passing_score": self.passing,
            "last_score_timestamp": iso(self.last_score_timestamp),
            "expiration_timestamp": iso(self.expiration),
            "threshold": fmt5(self.threshold),
            "error": None,
            "stamps": self.stamps,
            "points_data": points_data,
            "possible_points_data": possible_points_data,
            "linked_score": None,
        }

    def event_fields(self) -> dict:
        """The ``fields`` of the SCU event's Django-serializer snapshot, but for those the SQL takes
        from the score row it writes: ``passport``, ``evidence``, ``stamp_scores`` and ``stamps``."""
        return {
            "score": str(self.binary_score),
            "last_score_timestamp": django_iso(self.last_score_timestamp),
            "status": "DONE",
            "error": None,
            "expiration_date": django_iso(self.expiration),
        }


def compute_score(plan: Plan, weights: Weights, threshold: Decimal, address: str, community_id: int,
                  now: datetime) -> ScoreResult:
    raw = ZERO
    expiration = None
    stamps: dict[str, dict] = {}
    stamp_scores: dict[str, float] = {}
    for stamp in plan.valid:
        weight = weights[stamp.provider]
        raw += weight
        expiration = stamp.expires_at if expiration is None else min(expiration, stamp.expires_at)
        stamps[stamp.provider] = {"score": fmt5(weight), "dedup": False,
                                  "expiration_date": iso(stamp.expires_at)}
        stamp_scores[stamp.provider] = float(weight)
    for stamp in plan.deduped:
        # Python reports a deduplicated stamp with its own expirationDate text, verbatim.
        stamps[stamp.provider] = {"score": "0.00000", "dedup": True, "expiration_date": stamp.expiration_raw}
    return ScoreResult(
        address=address, community_id=community_id, raw_score=raw, threshold=threshold,
        last_score_timestamp=now, expiration=expiration, stamps=stamps, stamp_scores=stamp_scores,
        counted_cache_ids=[s.cache_id for s in plan.valid],
        counted_nullifiers={s.provider: s.stored_nullifiers for s in plan.valid},
    )
