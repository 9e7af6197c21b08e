"""The stamp store of an address (ceramic cache): writes that rescore atomically, reads, the UI score.

A write is one transaction: lock the address, soft-delete the replaced providers, insert the new
stamps and read what the rescore needs (one round trip), rescore, commit and read the live stamps
back (one round trip). Any failure before the commit (including the scorer's) rolls back the whole
write, so the previous stamps stay live.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import orjson

from app.clock import parse_expiration, utcnow
from app.conflicts import retry_on_conflict
from app.credentials.eip712 import canonical_proof_value
from app.errors import NotFound, ServiceError
from app.scoring import human_points
from app.scoring.result import ScoreView
from app.scoring.service import CommunityLookup, ScoringService
from app.scoring.weights import WeightError, Weights
from db.pool import TransactionConflict
from db.queries import ceramic_cache as sql
from db.queries import human_points as human_points_sql

log = logging.getLogger(__name__)

SOURCE_PASSPORT = 1
SOURCE_EMBED = 2
MAX_STAMPS_PER_REQUEST = 100  # Python's MAX_BULK_CACHE_SIZE
# Stored data is bounded. A real Passport credential is about 2 KB of JSON (an EIP-712 stamp with
# one or two nullifiers); a stamp four times that is refused (422) before anything is written.
MAX_STAMP_BYTES = 8 * 1024
# Live stamps of one address: far above the number of providers that exist (about 150 with the
# custom credentials of partners). A write that would pass it is refused (422, nothing written), and
# listings stop there: a listing is at most MAX_LIVE_STAMPS x MAX_STAMP_BYTES (4 MB).
MAX_LIVE_STAMPS = 500


def stamp_problem(text: str) -> str | None:
    """Why a credential serialized as ``text`` cannot be stored, or None."""
    if len(text) > MAX_STAMP_BYTES:
        return f"Stamp is too large (limit {MAX_STAMP_BYTES} bytes of JSON)."
    return None


class TooManyLiveStamps(ServiceError):
    status = 422


class MisconfiguredScorer(ServiceError):
    status = 500
    default_detail = "Unable to retrieve configured scorer!"


def new_row(credential: dict, text: str | None = None) -> sql.NewRow:
    """A cache row for a credential whose provider and proofValue were already validated;
    ``text``: its JSON serialization, when the caller already made it."""
    return sql.NewRow(
        provider=credential["credentialSubject"]["provider"],
        text=orjson.dumps(credential).decode() if text is None else text,
        proof_value=canonical_proof_value(credential["proof"]["proofValue"]),
        issuance_date=parse_expiration(credential.get("issuanceDate")),
        expiration_date=parse_expiration(credential.get("expirationDate")),
    )


@dataclass
class WriteResult:
    stamps_json: bytes  # JSON array of CachedStamp, as the database wrote it
    score: ScoreView


class StampService:
    def __init__(self, pool, scoring: ScoringService, points: human_points.HumanPointsSettings):
        self._pool = pool
        self._scoring = scoring
        self._points = points

    def write(self, address: str, community_id: int, *, remove: set[str], add: list,
              source_app: int | None, source_scorer_id: int | None | object = ...,
              require_existing: bool = False) -> WriteResult:
        """Replace the stamps of ``remove`` providers by ``add`` credentials and rescore, atomically.

        ``add``: credentials, or (credential, JSON text) pairs. The new rows record ``source_app``
        and ``source_scorer_id`` (by default the community scored). Credentials naming the same
        provider twice: the last one wins. A write that would leave the address with more than
        ``MAX_LIVE_STAMPS`` live stamps (and more than before) is refused, nothing written.
        ``require_existing``: 404 when no live stamp of ``remove`` exists (Python's DELETE)."""
        if source_scorer_id is ...:
            source_scorer_id = community_id
        credentials = {}  # provider -> (row, credential): the last one of a provider wins
        for credential, text in (item if isinstance(item, tuple) else (item, None) for item in add):
            row = new_row(credential, text)
            credentials[row.provider] = row, credential
        rows = [row for row, _ in credentials.values()]
        providers = sorted(remove | credentials.keys())
        lookup = CommunityLookup(community_id)

        def transaction() -> WriteResult:
            with self._pool.transaction() as cur:
                written = sql.replace_stamps(cur, address, community_id, providers, rows, source_app,
                                             source_scorer_id)
                inserted = written.inserted
                if require_existing and not written.deleted:
                    raise NotFound("Unable to find stamp to delete.")
                if written.kept + len(inserted) > max(MAX_LIVE_STAMPS, written.kept + written.deleted):
                    raise TooManyLiveStamps(f"Too many stamps for this address (limit {MAX_LIVE_STAMPS}).")
                if len(inserted) != len(rows):
                    # A writer that does not take this address's lock (another community's path)
                    # inserted a live row in between: start over.
                    raise TransactionConflict("concurrent stamp insert")
                # verified from the body's credentials (and their texts): nothing is read back
                self._scoring.verify_new_rows(address, [(r.id, r.version, credentials[r.provider][0].text,
                                                         credentials[r.provider][1]) for r in inserted])
                result = self._scoring.score_within(cur, address, lookup, written.read)
                # COMMIT and the listing in one message: the listing shows what was committed
                listing = sql.live_stamps_json(cur, address, limit=MAX_LIVE_STAMPS, compact=True,
                                               after_commit=True)
                return WriteResult(listing, result.view())

        return retry_on_conflict(transaction)

    def live_stamps(self, address: str) -> bytes:
        """The live stamps as the database's JSON array text (passed through, never decoded)."""
        with self._pool.cursor() as cur:
            return sql.live_stamps_json(cur, address, limit=MAX_LIVE_STAMPS)

    def ensure_scored(self, address: str, community_id: int) -> None:
        """Python's stamp listing scores an address that has no score yet for the ceramic scorer."""
        with self._pool.cursor() as cur:
            if sql.score_exists(cur, address, community_id):
                return
        try:
            self._scoring.score(address, CommunityLookup(community_id))
        except ServiceError as exc:  # a listing never fails because of the scorer
            log.warning("could not score %s for community %s: %s", address, community_id, exc.detail)

    def ui_score(self, address: str, community_id: int, now: datetime | None = None) -> ScoreView:
        """The stored score while it is valid (rescored when missing or expired), as Python does."""
        now = now or utcnow()
        points = None
        with self._pool.cursor() as cur:
            found = sql.stored_score(cur, address, community_id)
            if found is None:
                raise NotFound("Community matching the configured scorer id does not exist! "
                               "This is probably a misconfiguration!")
            program, stored = found
            fresh = stored is not None and (stored.expiration_date is None or stored.expiration_date >= now)
            if fresh and self._points.enabled and program:
                points = human_points.points_data(*human_points_sql.points(cur, address))
        if not fresh:  # rescore on a connection of its own, after this one went back to the pool
            return self._scoring.score(address, CommunityLookup(community_id)).view()
        return stored_view(address, stored, points)

    def weights(self, community_id: int) -> dict[str, float]:
        """{provider: weight} of the community's scorer; NotFound without such a community."""
        with self._pool.cursor() as cur:
            exists, text = sql.scorer_weights(cur, community_id)
        if not exists:
            raise NotFound("No Community matches the given query.")
        if text is None:
            raise MisconfiguredScorer()
        try:
            return Weights.from_json(text).as_floats()
        except (WeightError, ValueError):
            raise MisconfiguredScorer() from None


def stored_view(address: str, stored: sql.StoredScore, points: human_points.Points | None) -> ScoreView:
    """A stored score as Python reads it back: raw score and threshold from its evidence."""
    evidence = stored.evidence or {}
    raw = Decimal(evidence.get("rawScore", "0"))
    threshold = Decimal(evidence.get("threshold", "20"))
    return ScoreView(address, raw, raw >= threshold if stored.evidence else False, stored.last_score_timestamp,
                     stored.expiration_date, threshold, stored.error, stored.stamps or {}, points)
