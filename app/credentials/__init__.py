"""Verification of Passport stamps (W3C verifiable credentials).

Plain synchronous code with no web-framework or gevent import. The scorer verifies stored rows::

    verifier = CredentialVerifier(trusted_issuers)
    known = verifier.verify_row(row_key(row_id, xmin), address)          # None: not seen yet
    if known is None:
        verdict, fields = verifier.verify_stored(text, address, row=row_key(row_id, xmin))

(``verify_stored(text, address)`` and ``verify(credential, address)`` are the same verification
for tools and tests.) Nothing here raises on bad input.

Files: ``checks.py`` (reasons, field checks, nullifiers), ``eip712.py`` and ``ed25519.py`` (the two
proof types), ``jsonld.py`` (offline URDNA2015), ``verifier.py`` (the one verification and its
caches), ``signing.py`` (issuing helpers for tests, seeding and benchmarks).
"""

from .checks import SUBJECT_PREFIX, Reason, Verdict, nullifiers_of
from .verifier import DEFAULT_CACHE_SIZE, CredentialVerifier, check_proof, row_key

__all__ = [
    "DEFAULT_CACHE_SIZE",
    "SUBJECT_PREFIX",
    "CredentialVerifier",
    "Reason",
    "Verdict",
    "check_proof",
    "nullifiers_of",
    "row_key",
]
