"""Shared helpers: throw-away issuer keys, fresh credentials, a verifier factory."""

from __future__ import annotations

import copy
import hashlib
import json
from datetime import datetime, timezone
from pathlib import Path

from app.credentials import CredentialVerifier
from app.credentials.signing import (
    ed25519_did,
    ethr_did,
    sign_ed25519_credential,
    sign_eip712_credential,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"

# Throw-away keys, derived from fixed labels so failures are reproducible.
EIP712_KEY = hashlib.sha256(b"tests/credentials eip712 issuer").digest()
OTHER_EIP712_KEY = hashlib.sha256(b"tests/credentials other eip712 issuer").digest()
ED25519_SEED = hashlib.sha256(b"tests/credentials ed25519 issuer").digest()
OTHER_ED25519_SEED = hashlib.sha256(b"tests/credentials other ed25519 issuer").digest()

ADDRESS = "0x" + "5b38da6a701c568545dcfcb03fcb875f56beddc4"
OTHER_ADDRESS = "0x" + "ab" * 20

ISSUED = datetime(2026, 1, 1, tzinfo=timezone.utc)
EXPIRES = datetime(2030, 1, 1, tzinfo=timezone.utc)
CREATED = datetime(2026, 1, 1, 12, 30, 15, 123000, tzinfo=timezone.utc)
NOW = datetime(2027, 1, 1, tzinfo=timezone.utc)

TRUSTED = [
    ethr_did(EIP712_KEY),
    ethr_did(OTHER_EIP712_KEY),
    ed25519_did(ED25519_SEED),
    ed25519_did(OTHER_ED25519_SEED),
]

PROOF_TYPES = ["eip712", "ed25519"]

_SIGNERS = {
    "eip712": (sign_eip712_credential, EIP712_KEY),
    "ed25519": (sign_ed25519_credential, ED25519_SEED),
}
_MEMO: dict = {}


def issue(kind: str, address: str = ADDRESS, provider: str = "Google", nullifiers=None, **kw):
    """A fresh stamp of ``kind`` (memoized: signing Ed25519 costs a canonicalization)."""
    sign, key = _SIGNERS[kind]
    if nullifiers is None and "legacy_hash" not in kw:
        nullifiers = [f"v0:{provider}:tests-1", f"v1:{provider}:tests-2"]
    kw.setdefault("issuance_date", ISSUED)
    kw.setdefault("expiration_date", EXPIRES)
    kw.setdefault("created", CREATED)
    memo_key = (kind, address, provider, tuple(nullifiers or ()), tuple(sorted(kw.items())))
    if memo_key not in _MEMO:
        _MEMO[memo_key] = sign(key, address, provider, nullifiers or [], **kw)
    return copy.deepcopy(_MEMO[memo_key])


def make_verifier(**kw) -> CredentialVerifier:
    kw.setdefault("now", lambda: NOW)
    return CredentialVerifier(kw.pop("trusted", TRUSTED), **kw)


def load_vectors() -> dict:
    return json.loads((FIXTURES / "credentials.json").read_text())
