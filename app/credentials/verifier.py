"""CredentialVerifier: field checks on every call, proof checks cached per credential.

``verify`` takes a credential object (a stamp being written); ``verify_stored`` a stored stamp's
JSON text, keyed by a digest of that text. The scoring read asks first by stored row version
(``verify_row``: the row's id and ``xmin``), and fetches and verifies the text only of rows it has
not seen (``verify_stored(..., row=key)``), so a known stamp costs neither the database nor this
process a decode of its JSON. A stamp being written is remembered by the digest of its text too, so
a new row of the same text (the same stamp posted again) takes the proof's verdict from there: no
cryptography twice.

Verdicts that a stamp is valid and verdicts that it is not live in separate bounded caches, so a
flood of bad stamps evicts only other bad stamps' verdicts, never the valid ones the scores need."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from typing import Any, NamedTuple

import orjson

from . import ed25519, eip712
from .cache import BoundedCache, credential_digest
from .checks import (VALID, Reason, StampFields, Verdict, check_fields, check_stamp_fields,
                     expiry_reason, invalid, issuer_reason, parse_expiration, stamp_fields,
                     subject_reason, utcnow)

log = logging.getLogger(__name__)

DEFAULT_CACHE_SIZE = 50_000
# Real stamps are 2-4 KB of JSON; anything far larger is refused before any
# parsing or cryptography.
DEFAULT_MAX_BYTES = 64 * 1024
MAX_DEPTH = 24

_MISSING: Any = object()
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
    """Verify the proof only (no issuer trust, subject or expiry, no size limit,
    no cache): None or a reason. ``CredentialVerifier.verify`` is the entry point."""
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
    """Decides whether a Passport stamp is valid for an address.

    ``verify`` never raises. Issuer trust, subject and expiry are checked on
    every call; the proof result (a pure function of the credential) is kept
    in a bounded per-process cache keyed by a digest of the whole credential, so an
    unchanged stamp is re-verified without cryptography.
    """

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
        self.cache.clear()
        self.failures.clear()

    def _get(self, key, default=None):
        value = self.cache.get(key, _MISSING)
        return self.failures.get(key, default) if value is _MISSING else value

    def _put(self, key, value, valid: bool) -> None:
        (self.cache if valid else self.failures).put(key, value)

    def _proof_reason(self, text: str, credential: dict, remember: bool = True) -> str | None:
        """The proof's verdict (None: valid), from the digest of the stored text when it was
        remembered before, else checked now (and remembered under that digest with ``remember``)."""
        key = b"t" + hashlib.blake2b(text.encode(), digest_size=20).digest()  # "t": not ``verify``'s keys
        reason = self._get(key, _MISSING)
        if reason is _MISSING:
            reason = check_proof(credential)
            if remember:
                self._put(key, reason, valid=reason is None)
        return reason

    def verify(self, credential: Any, address: str) -> Verdict:
        try:
            return self._verify(credential, address)
        except Exception:  # defensive: a bug here must not fail a whole score
            log.exception("credential verification failed unexpectedly")
            return invalid(Reason.MALFORMED)

    def verify_stored(self, text: str, address: str, row: int | None = None,
                      remember_text: bool = False) -> tuple[Verdict, StampFields | None]:
        """Verify a stored stamp given as its JSON text (as the database returns it): the verdict,
        and the credential's ``stamp_fields`` when it is valid. Never raises.

        Without ``row``, the proof result is cached by a digest of the text itself (the text of
        equal ``jsonb`` values is identical), which is cheaper than ``verify``'s digest of a
        canonical re-serialization. With ``row`` (a ``row_key``; ``address`` must be the row's own),
        what ``verify_row`` needs is cached under it instead: the checks that cannot change for that
        row version, the expiry and, when valid, the nullifiers, as one short JSON string; the proof's
        verdict is also kept under the text's digest only with ``remember_text`` (a stamp being
        written, which may be posted again), so the rows scores read fill the cache once, not twice."""
        try:
            if row is None:
                return self._verify_stored(text, address)
            return self._verify_row_text(text, address, row, remember_text)
        except Exception:  # defensive: a bug here must not fail a whole score
            log.exception("credential verification failed unexpectedly")
            return invalid(Reason.MALFORMED), None

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

    def _verify_row_text(self, text: str, address: str, row: int,
                         remember_text: bool) -> tuple[Verdict, StampFields | None]:
        try:
            credential = orjson.loads(text)
        except (orjson.JSONDecodeError, TypeError):
            self._put(row, _entry([Reason.MALFORMED, None, None, None, None]), valid=False)
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
                    # as in ``verify``: no cryptography on huge input
                    later = (Reason.MALFORMED if len(text) > self.max_bytes
                             else self._proof_reason(text, credential, remember_text))
                if later is None:
                    nullifiers = list(fields.nullifiers)
                    stored = 0 if fields.stored_nullifiers == fields.nullifiers else list(fields.stored_nullifiers)
        self._put(row, _entry([static, fields.expiration_raw if static is None else None, later,
                               nullifiers, stored]), valid=static is None and later is None)
        reason = static or expiry_reason(fields, now) or later
        return (VALID, fields) if reason is None else (invalid(reason), None)

    def _verify_stored(self, text: str, address: str) -> tuple[Verdict, StampFields | None]:
        try:
            credential = orjson.loads(text)
        except (orjson.JSONDecodeError, TypeError):
            return invalid(Reason.MALFORMED), None
        fields = stamp_fields(credential)
        reason = check_stamp_fields(fields, address, self.trusted_issuers, self._now_aware())
        if reason is not None:
            return invalid(reason), None
        if len(text) > self.max_bytes:  # as in ``verify``: no cryptography on huge input
            return invalid(Reason.MALFORMED), None
        reason = self._proof_reason(text, credential)
        return (VALID, fields) if reason is None else (invalid(reason), None)

    def now_aware(self) -> datetime:
        """The verifier's clock, timezone-aware."""
        return self._now_aware()

    def _now_aware(self) -> datetime:
        now = self.now()
        return now.replace(tzinfo=timezone.utc) if now.tzinfo is None else now

    def _verify(self, credential: Any, address: str) -> Verdict:
        now = self._now_aware()
        reason = check_fields(credential, address, self.trusted_issuers, now)
        if reason is not None:
            return invalid(reason)
        try:
            key = credential_digest(credential, self.max_bytes)
        except (TypeError, ValueError):  # orjson.JSONEncodeError is a TypeError
            return invalid(Reason.MALFORMED)
        reason = self._get(key, _MISSING)
        if reason is _MISSING:
            reason = check_proof(credential)
            self._put(key, reason, valid=reason is None)
        return VALID if reason is None else invalid(reason)

