"""Verification of Passport stamps (W3C verifiable credentials).

Plain synchronous code with no web-framework or gevent import::

    verifier = CredentialVerifier(trusted_issuers)
    verdict = verifier.verify(stamp, address)   # never raises
    if verdict.valid:
        nullifiers = nullifiers_of(stamp)

Files: ``checks.py`` (reasons, field checks, nullifiers), ``eip712.py`` and
``ed25519.py`` (the two proof types), ``jsonld.py`` (offline URDNA2015),
``cache.py`` (bounded cache + digest), ``verifier.py`` (the orchestration),
``signing.py`` (issuing helpers for tests, seeding and benchmarks).
"""

from .checks import SUBJECT_PREFIX, Reason, Verdict, nullifiers_of, utcnow
from .verifier import DEFAULT_CACHE_SIZE, CredentialVerifier, check_proof

__all__ = [
    "DEFAULT_CACHE_SIZE",
    "SUBJECT_PREFIX",
    "CredentialVerifier",
    "Reason",
    "Verdict",
    "check_proof",
    "nullifiers_of",
    "utcnow",
]
