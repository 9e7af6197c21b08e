"""Verdict, reasons, and the non-cryptographic credential checks.

These checks depend on the caller's address, the trusted-issuer list and the
clock, so they run on every call (they are cheap); only the proof result is
cached (see ``verifier.py``).

Semantics follow the Python (Django) scorer, scoring.md section 1.2, except
where that raises: a missing or unparseable ``expirationDate`` is an invalid
credential here, never an exception.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from app.clock import parse_expiration

SUBJECT_PREFIX = "did:pkh:eip155:1:"


class Reason:
    """The stable reason strings a ``Verdict`` may carry."""

    MALFORMED = "malformed credential"
    UNTRUSTED_ISSUER = "untrusted issuer"
    INVALID_EXPIRATION = "invalid expiration date"
    EXPIRED = "expired"
    SUBJECT_MISMATCH = "subject mismatch"
    MISSING_PROVIDER = "missing provider"
    MISSING_NULLIFIERS = "missing nullifiers"
    UNSUPPORTED_PROOF = "unsupported proof type"
    UNSUPPORTED_CONTEXT = "unsupported context"
    INVALID_SIGNATURE = "invalid signature"


@dataclass(frozen=True, slots=True)
class Verdict:
    valid: bool
    reason: str | None = None

    def __bool__(self) -> bool:
        return self.valid


VALID = Verdict(True, None)

# One shared instance per reason, so a verdict is never allocated per call.
_VERDICTS = {
    value: Verdict(False, value)
    for name, value in vars(Reason).items()
    if not name.startswith("_")
}


def invalid(reason: str) -> Verdict:
    return _VERDICTS.get(reason) or Verdict(False, reason)


def raw_nullifiers(subject: dict) -> list[str] | str:
    """The nullifier values of a credential subject, or a reason string.

    Python's rule: ``[hash]`` when ``hash`` is present (legacy stamps),
    otherwise ``nullifiers``. Values must be non-empty strings.
    """
    if "hash" in subject and subject["hash"] is not None:
        value = subject["hash"]
        if not isinstance(value, str):
            return Reason.MALFORMED
        return [value] if value else Reason.MISSING_NULLIFIERS
    values = subject.get("nullifiers")
    if values is None:
        return Reason.MISSING_NULLIFIERS
    if not isinstance(values, list):
        return Reason.MALFORMED
    if not values:
        return Reason.MISSING_NULLIFIERS
    for item in values:
        if not isinstance(item, str):
            return Reason.MALFORMED
        if not item:
            return Reason.MISSING_NULLIFIERS
    return values


def dedup_nullifiers(values: list[str] | tuple[str, ...] | str, multi_nullifier: bool = False) -> list[str]:
    """The nullifiers LIFO dedup uses, from ``raw_nullifiers``' result: unless ``multi_nullifier``
    (the ``FF_MULTI_NULLIFIER == "on"`` flag) only values starting with ``"v0"``; none for a reason."""
    if isinstance(values, str):
        return []
    if multi_nullifier:
        return list(values)
    return [value for value in values if value.startswith("v0")]


def nullifiers_of(credential: Any, multi_nullifier: bool = False) -> list[str]:
    """The nullifiers used for LIFO dedup (Python's ``get_nullifiers``).

    ``[credentialSubject.hash]`` if ``hash`` is present, else
    ``credentialSubject.nullifiers``; unless ``multi_nullifier`` (the
    ``FF_MULTI_NULLIFIER == "on"`` flag) only values starting with ``"v0"``
    are kept. Malformed input gives ``[]``.
    """
    if not isinstance(credential, dict):
        return []
    subject = credential.get("credentialSubject")
    if not isinstance(subject, dict):
        return []
    return dedup_nullifiers(raw_nullifiers(subject), multi_nullifier)


class StampFields(NamedTuple):
    """What the checks, and then the scorer, read from a credential (``stamp_fields``)."""

    is_object: bool
    issuer: str | None
    expires_at: datetime | None
    expiration_raw: Any                   # ``expirationDate`` as given (Python reports it verbatim)
    subject_is_object: bool
    subject_id: str | None
    provider: str | tuple[str]            # the provider, or (reason,) when missing or not a string
    nullifiers: tuple[str, ...] | str     # ``raw_nullifiers``' result, or its reason
    stored_nullifiers: tuple[str, ...]    # ``credentialSubject.nullifiers`` as stored (human points)


def stamp_fields(credential: Any) -> StampFields:
    """Everything the checks read from a credential, extracted once: the scorer then takes what it
    needs from the result and never reads the credential again."""
    if not isinstance(credential, dict):
        return _NOT_AN_OBJECT
    issuer = credential.get("issuer")
    issuer = issuer if isinstance(issuer, str) else None
    expiration_raw = credential.get("expirationDate")
    expires_at = parse_expiration(expiration_raw)
    subject = credential.get("credentialSubject")
    if not isinstance(subject, dict):
        return StampFields(True, issuer, expires_at, expiration_raw, False, None, (Reason.MALFORMED,),
                           Reason.MALFORMED, ())
    subject_id = subject.get("id")
    provider = subject.get("provider")
    if provider is None or provider == "":
        provider = (Reason.MISSING_PROVIDER,)
    elif not isinstance(provider, str):
        provider = (Reason.MALFORMED,)
    nullifiers = raw_nullifiers(subject)
    stored = subject.get("nullifiers")
    return StampFields(
        True, issuer, expires_at, expiration_raw, True, subject_id if isinstance(subject_id, str) else None,
        provider, nullifiers if isinstance(nullifiers, str) else tuple(nullifiers),
        tuple(v for v in stored if isinstance(v, str) and v) if isinstance(stored, list) else ())


_NOT_AN_OBJECT = StampFields(False, None, None, None, False, None, (Reason.MALFORMED,), Reason.MALFORMED, ())


def check_stamp_fields(fields: StampFields, address: Any, trusted_issuers: frozenset[str],
                       now: datetime) -> str | None:
    """Every non-cryptographic check, in order, on ``stamp_fields``' result; the first failure's
    reason or None.

    Order (Python's): issuer trusted, not expired, then the subject checks
    (subject DID, provider, nullifiers). ``expirationDate == now`` still passes.
    """
    return (issuer_reason(fields, trusted_issuers) or expiry_reason(fields, now)
            or subject_reason(fields, address))


def issuer_reason(fields: StampFields, trusted_issuers: frozenset[str]) -> str | None:
    """The checks before expiry: an object, a trusted issuer, a readable ``expirationDate``."""
    if not fields.is_object:
        return Reason.MALFORMED
    if fields.issuer is None or fields.issuer not in trusted_issuers:
        return Reason.UNTRUSTED_ISSUER
    if fields.expires_at is None:
        return Reason.INVALID_EXPIRATION
    return None


def expiry_reason(fields: StampFields, now: datetime) -> str | None:
    """Expired strictly before ``now`` (after ``issuer_reason`` passed)."""
    return Reason.EXPIRED if fields.expires_at < now else None


def subject_reason(fields: StampFields, address: Any) -> str | None:
    """The checks after expiry: the subject is the address, and names a provider and nullifiers."""
    if not fields.subject_is_object:
        return Reason.MALFORMED
    subject_id = fields.subject_id
    if not isinstance(address, str) or subject_id is None:
        return Reason.SUBJECT_MISMATCH
    expected = SUBJECT_PREFIX + address.lower()
    if len(subject_id) != len(expected) or subject_id.lower() != expected:
        return Reason.SUBJECT_MISMATCH
    if isinstance(fields.provider, tuple):
        return fields.provider[0]
    if isinstance(fields.nullifiers, str):
        return fields.nullifiers
    return None


def check_fields(
    credential: Any, address: Any, trusted_issuers: frozenset[str], now: datetime
) -> str | None:
    """Every non-cryptographic check of a credential, in order; the first failure's reason or None."""
    return check_stamp_fields(stamp_fields(credential), address, trusted_issuers, now)
