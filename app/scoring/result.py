"""The score of an address, computed from the deduplicated stamps: exact ``Decimal`` sums."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from app.formats import django_iso, django_iso_repeated, iso_repeated
from app.scoring.dedup import Plan
from app.scoring.human_points import Points
from app.scoring.weights import Weights
from db.queries.scoring import ScoreRecord

ZERO = Decimal(0)


@dataclass(frozen=True)
class ScoreView:
    """What a V2 score body says (``web/responses.py`` renders it): a fresh score, or a stored one."""

    address: str
    raw_score: Decimal
    passing: bool
    last_score_timestamp: datetime | None
    expiration: datetime | None
    threshold: Decimal
    error: str | None
    stamps: dict                       # provider -> {"score", "dedup", "expiration_date"}, as stored
    points: Points | None = None       # shown with a stored score when human points are on


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
    # counted provider -> its raw nullifiers (for human points); None in a remembered rescore
    # (app/scoring/memo.py), which is never one with points due
    counted_nullifiers: dict[str, tuple[str, ...]] | None

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

    def view(self) -> ScoreView:
        return ScoreView(self.address, self.raw_score, self.passing, self.last_score_timestamp, self.expiration,
                         self.threshold, None, self.stamps)

    def record(self) -> ScoreRecord:
        """What persisting this score writes. The SCU event's Django-serializer snapshot takes
        ``passport``, ``evidence``, ``stamp_scores`` and ``stamps`` from the score row the SQL
        writes; its other fields are formatted here, as Django's JSON encoder writes them."""
        return ScoreRecord(
            address=self.address, community_id=self.community_id, score=self.binary_score,
            last_score_timestamp=self.last_score_timestamp, evidence=self.evidence,
            stamp_scores=self.stamp_scores, stamps=self.stamps, expiration_date=self.expiration,
            event_fields={"score": str(self.binary_score),
                          "last_score_timestamp": django_iso(self.last_score_timestamp),
                          "status": "DONE", "error": None, "expiration_date": django_iso_repeated(self.expiration)},
            counted_cache_ids=self.counted_cache_ids)


def compute_score(plan: Plan, weights: Weights, threshold: Decimal, address: str, community_id: int,
                  now: datetime) -> ScoreResult:
    raw = ZERO
    stamps: dict[str, dict] = {}
    stamp_scores: dict[str, float] = {}
    for stamp in plan.valid:
        weight, text, number = weights.shown(stamp.provider)
        raw += weight
        stamps[stamp.provider] = {"score": text, "dedup": False, "expiration_date": iso_repeated(stamp.expires_at)}
        stamp_scores[stamp.provider] = number
    expiration = min((stamp.expires_at for stamp in plan.valid), default=None)
    for stamp in plan.deduped:
        # Python reports a deduplicated stamp with its own expirationDate text, verbatim.
        stamps[stamp.provider] = {"score": "0.00000", "dedup": True, "expiration_date": stamp.expiration_raw}
    return ScoreResult(
        address=address, community_id=community_id, raw_score=raw, threshold=threshold,
        last_score_timestamp=now, expiration=expiration, stamps=stamps, stamp_scores=stamp_scores,
        counted_cache_ids=[s.cache_id for s in plan.valid],
        counted_nullifiers={s.provider: s.stored_nullifiers for s in plan.valid},
    )
