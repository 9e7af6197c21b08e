"""What a worker remembers of unchanged rescores, so that the next one takes one round trip.

Most rescores change nothing but the score's timestamp: the same stamp rows, every counted stamp
owning its nullifiers' hash links, no link or ``registry_stamp`` row to write, no human points due.
Such a rescore is remembered per (community, address): the digest of the read it was computed from
(``SCORE_READ``, db/queries/scoring.py) and the stamps that counted (row id, provider, expiry). The
next rescore of that address sends the read and the write in one statement
(``READ_AND_PERSIST_IF``): PostgreSQL writes the score and its SCU event only if the read's digest
is the remembered one, and the worker answers with the score of the remembered stamps at the new
time, without checking the stamps or planning the links again.

Why the same digest means the same answer: the read names every input of a score by version (each
stamp row's id, ``xmin`` and revocation, the passport, its ``registry_stamp`` rows' ``xmin``, the
content of the hash links the address owns), and any write gives a row a new ``xmin``. The other
inputs are compared in the worker: the scorer's configuration (``Community.config``), the
verifier's trusted issuers (``CredentialVerifier.generation``) and the clock (a rescore is recalled
only until the first of its stamps expires). A rescore that needed a row verified is not
remembered. When the digest differs, the statement has written nothing and the read it returned is
scored as usual.

A rescore with deduplicated stamps (their nullifiers claimed by another address) is remembered
with the hash links of those nullifiers as it found them (hash, owner, expiry): the statement
writes only if every one of them is still the same, and the memo answers only until the first of
them expires. Its LDP events, one per deduplicated stamp on every rescore as Python writes them, are
written by the same statement.

An entry is one ``bytes`` object keyed by another (the community id and the address's 20 bytes):
the read's digest, the configuration's, the passport id, the first expiry, the issuers' generation
and the number of counted stamps, then each counted stamp's row id, expiry and provider (a number in
the memo's own table of provider names), then, only with deduplicated stamps, those stamps and
their links as JSON. About 0.4 KB with its key for ten stamps, which the garbage collector does not
track; a worker holds at most ``SCORE_MEMO_SIZE`` of them, the oldest dropped first (README, "Memory
of a pod").
"""
from __future__ import annotations

import functools
import struct
from datetime import datetime, timedelta, timezone

import orjson

from app.caches import BoundedCache
from app.metrics import RESCORE_MEMO
from app.scoring.dedup import Candidate, Link, Plan
from app.scoring.result import ScoreResult, compute_score

_HIT, _STALE = RESCORE_MEMO.labels("hit"), RESCORE_MEMO.labels("stale")
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_NEVER = 2**63 - 1  # the first expiry of a rescore that counted no stamp, in microseconds
# read digest, config digest, passport id, first expiry (us), trusted issuers' generation, counted stamps
_HEAD = struct.Struct("<16s16sqqQH")
_STAMP_BYTES = 18  # row id, expiry, provider number
MAX_PROVIDERS = 4_096  # names in a memo's table: Passport has a few hundred providers


@functools.lru_cache(maxsize=256)
def _stamps(count: int) -> struct.Struct:
    """``count`` row ids, then their expiries (us), then their provider numbers."""
    return struct.Struct(f"<{count}q{count}q{count}H")


@functools.lru_cache(maxsize=4096)
def _moment(micros: int) -> datetime:
    """A counted stamp's expiry as a datetime: the same object for the same expiry, whose text
    app.formats.iso_repeated then finds formatted."""
    return _EPOCH + timedelta(microseconds=micros)


def _key(community_id: int, address: str) -> bytes:
    return community_id.to_bytes(8, "little", signed=True) + bytes.fromhex(address[2:])


def _micros(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(microseconds=1)


class Recalled:
    """A remembered rescore that may still hold: what to send (the read's digest, the passport, the
    hash links its deduplicated stamps clashed with, their LDP events), and the answer if it does."""

    __slots__ = ("digest", "passport_id", "result", "clashes", "events")

    def __init__(self, digest: str, passport_id: int, result: ScoreResult, clashes: list[Link] | None = None,
                 events: list[dict] | None = None):
        self.digest = digest
        self.passport_id = passport_id
        self.result = result
        self.clashes = clashes or []
        self.events = events or []


class RescoreMemo:
    def __init__(self, size: int):
        self._entries: BoundedCache[bytes] = BoundedCache(size)
        self._names: list[str] = []          # provider names by number
        self._numbers: dict[str, int] = {}   # and their numbers

    def __len__(self) -> int:
        return len(self._entries)

    def recall(self, community, address: str, issuers: int, now_aware: datetime,
               timestamp: datetime) -> Recalled | None:
        """The remembered rescore of ``address`` as a result at ``timestamp``, if one was computed
        with this scorer configuration and these trusted issuers and its counted stamps are all
        still unexpired at ``now_aware`` (the verifier's clock); else None."""
        entry = self._entries.get(_key(community.id, address))
        if entry is None:
            return None
        digest, config, passport_id, valid_until, known_issuers, count = _HEAD.unpack_from(entry)
        if (known_issuers != issuers or _micros(now_aware) > valid_until
                or config != bytes.fromhex(community.config)):
            return None
        values, names = _stamps(count).unpack_from(entry, _HEAD.size), self._names
        # Candidates enough for the answer: no human points are due (which would need the
        # nullifiers) in a remembered rescore.
        counted = [Candidate(cache_id, names[number], 0, (), _moment(expiry), "", ())
                   for cache_id, expiry, number in zip(values[:count], values[count:2 * count],
                                                       values[2 * count:], strict=True)]
        tail = entry[_HEAD.size + count * _STAMP_BYTES:]
        deduped, clashes = [], []
        if tail:
            stamps, links, clear_until = orjson.loads(tail)
            if _micros(timestamp) >= clear_until:
                return None  # a link it clashed with has expired: the stamp may count now
            deduped = [Candidate(0, names[number], 0, tuple(nullifiers), _EPOCH, raw, ())
                       for number, raw, nullifiers in stamps]
            clashes = [Link(h, a, _EPOCH + timedelta(microseconds=e)) for h, a, e in links]
        plan = Plan(valid=counted, deduped=deduped)
        result = compute_score(plan, community.weights, community.threshold, address, community.id, timestamp)
        result.counted_nullifiers = None
        events = [{"nullifiers": list(c.nullifiers), "provider": c.provider, "community_id": community.id}
                  for c in deduped]
        return Recalled(digest.hex(), passport_id, result, clashes, events)

    def remember(self, community, address: str, issuers: int, digest: str, passport_id: int,
                 counted: list[Candidate], deduped: list[Candidate] = (), clashes: list[Link] = ()) -> None:
        """Remember a rescore that counted ``counted`` (in the order it summed them) and
        deduplicated ``deduped`` (in its order) because of the hash links ``clashes`` (those of all
        their nullifiers), from a read whose digest was ``digest``."""
        numbers = [self._number(c.provider) for c in (*counted, *deduped)]
        if None in numbers:
            return  # the table of provider names is full: not remembered
        valid_until = min((_micros(c.expires_at) for c in (*counted, *deduped)), default=_NEVER)
        entry = _HEAD.pack(bytes.fromhex(digest), bytes.fromhex(community.config), passport_id, valid_until,
                           issuers, len(counted))
        entry += _stamps(len(counted)).pack(*(c.cache_id for c in counted), *(_micros(c.expires_at) for c in counted),
                                            *numbers[:len(counted)])
        if deduped:
            # A clash holds while its link is unexpired (dedup.plan_lifo: expires_at > now).
            clear_until = min((_micros(link.expires_at) for link in clashes), default=_NEVER)
            stamps = [[n, c.expiration_raw, c.nullifiers] for n, c in zip(numbers[len(counted):], deduped, strict=True)]
            links = [[link.hash, link.address, _micros(link.expires_at)] for link in clashes]
            entry += orjson.dumps([stamps, links, clear_until])
        self._entries.put(_key(community.id, address), entry)

    def _number(self, provider: str) -> int | None:
        number = self._numbers.get(provider)
        if number is None and len(self._names) < MAX_PROVIDERS:
            number = self._numbers[provider] = len(self._names)
            self._names.append(provider)
        return number

    def answered(self, community, address: str, hit: bool) -> None:
        """Count a recalled rescore's outcome; a stale one is forgotten (the full rescore that
        follows remembers it again if it can)."""
        if hit:
            _HIT.inc()
        else:
            _STALE.inc()
            self._entries.discard(_key(community.id, address))
