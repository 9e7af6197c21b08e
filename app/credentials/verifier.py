"""CredentialVerifier: field checks on every call, proof checks cached per credential.

``verify`` takes a credential object (a stamp being written); ``verify_stored`` a stored stamp's
JSON text (the scoring read), keyed by a digest of that text."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from typing import Any

import orjson

from . import ed25519, eip712
from .cache import BoundedCache, credential_digest
from .checks import (VALID, Reason, StampFields, Verdict, check_fields, check_stamp_fields, invalid,
                     stamp_fields, utcnow)

log = logging.getLogger(__name__)

DEFAULT_CACHE_SIZE = 50_000
# Real stamps are 2-4 KB of JSON; anything far larger is refused before any
# parsing or cryptography.
DEFAULT_MAX_BYTES = 64 * 1024
MAX_DEPTH = 24

_MISSING: Any = object()

PROOF_VERIFIERS: dict[str, Callable[[dict], str | None]] = {
    eip712.PROOF_TYPE: eip712.verify_proof,
    ed25519.PROOF_TYPE: ed25519.verify_proof,
}


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
    if _too_deep(credential, MAX_DEPTH):
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
        self.trusted_issuers = frozenset(i for i in trusted_issuers if isinstance(i, str))
        self.now = now
        self.max_bytes = max_bytes
        self.cache: BoundedCache[str | None] = BoundedCache(cache_size)

    def verify(self, credential: Any, address: str) -> Verdict:
        try:
            return self._verify(credential, address)
        except Exception:  # defensive: a bug here must not fail a whole score
            log.exception("credential verification failed unexpectedly")
            return invalid(Reason.MALFORMED)

    def verify_stored(self, text: str, address: str) -> tuple[Verdict, StampFields | None]:
        """Verify a stored stamp given as its JSON text (as the database returns it): the verdict,
        and the credential's ``stamp_fields`` when it is valid. Never raises.

        The proof result is cached by a digest of the text itself (the text of equal ``jsonb``
        values is identical), which is cheaper than ``verify``'s digest of a canonical
        re-serialization. Only the proof result is kept: with the extracted fields too, an entry
        grew from ~85 to ~820 bytes (measured), which 100,000 entries per worker cannot afford."""
        try:
            return self._verify_stored(text, address)
        except Exception:  # defensive: a bug here must not fail a whole score
            log.exception("credential verification failed unexpectedly")
            return invalid(Reason.MALFORMED), None

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
        key = b"t" + hashlib.blake2b(text.encode(), digest_size=20).digest()  # "t": not ``verify``'s keys
        reason = self.cache.get(key, _MISSING)
        if reason is _MISSING:
            reason = check_proof(credential)
            self.cache.put(key, reason)
        return (VALID, fields) if reason is None else (invalid(reason), None)

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
        reason = self.cache.get(key, _MISSING)
        if reason is _MISSING:
            reason = check_proof(credential)
            self.cache.put(key, reason)
        return VALID if reason is None else invalid(reason)

