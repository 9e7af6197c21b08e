"""Score an address for a community: the one domain function behind every endpoint that scores.

1. The community's scorer config and customization weights (cached for a few seconds), then one
   read of the address's live V1 stamps (latest per provider, not revoked; as JSON text) and the
   hash links of their nullifiers.
2. Credentials checked in memory (proof results cached by a digest of the stamp's text); the
   first valid stamp per provider counts.
3. The LIFO plan and the score, computed in memory. When no hash link must change and no points
   are due (the usual rescore), the write is one statement: passport, stamps, score and events.
4. Otherwise one transaction: LIFO hash links (conditional writes; replanned on a concurrent claim),
   the same statement, human points when enabled, commit.
A deadlock or serialization failure retries the whole score from the read.
"""
from __future__ import annotations

import logging
from datetime import datetime
from typing import Callable, TypeVar

from app.addresses import normalize_address
from app.credentials import CredentialVerifier, utcnow
from app.credentials.checks import dedup_nullifiers
from app.errors import InvalidAddress, NotFound, ServiceError
from app.scoring import human_points
from app.scoring.dedup import Candidate, Link, plan_lifo
from app.scoring.result import ScoreResult, compute_score
from app.scoring.communities import Communities, Community, CommunityLookup, ScoringFailed
from app.scoring.weights import WeightError
from db.pool import TransactionConflict
from db.queries import human_points as human_points_sql
from db.queries import scoring as sql

log = logging.getLogger(__name__)

T = TypeVar("T")
MAX_LIFO_ATTEMPTS = 5
MAX_TRANSACTION_ATTEMPTS = 3


class ScoringContention(ServiceError):
    status = 503
    default_detail = "Too many concurrent updates for this passport, please retry."


class ScoringService:
    def __init__(self, pool, verifier: CredentialVerifier, points: human_points.HumanPointsSettings,
                 multi_nullifier: bool = False, clock: Callable[[], datetime] = utcnow,
                 communities: Communities | None = None):
        self._pool = pool
        self._communities = communities or Communities(pool, ttl=0)
        self._verifier = verifier
        self._points = points
        self._multi_nullifier = multi_nullifier
        self._clock = clock

    def score(self, raw_address: str, lookup: CommunityLookup) -> ScoreResult:
        """Rescore in a transaction of its own (retried whole on a deadlock)."""
        address = self.checked_address(raw_address, lookup)
        return retry_on_conflict(lambda: self._score_once(address, lookup))

    def score_within(self, cur, address: str, lookup: CommunityLookup) -> ScoreResult:
        """Rescore inside the caller's open transaction: the reads see its uncommitted writes (the
        stamp endpoints write the cache and rescore atomically). ``address`` is already valid."""
        community = self._communities.get(lookup, cur)
        stamps, links = sql.load_stamps_and_links(cur, address, community.id)
        candidates, links = self._valid_stamps(stamps, address), _links(links)
        return self._write(cur, community, candidates, links, address, self._clock())

    def checked_address(self, raw_address: str, lookup: CommunityLookup) -> str:
        try:
            return normalize_address(raw_address)
        except InvalidAddress:
            # Python looks the scorer up first: an unknown scorer is 404 even with a bad address.
            with self._pool.cursor() as cur:
                if not sql.community_exists(cur, lookup.community_id, account_id=lookup.account_id,
                                            ref=lookup.ref):
                    raise NotFound(lookup.not_found) from None
            raise

    def _score_once(self, address: str, lookup: CommunityLookup) -> ScoreResult:
        community = self._communities.get(lookup)
        with self._pool.cursor() as cur:
            stamps, links = sql.load_stamps_and_links(cur, address, community.id)
        # Credentials are checked before anything is written: no connection or transaction is held
        # while the CPU verifies proofs.
        candidates, links = self._valid_stamps(stamps, address), _links(links)
        now = self._clock()
        plan = plan_lifo(candidates, links, address, community.id, now)
        result = self._result(plan, community, address, now)
        if not plan.writes and not self._points_due(community, result, now):
            # The usual rescore: no hash link changes and no points, so the write is the single
            # persist statement, which is a transaction of its own (no BEGIN/COMMIT round trips).
            with self._pool.cursor() as cur:
                sql.persist_score(cur, result, plan.events)
            return result
        with self._pool.transaction() as cur:
            return self._write(cur, community, candidates, links, address, now)

    def _write(self, cur, community: Community, candidates: list[Candidate], links: dict[str, Link],
               address: str, now: datetime) -> ScoreResult:
        """Links, score, events and points inside the caller's transaction."""
        plan = self._apply_lifo(cur, candidates, links, address, community.id, now)
        result = self._result(plan, community, address, now)
        sql.persist_score(cur, result, plan.events)
        if self._points_due(community, result, now):
            keys, actions = human_points.awards(result.counted_nullifiers)
            human_points_sql.award(cur, address, community.id, keys, actions, self._points.mta_enabled)
        return result

    @staticmethod
    def _result(plan, community: Community, address: str, now: datetime) -> ScoreResult:
        try:
            return compute_score(plan, community.weights, community.threshold, address, community.id, now)
        except WeightError as exc:
            log.error("community %s: %s", community.id, exc)
            raise ScoringFailed() from None

    def _points_due(self, community: Community, result: ScoreResult, now: datetime) -> bool:
        return self._points.should_write(community.human_points_program, result.passing, now)

    def _valid_stamps(self, rows, address: str) -> list[Candidate]:
        candidates: dict[str, Candidate] = {}
        for cache_id, provider, text in rows:
            if provider in candidates:
                continue
            verdict, fields = self._verifier.verify_stored(text, address)
            if not verdict.valid:
                log.debug("stamp %s skipped: %s", cache_id, verdict.reason)
                continue
            candidates[provider] = Candidate(
                cache_id=cache_id, provider=provider,
                nullifiers=tuple(dedup_nullifiers(fields.nullifiers, self._multi_nullifier)),
                expires_at=fields.expires_at, expiration_raw=fields.expiration_raw,
                stored_nullifiers=fields.stored_nullifiers)
        return list(candidates.values())

    def _apply_lifo(self, cur, candidates, links, address, community_id, now):
        for _ in range(MAX_LIFO_ATTEMPTS):
            plan = plan_lifo(candidates, links, address, community_id, now)
            if not plan.writes or sql.write_hash_links(cur, address, community_id, plan.inserts,
                                                       plan.updates, now):
                return plan
            # A concurrent request claimed or changed a link: undo ours, reload, plan again.
            sql.rollback_hash_links(cur)
            hashes = {n for c in candidates for n in c.nullifiers}
            links = {h: Link(h, a, e) for h, a, e in sql.load_hash_links(cur, community_id, hashes)}
        raise ScoringContention()


def retry_on_conflict(work: Callable[[], T], attempts: int = MAX_TRANSACTION_ATTEMPTS) -> T:
    """Run a whole transaction again after a deadlock or serialization failure."""
    for attempt in range(1, attempts + 1):
        try:
            return work()
        except TransactionConflict:
            if attempt == attempts:
                raise ScoringContention() from None
            log.info("transaction retried after a conflict (attempt %d)", attempt)
    raise AssertionError("unreachable")


def _links(rows) -> dict[str, Link]:
    return {h: Link(h, a, _timestamp(e)) for h, a, e in rows}


def _timestamp(value) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)
