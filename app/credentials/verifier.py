"""CredentialVerifier: whether a Passport stamp is valid for an address, proofs checked once.

One implementation, ``verify_stored(text, address, row=...)``: a stored stamp's JSON text (as the
database returns it) is decoded, checked field by field (issuer trusted, not expired, subject is
the address, provider, nullifiers) and its proof verified. What production does with it:

* a score asks first by stored row version (``verify_row``: the row's id and ``xmin``, see
  ``row_key``), and verifies the text only of rows it has not seen (``verify_stored(..., row=key)``),
  which remembers under the row what ``verify_row`` needs, expiry still judged at each use; a
  known stamp costs neither the database nor this process a decode of its JSON;
* a stamp being written is verified the same way (``remember_text=True``), from the body's
  credential and its text as posted (orjson's spelling; nothing is read back), and its proof's
  verdict is also kept under the digest of that text, so the same stamp posted again (a new row,
  the same text) takes the verdict from there: no cryptography twice. The database's respelling
  of the stamp (jsonb orders keys its own way) has another digest: should the row's entry be
  evicted, a score that verifies the stored text checks the proof once more.

``verify_stored(text, address)`` without a row and ``verify(credential, address)`` (an object,
serialized first) are thin wrappers over the same code for tools and tests: the fields are checked
on every call and the proof's verdict is kept under the text's digest.

Verdicts that a stamp is valid and verdicts that it is not live in separate bounded caches, so a
flood of bad stamps evicts only other bad stamps' verdicts, never the valid ones the scores need.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from typing import Any, NamedTuple

import orjson

from app.caches import BoundedCache
from app.clock import parse_expiration, utcnow
from app.metrics import CREDENTIAL_CACHE, CREDENTIAL_CHECKS, Tally

from . import ed25519, eip712
from .checks import (
    VALID,
    Reason,
    StampFields,
    Verdict,
    check_fields,
    expiry_reason,
    invalid,
    issuer_reason,
    stamp_fields,
    subject_reason,
)

log = logging.getLogger(__name__)

DEFAULT_CACHE_SIZE = 50_000
# Real stamps are 2-4 KB of JSON; anything far larger is refused before any
# parsing or cryptography.
DEFAULT_MAX_BYTES = 64 * 1024
MAX_DEPTH = 24

_MISSING: Any = object()
_PROOF_HIT, _PROOF_MISS = CREDENTIAL_CACHE.labels("proof", "hit"), CREDENTIAL_CACHE.labels("proof", "miss")
ROW_HITS, ROW_MISSES = CREDENTIAL_CACHE.labels("row", "hit"), CREDENTIAL_CACHE.labels("row", "miss")
_CHECKED = {reason: CREDENTIAL_CHECKS.labels("invalid", reason)
            for name, reason in vars(Reason).items() if not name.startswith("_")}
_CHECKED[None] = CREDENTIAL_CHECKS.labels("valid", "")
_CHECKED_OTHER = CREDENTIAL_CHECKS.labels("invalid", "other")
# A row entry whose proof was not checked: the stamp was already expired when it was cached.
_UNCHECKED = "?"


def row_key(row_id: int, version: int) -> int:
    """The cache key of one version of a stored row: its id and its ``xmin``. PostgreSQL gives every
    UPDATE of a row a new ``xmin``, so a key never outlives the content it was computed from."""
    return (row_id << 32) | (version & 0xFFFFFFFF)


def _entry(value: list) -> str:
    """A row entry as JSON text. A str, not orjson's bytes: those keep a 4 KB buffer allocated
    whatever their length (measured with orjson 3.13), which for 100,000 entries is 400 MB."""
    return orjson.dumps(value).decode()


class RowFields(NamedTuple):
    """What the scorer reads from a valid stored stamp (the same names as in ``StampFields``)."""

    expires_at: datetime
    expiration_raw: str
    nullifiers: tuple[str, ...]
    stored_nullifiers: tuple[str, ...]

PROOF_VERIFIERS: dict[str, Callable[[dict], str | None]] = {
    eip712.PROOF_TYPE: eip712.verify_proof,
    ed25519.PROOF_TYPE: ed25519.verify_proof,
}
# Proofs whose check walks the whole document recursively (JSON-LD canonicalization) get its depth
# bounded first. The EIP-712 encoder visits only the members its types declare and bounds its own
# depth, so walking an EIP-712 stamp here (8% of a bulk POST's CPU) would only repeat that.
DEPTH_CHECKED = frozenset({ed25519.PROOF_TYPE})


# datetime/dataclass objects would otherwise be serialized as if they were strings/dicts, so a
# credential object that is not plain JSON could share a text with one that is.
_TEXT_OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


def credential_text(credential: Any, max_bytes: int) -> str:
    """The JSON text of a credential object, keys sorted (their order does not matter). Raises
    ``TypeError`` for values that are not plain JSON (non-string keys, integers beyond 64 bits,
    nesting deeper than orjson's limit, datetimes, lone surrogates) and ``ValueError`` above
    ``max_bytes``."""
    data = orjson.dumps(credential, option=_TEXT_OPTIONS)
    if len(data) > max_bytes:
        raise ValueError(f"credential of {len(data)} bytes")
    return data.decode()


def _too_deep(value: Any, limit: int) -> bool:
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        if isinstance(item, dict):
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)
    return False


def check_proof(credential: dict) -> str | None:
    """Verify the proof only (no issuer trust, subject or expiry, no size limit, no cache): None
    or a reason. ``CredentialVerifier`` is the entry point."""
    if not isinstance(credential, dict):
        return Reason.MALFORMED
    proof = credential.get("proof")
    if not isinstance(proof, dict):
        return Reason.MALFORMED
    proof_type = proof.get("type")
    verify = PROOF_VERIFIERS.get(proof_type) if isinstance(proof_type, str) else None
    if verify is None:
        return Reason.UNSUPPORTED_PROOF
    if proof_type in DEPTH_CHECKED and _too_deep(credential, MAX_DEPTH):
        return Reason.MALFORMED
    return verify(credential)


class CredentialVerifier:
    """Decides whether a Passport stamp is valid for an address (see the module's docstring).
    Never raises; caches per worker, bounded."""

    def __init__(
        self,
        trusted_issuers: Iterable[str],
        cache_size: int = DEFAULT_CACHE_SIZE,
        now: Callable[[], datetime] = utcnow,
        max_bytes: int = DEFAULT_MAX_BYTES,
    ) -> None:
        if isinstance(trusted_issuers, str):
            raise TypeError("trusted_issuers must be an iterable of DIDs, not one string")
        self.now = now
        self.max_bytes = max_bytes
        self.generation = 0  # counts changes of the trusted issuers (remembered rescores compare it)
        # proof results (bytes digest keys) and stored row versions (``row_key`` int keys): valid
        # ones in ``cache``, the others in ``failures`` (a tenth of the size)
        self.cache: BoundedCache[str | None] = BoundedCache(cache_size)
        self.failures: BoundedCache[str | None] = BoundedCache(max(1000, cache_size // 10) if cache_size > 0 else 0)
        self.trusted_issuers = trusted_issuers

    @property
    def trusted_issuers(self) -> frozenset[str]:
        return self._trusted_issuers

    @trusted_issuers.setter
    def trusted_issuers(self, issuers: Iterable[str]) -> None:
        # Row entries hold issuer-trust verdicts: a new list starts from an empty cache.
        self._trusted_issuers = frozenset(i for i in issuers if isinstance(i, str))
        self.generation += 1
        self.cache.clear()
        self.failures.clear()

    def _get(self, key, default=None):
        value = self.cache.get(key, _MISSING)
        return self.failures.get(key, default) if value is _MISSING else value

    def _put(self, key, value, valid: bool) -> None:
        (self.cache if valid else self.failures).put(key, value)

    def _proof_reason(self, text: str, credential: dict, remember: bool, tally: Tally) -> str | None:
        """The proof's verdict (None: valid), from the digest of the text when it was remembered
        before, else checked now (and remembered under that digest with ``remember``)."""
        key = b"t" + hashlib.blake2b(text.encode(), digest_size=20).digest()  # "t": not ``verify``'s keys
        reason = self._get(key, _MISSING)
        if reason is _MISSING:
            tally.inc(_PROOF_MISS)
            reason = check_proof(credential)
            if remember:
                self._put(key, reason, valid=reason is None)
        else:
            tally.inc(_PROOF_HIT)
        return reason

    def verify_row(self, row: int, address: str,
                   now: datetime | None = None) -> tuple[Verdict, RowFields | None] | None:
        """The verdict on a stored row version seen before (``verify_stored(..., row=...)``), with
        the expiry checked against ``now`` (default: the verifier's clock); None when unknown (fetch
        its text). Never raises."""
        entry = self._get(row)
        if entry is None:
            return None
        try:
            static, expiration_raw, later, nullifiers, stored = orjson.loads(entry)
            if static is not None:
                return invalid(static), None
            expires_at = parse_expiration(expiration_raw)
            if expires_at < (now or self._now_aware()):
                return invalid(Reason.EXPIRED), None
            if later == _UNCHECKED:
                return None
            if later is not None:
                return invalid(later), None
            nullifiers = tuple(nullifiers)
            return VALID, RowFields(expires_at, expiration_raw, nullifiers,
                                    nullifiers if stored == 0 else tuple(stored))
        except Exception:  # defensive: an unreadable entry is simply unknown
            log.exception("credential row cache entry unreadable")
            return None

    def verify_stored(self, text: str, address: str, row: int | None = None, remember_text: bool = False,
                      decoded: Any = _MISSING, tally: Tally | None = None) -> tuple[Verdict, StampFields | None]:
        """Verify a stored stamp given as its JSON text: the verdict, and the credential's
        ``stamp_fields`` when it is valid. Never raises.

        With ``row`` (a ``row_key``; ``address`` must be the row's own), what ``verify_row`` needs
        is remembered under it: the checks that cannot change for that row version, the expiry and,
        when valid, the nullifiers, as one short JSON string. The proof's verdict is remembered
        under the text's digest without ``row`` or with ``remember_text`` (a stamp being written,
        which may be posted again), so the rows scores read fill the cache once, not twice.

        ``decoded``: ``text`` decoded, when the caller has it (a stamp being written: the body's
        credential, and ``text`` its JSON as the body's schema wrote it), so that it is not decoded
        again. It must equal ``orjson.loads(text)``.

        ``tally``: where the verdict's metrics are counted, when the caller verifies several stamps
        and adds them up once (``Tally.add``); without one, they are added at once."""
        own = tally is None
        tally = Tally() if own else tally
        try:
            return self._verify_text(text, address, row, remember_text or row is None, decoded, tally)
        except Exception:  # defensive: a bug here must not fail a whole score
            log.exception("credential verification failed unexpectedly")
            return invalid(Reason.MALFORMED), None
        finally:
            if own:
                tally.add()

    def verify(self, credential: Any, address: str) -> Verdict:
        """``verify_stored`` for a credential object (a tool's or a test's): its fields are checked
        first, then its JSON text (keys sorted, so their order does not matter) is verified."""
        try:
            reason = check_fields(credential, address, self.trusted_issuers, self._now_aware())
            if reason is not None:
                return invalid(reason)
            text = credential_text(credential, self.max_bytes)
        except (TypeError, ValueError):  # not plain JSON, or too large
            return invalid(Reason.MALFORMED)
        except Exception:  # defensive: a bug here must not fail a whole score
            log.exception("credential verification failed unexpectedly")
            return invalid(Reason.MALFORMED)
        return self.verify_stored(text, address)[0]

    def _verify_text(self, text: str, address: str, row: int | None, remember_text: bool,
                     decoded: Any, tally: Tally) -> tuple[Verdict, StampFields | None]:
        """The one verification: decode, field checks in Python's order (issuer trusted, not
        expired, subject), then the proof, not on huge input and not on an expired stamp."""
        try:
            credential = orjson.loads(text) if decoded is _MISSING else decoded
        except (orjson.JSONDecodeError, TypeError):
            if row is not None:
                self._put(row, _entry([Reason.MALFORMED, None, None, None, None]), valid=False)
            tally.inc(_CHECKED[Reason.MALFORMED])
            return invalid(Reason.MALFORMED), None
        fields, now = stamp_fields(credential), self._now_aware()
        static = issuer_reason(fields, self.trusted_issuers)
        later, nullifiers, stored = None, None, None
        if static is None:
            if expiry_reason(fields, now) is not None:
                later = _UNCHECKED  # no cryptography for an expired stamp
            else:
                later = subject_reason(fields, address)
                if later is None:
                    later = (Reason.MALFORMED if len(text) > self.max_bytes
                             else self._proof_reason(text, credential, remember_text, tally))
                if later is None:
                    nullifiers = list(fields.nullifiers)
                    stored = 0 if fields.stored_nullifiers == fields.nullifiers else list(fields.stored_nullifiers)
        if row is not None:
            self._put(row, _entry([static, fields.expiration_raw if static is None else None, later,
                                   nullifiers, stored]), valid=static is None and later is None)
        reason = static or expiry_reason(fields, now) or later
        tally.inc(_CHECKED.get(reason, _CHECKED_OTHER))
        return (VALID, fields) if reason is None else (invalid(reason), None)

    def now_aware(self) -> datetime:
        """The verifier's clock, timezone-aware."""
        return self._now_aware()

    def _now_aware(self) -> datetime:
        now = self.now()
        return now.replace(tzinfo=timezone.utc) if now.tzinfo is None else now
