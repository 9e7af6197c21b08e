"""Score an address for a community: the one domain function behind every endpoint that scores.

0. An address whose last rescore in this worker changed nothing but the timestamp is remembered
   (app/scoring/memo.py): its rescore is one statement that reads and, if the read is unchanged,
   writes the score and SCU event; the worker answers from the memo. Otherwise, from that read:
1. The community's scorer config and customization weights (cached for a few seconds), then one
   read: the address's live V1 stamp rows (latest per provider, not revoked) by id and row
   version, its passport, the versions of its ``registry_stamp`` rows, and the hash links it owns.
2. Credentials checked in memory: the verifier knows a row version it has seen; the JSON of the
   others is fetched and verified (proofs included), after which passport and links are read
   again. The first valid stamp per provider counts.
3. Links of counted nullifiers the address does not own are read by hash (none in the usual
   rescore); the LIFO plan and the score, computed in memory.
4. When no hash link must change and no points are due (the usual rescore), the write is one
   statement: the score and events, plus the passport's stamps unless this worker wrote exactly
   those ``registry_stamp`` row versions for exactly these stamps (``StampSync``). A rescore
   scored from its first read, with every counted nullifier's link its own, is remembered (0.).
5. Otherwise one transaction: LIFO hash links (conditional writes; replanned on a concurrent claim),
   passport, stamps, score and events, human points when enabled, commit.
A deadlock or serialization failure retries the whole score from the read.
"""
from __future__ import annotations

import hashlib
import logging
from array import array
from datetime import datetime
from typing import Callable

from app.addresses import normalize_address
from app.caches import BoundedCache
from app.clock import utcnow
from app.coalesce import Coalescer
from app.conflicts import ScoringContention, retry_on_conflict
from app.credentials import CredentialVerifier
from app.credentials.checks import dedup_nullifiers
from app.credentials.verifier import ROW_HITS, ROW_MISSES, row_key
from app.errors import InvalidAddress, NotFound, ServiceError
from app.metrics import CONTENTION_FAILURES, TRANSACTION_RETRIES, Tally
from app.scoring import human_points
from app.scoring.communities import Communities, Community, CommunityLookup, ScoringFailed
from app.scoring.dedup import Candidate, Link, plan_lifo
from app.scoring.memo import RescoreMemo
from app.scoring.result import ScoreResult, compute_score
from app.scoring.weights import WeightError
from db.queries import human_points as human_points_sql
from db.queries import scoring as sql

log = logging.getLogger(__name__)

MAX_LIFO_ATTEMPTS = 5
# Stored stamps one score may verify (fetch and check) that this worker has not seen: twice a bulk
# write, far above what a real address holds. Past it the request ends with a 503 after verifying
# that many; the verdicts stay cached, so a retry goes on from there and every request's work is
# bounded whatever an address holds.
MAX_VERIFICATIONS_PER_REQUEST = 200
_HASH_LINK_RACES = TRANSACTION_RETRIES.labels("hash_link_race")


class VerificationBudgetExceeded(ServiceError):
    status = 503
    default_detail = "Too many new stamps to verify at once; the work done is kept, please retry."
    retry_after = 1


class ScoringService:
    def __init__(self, pool, verifier: CredentialVerifier, points: human_points.HumanPointsSettings,
                 multi_nullifier: bool = False, clock: Callable[[], datetime] = utcnow,
                 communities: Communities | None = None, sync_cache_size: int = 10_000,
                 async_commit: bool = False, coalescer: Coalescer | None = None, memo_size: int = 10_000):
        self._pool = pool
        self._memo = RescoreMemo(memo_size)
        self._coalescer = coalescer
        # SCORE_ASYNC_COMMIT: a rescore's own transaction writes only what a rescore derives again
        # (score, events, hash links, the passport's stamp copies, points), so it may commit without
        # waiting for the WAL flush. Stamp writes (score_within, in the caller's transaction) never.
        self._durable = not async_commit
        self._communities = communities or Communities(pool, ttl=0)
        self._verifier = verifier
        self._points = points
        self._multi_nullifier = multi_nullifier
        self._clock = clock
        self._sync = StampSync(sync_cache_size)

    def score(self, raw_address: str, lookup: CommunityLookup) -> ScoreResult:
        """Rescore in a transaction of its own (retried whole on a deadlock); with a coalescer,
        requests for one address and community that arrive together share a rescore that started
        after each of them arrived (app/coalesce.py)."""
        address = self.checked_address(raw_address, lookup)

        def rescore() -> ScoreResult:
            return retry_on_conflict(lambda: self._score_once(address, lookup))

        if self._coalescer is None:
            return rescore()
        return self._coalescer.run((address, lookup), rescore)

    def score_within(self, cur, address: str, lookup: CommunityLookup,
                     read: sql.ScoreRead | None = None) -> ScoreResult:
        """Rescore inside the caller's open transaction: the reads see its uncommitted writes (the
        stamp endpoints write the cache and rescore atomically). ``address`` is already valid.
        ``read``: the score's read of the address for ``lookup.community_id``, when the caller's write
        made it (db/queries/ceramic_cache.py)."""
        community = self._communities.get(lookup, cur)
        if read is None or community.id != lookup.community_id:
            read = sql.read_for_score(cur, address, community.id)
        candidates = self._valid_stamps(read.stamp_rows, address, cur)
        context = sql.complete_context(cur, read, community.id, _hashes(candidates))
        return self._write(cur, community, candidates, _links(context.links), address, self._clock())

    def verify_new_rows(self, address: str, rows) -> None:
        """Verify stamp rows just written for ``address`` ([(id, version, stored JSON text, the
        credential the text encodes)]), so the rescore that follows finds them known."""
        tally = Tally()
        for cache_id, version, text, credential in rows:
            self._verifier.verify_stored(text, address, row=row_key(cache_id, version), remember_text=True,
                                         decoded=credential, tally=tally)
        tally.add()

    def checked_address(self, raw_address: str, lookup: CommunityLookup) -> str:
        """The address, valid; with a bad one, 404 first if the scorer is unknown (Python's v2 order,
        app/addresses.py)."""
        try:
            return normalize_address(raw_address)
        except InvalidAddress:
            with self._pool.cursor() as cur:
                if not sql.community_exists(cur, lookup.community_id, account_id=lookup.account_id,
                                            ref=lookup.ref):
                    raise NotFound(lookup.not_found) from None
            raise

    def _score_once(self, address: str, lookup: CommunityLookup) -> ScoreResult:
        community = self._communities.get(lookup)
        read = None
        recalled = self._memo.recall(community, address, self._verifier.generation, self._verifier.now_aware(),
                                     self._clock())
        if recalled is not None and not self._points_due(community, recalled.result,
                                                         recalled.result.last_score_timestamp):
            # Nothing changed since the remembered rescore if the read's digest is the same: then
            # this one statement wrote the score, else it wrote nothing and its read is scored below.
            with self._pool.cursor(durable=self._durable) as cur:
                read, score_id = sql.read_and_persist_if(cur, recalled.digest, recalled.passport_id,
                                                         recalled.result.record(), recalled.events, recalled.clashes)
            self._memo.answered(community, address, hit=score_id is not None)
            if score_id is not None:
                return recalled.result
        # Credentials are checked before anything is written. When every row is known (the usual
        # case) one read brings the stamp rows and the rest of the context; otherwise no connection
        # is held while the CPU verifies proofs, and passport and links are read afresh after.
        context = None
        with self._pool.cursor() as cur:
            if read is None:
                read = sql.read_for_score(cur, address, community.id)
            candidates = self._valid_stamps(read.stamp_rows, address, cur, known_only=True)
            if candidates is not None:
                context = sql.complete_context(cur, read, community.id, _hashes(candidates))
        # Remembered below only if scored from this read without verifying a row (app/scoring/memo.py).
        from_read = context is not None
        if context is None:
            candidates = self._valid_stamps(read.stamp_rows, address)
            with self._pool.cursor() as cur:
                context = sql.load_score_context(cur, address, community.id, _hashes(candidates))
        links, now = _links(context.links), self._clock()
        plan = plan_lifo(candidates, links, address, community.id, now)
        result = self._result(plan, community, address, now)
        if not plan.writes and not self._points_due(community, result, now):
            # The usual rescore: no hash link changes and no points, so the write is one statement,
            # which is a transaction of its own (no BEGIN/COMMIT round trips).
            with self._pool.cursor(durable=self._durable) as cur:
                if (context.passport_id is not None
                        and self._sync.holds(context.passport_id, context.stamp_rows, candidates, result)
                        and sql.persist_score(cur, context.passport_id, result.record(), plan.events) is not None):
                    if from_read:
                        self._remember(community, address, read, context.passport_id, plan, links)
                    return result
                self._persist(cur, result, plan.events, candidates)
            return result
        with self._pool.transaction(durable=self._durable) as cur:
            return self._write(cur, community, candidates, links, address, now)

    def _remember(self, community: Community, address: str, read, passport_id: int, plan, links: dict[str, Link]):
        """Remember a rescore that wrote no link: its counted stamps own their links, which the
        read's digest covers; the links of its deduplicated stamps (all present, or the plan would
        have written them) are remembered as they were."""
        owned = {link[0] for link in read.owned_links}
        if not _hashes(plan.valid).issubset(owned):
            return
        clashes = {n: links.get(n) for stamp in plan.deduped for n in stamp.nullifiers}
        if None in clashes.values():
            return  # defensive: a nullifier without a link would have been written
        self._memo.remember(community, address, self._verifier.generation, read.digest, passport_id, plan.valid,
                            plan.deduped, list(clashes.values()))

    def _write(self, cur, community: Community, candidates: list[Candidate], links: dict[str, Link],
               address: str, now: datetime) -> ScoreResult:
        """Links, passport, stamps, score, events and points inside the caller's transaction."""
        plan = self._apply_lifo(cur, candidates, links, address, community.id, now)
        result = self._result(plan, community, address, now)
        self._persist(cur, result, plan.events, candidates)
        if self._points_due(community, result, now):
            keys, actions = human_points.awards(result.counted_nullifiers)
            human_points_sql.award(cur, address, community.id, keys, actions, self._points.mta_enabled)
        return result

    def _persist(self, cur, result: ScoreResult, events: list[dict], candidates: list[Candidate]) -> None:
        persisted = sql.persist_score_and_stamps(cur, result.record(), events)
        self._sync.wrote(persisted.passport_id, persisted.stamp_rows, candidates, result)

    @staticmethod
    def _result(plan, community: Community, address: str, now: datetime) -> ScoreResult:
        try:
            return compute_score(plan, community.weights, community.threshold, address, community.id, now)
        except WeightError as exc:
            log.error("community %s: %s", community.id, exc)
            raise ScoringFailed() from None

    def _points_due(self, community: Community, result: ScoreResult, now: datetime) -> bool:
        return self._points.should_write(community.human_points_program, result.passing, now)

    def _valid_stamps(self, rows, address: str, cur=None, known_only: bool = False) -> list[Candidate] | None:
        """The first valid stamp per provider among the read's stamp rows. Rows the verifier has not
        seen are fetched (on ``cur``, else on a connection of their own) and verified; with
        ``known_only``, None instead when there are such rows."""
        verdicts, now = {}, self._verifier.now_aware()
        for cache_id, version, _, revoked in rows:
            if not revoked:
                verdicts[cache_id] = self._verifier.verify_row(row_key(cache_id, version), address, now)
        unknown = [cache_id for cache_id, verdict in verdicts.items() if verdict is None]
        if unknown and known_only:
            return None  # asked again without known_only: counted then
        ROW_HITS.inc(len(verdicts) - len(unknown))
        if unknown:  # an update of a metric writes to its memory-mapped file: none for nothing
            ROW_MISSES.inc(len(unknown))
        over_budget = len(unknown) > MAX_VERIFICATIONS_PER_REQUEST
        unknown = unknown[:MAX_VERIFICATIONS_PER_REQUEST]
        if unknown:
            if cur is None:
                with self._pool.cursor() as own:
                    texts = sql.stamp_texts(own, unknown)
            else:
                texts = sql.stamp_texts(cur, unknown)
            tally = Tally()
            for cache_id, version, text in texts:
                verdicts[cache_id] = self._verifier.verify_stored(text, address, row=row_key(cache_id, version),
                                                                  tally=tally)
            tally.add()
        if over_budget:
            raise VerificationBudgetExceeded()
        candidates: dict[str, Candidate] = {}
        for cache_id, version, provider, _revoked in rows:
            verdict, fields = verdicts.get(cache_id) or (None, None)
            if provider in candidates or verdict is None:
                continue  # revoked, or gone between the two reads
            if not verdict.valid:
                log.debug("stamp %s skipped: %s", cache_id, verdict.reason)
                continue
            candidates[provider] = Candidate(
                cache_id=cache_id, provider=provider, version=version,
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
            _HASH_LINK_RACES.inc()
            sql.rollback_hash_links(cur)
            hashes = {n for c in candidates for n in c.nullifiers}
            links = {h: Link(h, a, e) for h, a, e in sql.load_hash_links(cur, community_id, hashes)}
        CONTENTION_FAILURES.inc()
        raise ScoringContention()


class StampSync:
    """Which passports' ``registry_stamp`` rows this worker wrote, for which stamps.

    After writing a passport's stamps the worker remembers a digest of the (id, version) of the
    rows it left there and of the (id, version) of the counted ceramic-cache rows they copy. While a
    later score finds exactly those row versions for exactly those counted rows, the rows still hold
    the counted stamps (any write by anyone gives a row a new version, and new rows new ids), so the
    copy and its comparison are skipped. Any difference means the full write, which compares."""

    def __init__(self, size: int):
        self._digests: BoundedCache[bytes] = BoundedCache(size)

    def holds(self, passport_id: int, stamp_rows, candidates: list[Candidate], result: ScoreResult) -> bool:
        return self._digests.get(passport_id) == _sync_digest(stamp_rows, candidates, result)

    def wrote(self, passport_id: int, stamp_rows, candidates: list[Candidate], result: ScoreResult) -> None:
        self._digests.put(passport_id, _sync_digest(stamp_rows, candidates, result))


def _sync_digest(stamp_rows, candidates: list[Candidate], result: ScoreResult) -> bytes:
    versions = {c.cache_id: c.version for c in candidates}
    numbers = array("q", [n for row in sorted(stamp_rows) for n in row])
    numbers.append(-1)  # separates the two lists
    numbers.extend(n for i in sorted(result.counted_cache_ids) for n in (i, versions[i]))
    return hashlib.blake2b(numbers.tobytes(), digest_size=16).digest()


def _hashes(candidates: list[Candidate]) -> set[str]:
    return {n for c in candidates for n in c.nullifiers}


def _links(rows) -> dict[str, Link]:
    return {h: Link(h, a, _timestamp(e)) for h, a, e in rows}


def _timestamp(value) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)
