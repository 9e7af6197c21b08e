"""The scorer configuration of a community, cached per worker for a few seconds.

Weights, threshold and customization weights change only when an administrator edits a scorer, and
reading them is the most expensive statement of a score to plan. A short time-to-live
(``SCORER_CONFIG_TTL``, default 10 s; 0 disables) bounds how long an edit takes to show.
"""
from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Callable

from app.caches import TtlCache
from app.errors import NotFound, ServiceError
from app.scoring.weights import WeightError, Weights
from db.queries import scoring as sql

log = logging.getLogger(__name__)

SCORER_TYPES = ("WEIGHTED", "WEIGHTED_BINARY")
MAX_ENTRIES = 10_000


class ScoringFailed(ServiceError):
    status = 500
    default_detail = "Unexpected error while submitting passport"


@dataclass(frozen=True)
class CommunityLookup:
    """Which community to score for, and the 404 message when there is none.

    ``account_id`` set: Python's v2 rule (community id or external_scorer_id, owned by the account).
    """

    community_id: int | None
    not_found: str = "No Community matches the given query."
    account_id: int | None = None
    ref: str | None = None

    @classmethod
    def for_account(cls, scorer_ref: str, account_id: int, demo_scorer_id: int | None = None) -> "CommunityLookup":
        scorer_ref = demo_scorer(scorer_ref, demo_scorer_id)
        community_id = int(scorer_ref) if scorer_ref.isdigit() and len(scorer_ref) < 19 else None
        return cls(community_id, "No scorer matches the given criteria.", account_id, scorer_ref)


def demo_scorer(scorer_ref, demo_scorer_id: int | None):
    """Python's demo mapping on /v2 and the embed score: a negative scorer id means
    DEMO_API_SCORER_ID (``if int(scorer_id) < 0``; text that is not a number stays as it is)."""
    try:
        negative = int(scorer_ref) < 0
    except (TypeError, ValueError):
        return scorer_ref
    if not negative or demo_scorer_id is None:
        return scorer_ref
    return demo_scorer_id if isinstance(scorer_ref, int) else str(demo_scorer_id)


@dataclass(frozen=True)
class Community:
    id: int
    human_points_program: bool
    weights: Weights
    threshold: Decimal
    config: str = ""   # a digest of everything above but the id, as read (app/scoring/memo.py)


class Communities:
    def __init__(self, pool, ttl: float = 10.0, clock: Callable[[], float] = time.monotonic):
        self._pool = pool
        self._cache: TtlCache[Community] = TtlCache(ttl, MAX_ENTRIES, clock)

    def get(self, lookup: CommunityLookup, cur=None) -> Community:
        """The community's scorer config; NotFound, or ScoringFailed for an unusable scorer.
        ``cur``: read on the caller's connection (inside its transaction) on a cache miss."""
        key = (lookup.community_id, lookup.account_id, lookup.ref)
        community = self._cache.get(key)
        if community is None:
            community = self._load(lookup, cur)
            self._cache.put(key, community)
        return community

    def _load(self, lookup: CommunityLookup, cur) -> Community:
        if cur is None:
            with self._pool.cursor() as own:
                row = sql.load_community(own, lookup.community_id, account_id=lookup.account_id, ref=lookup.ref)
        else:
            row = sql.load_community(cur, lookup.community_id, account_id=lookup.account_id, ref=lookup.ref)
        if row is None:
            raise NotFound(lookup.not_found)
        if row.scorer_type not in SCORER_TYPES or row.threshold is None:
            log.error("community %s has an unusable scorer (%s)", row.community_id, row.scorer_type)
            raise ScoringFailed()
        try:
            weights = Weights.from_json(row.weights_json, row.overlay)
        except (WeightError, ValueError) as exc:
            log.error("community %s has unreadable weights: %s", row.community_id, exc)
            raise ScoringFailed() from None
        config = hashlib.blake2b(repr((row.human_points_program, row.scorer_type, row.weights_json,
                                       str(row.threshold), row.overlay)).encode(), digest_size=16).hexdigest()
        return Community(row.community_id, row.human_points_program, weights, Decimal(row.threshold), config)
