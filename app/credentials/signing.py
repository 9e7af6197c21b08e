"""Issue Passport-style stamps with throw-away keys (tests, demo data, benchmarks).

Shapes mirror real stamps (and the vectors in tests/fixtures/credentials.json):

* ``sign_eip712_credential``: EthereumEip712Signature2021 from
  ``did:ethr:0x<address of the key>``, EIP-712 types embedded in
  ``proof.eip712Domain`` as DIDKit emits them.
* ``sign_ed25519_credential``: Ed25519Signature2018 (detached JWS) from
  ``did:key:z6Mk...`` derived from a 32-byte seed.

``legacy_hash`` issues an old-style stamp carrying ``credentialSubject.hash``
instead of ``nullifiers``. ``sign_eip712`` / ``sign_ed25519`` add a proof to
any unsigned credential (for tests that need unusual documents).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

from coincurve import PrivateKey
from nacl.signing import SigningKey

from .checks import SUBJECT_PREFIX
from .ed25519 import b64url_encode, did_key_from_public_key, verify_data
from .eip712 import keccak256, signing_message, typed_data_digest

VC_CONTEXT = "https://www.w3.org/2018/credentials/v1"
STATUS_LIST_CONTEXT = "https://w3id.org/vc/status-list/2021/v1"
EIP712_PROOF_CONTEXT = "https://w3id.org/security/suites/eip712sig-2021/v1"
SCHEMA_TEXT = "https://schema.org/Text"
JWS_HEADER = b'{"alg":"EdDSA","crit":["b64"],"b64":false}'

EIP712_DOMAIN = {"name": "VerifiableCredential"}


def _members(*pairs: tuple[str, str]) -> list[dict[str, str]]:
    return [{"name": name, "type": type_} for name, type_ in pairs]


def eip712_types(legacy_hash: bool = False) -> dict[str, list[dict[str, str]]]:
    """The EIP-712 types of a Passport stamp, as DIDKit embeds them in the proof."""
    if legacy_hash:
        context = _members(("hash", "string"), ("provider", "string"))
        subject = _members(
            ("@context", "@context"), ("hash", "string"), ("id", "string"), ("provider", "string")
        )
        extra: dict[str, list] = {}
    else:
        context = _members(("nullifiers", "NullifiersContext"), ("provider", "string"))
        subject = _members(
            ("@context", "@context"),
            ("nullifiers", "string[]"),
            ("id", "string"),
            ("provider", "string"),
        )
        extra = {"NullifiersContext": _members(("@container", "string"), ("@type", "string"))}
    return {
        "@context": context,
        "CredentialSubject": subject,
        "Document": _members(
            ("@context", "string[]"),
            ("credentialSubject", "CredentialSubject"),
            ("expirationDate", "string"),
            ("issuanceDate", "string"),
            ("issuer", "string"),
            ("proof", "Proof"),
            ("type", "string[]"),
        ),
        "EIP712Domain": _members(("name", "string")),
        **extra,
        "Proof": _members(
            ("@context", "string"),
            ("created", "string"),
            ("proofPurpose", "string"),
            ("type", "string"),
            ("verificationMethod", "string"),
        ),
    }


def format_date(value: datetime | str | None, default: datetime) -> str:
    """ISO 8601 in UTC with ``Z``; milliseconds only when non-zero (like real stamps).

    Strings are used as given; naive datetimes are taken as UTC."""
    if isinstance(value, str):
        return value
    value = value or default
    value = value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)
    millis = value.microsecond // 1000
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    return f"{text}.{millis:03d}Z" if millis else f"{text}Z"


def _key_bytes(private_key: bytes | str) -> bytes:
    if isinstance(private_key, str):
        private_key = bytes.fromhex(private_key.removeprefix("0x"))
    if len(private_key) != 32:
        raise ValueError("private key must be 32 bytes")
    return private_key


def eth_address(private_key: bytes | str) -> str:
    """Lowercase 0x address of a secp256k1 private key."""
    public = PrivateKey(_key_bytes(private_key)).public_key.format(compressed=False)[1:]
    return "0x" + keccak256(public)[-20:].hex()


def ethr_did(private_key: bytes | str) -> str:
    return "did:ethr:" + eth_address(private_key)


def ed25519_did(seed: bytes) -> str:
    return did_key_from_public_key(bytes(SigningKey(seed).verify_key))


def _subject(address: str, provider: str, nullifiers: Sequence[str], legacy_hash: str | None):
    subject: dict[str, Any] = {"id": SUBJECT_PREFIX + address.lower()}
    if legacy_hash is not None:
        subject["hash"] = legacy_hash
    else:
        subject["nullifiers"] = list(nullifiers)
    subject["provider"] = provider
    return subject


def _dates(issuance_date, expiration_date, created) -> tuple[str, str, str]:
    now = datetime.now(timezone.utc)
    issued_default = now.replace(microsecond=0)
    issued = format_date(issuance_date, issued_default)
    expires = format_date(expiration_date, issued_default + timedelta(days=90))
    return issued, expires, format_date(created, now)


def sign_eip712(
    unsigned: dict, private_key: bytes | str, types: dict, created: datetime | str | None = None
) -> dict:
    """Add an EthereumEip712Signature2021 proof, by the key's did:ethr, to ``unsigned``."""
    key = _key_bytes(private_key)
    did = ethr_did(key)
    credential = copy.deepcopy(unsigned)
    credential["issuer"] = credential.get("issuer", did)
    proof = {
        "@context": EIP712_PROOF_CONTEXT,
        "type": "EthereumEip712Signature2021",
        "proofPurpose": "assertionMethod",
        "proofValue": "",
        "verificationMethod": did + "#controller",
        "created": format_date(created, datetime.now(timezone.utc)),
        "eip712Domain": {
            "domain": dict(EIP712_DOMAIN),
            "primaryType": "Document",
            "types": copy.deepcopy(types),
        },
    }
    expiration = credential.pop("expirationDate", None)
    credential["proof"] = proof
    if expiration is not None:
        credential["expirationDate"] = expiration
    digest = typed_data_digest(*signing_message(credential))
    signature = PrivateKey(key).sign_recoverable(digest, hasher=None)
    proof["proofValue"] = "0x" + (signature[:64] + bytes((signature[64] + 27,))).hex()
    return credential


def sign_ed25519(unsigned: dict, seed: bytes, created: datetime | str | None = None) -> dict:
    """Add an Ed25519Signature2018 proof, by the seed's did:key, to ``unsigned``."""
    signing_key = SigningKey(seed)
    did = did_key_from_public_key(bytes(signing_key.verify_key))
    credential = copy.deepcopy(unsigned)
    credential["issuer"] = credential.get("issuer", did)
    proof = {
        "type": "Ed25519Signature2018",
        "proofPurpose": "assertionMethod",
        "verificationMethod": f"{did}#{did[len('did:key:'):]}",
        "created": format_date(created, datetime.now(timezone.utc)),
    }
    header = b64url_encode(JWS_HEADER)
    data = header.encode("ascii") + b"." + verify_data(credential, proof)
    signature = signing_key.sign(data).signature
    proof["jws"] = f"{header}..{b64url_encode(signature)}"
    expiration = credential.pop("expirationDate", None)
    credential["proof"] = proof
    if expiration is not None:
        credential["expirationDate"] = expiration
    return credential


def sign_eip712_credential(
    private_key: bytes | str,
    address: str,
    provider: str,
    nullifiers: Sequence[str] = (),
    *,
    issuance_date: datetime | str | None = None,
    expiration_date: datetime | str | None = None,
    created: datetime | str | None = None,
    legacy_hash: str | None = None,
) -> dict:
    """A stamp for ``address`` signed with EIP-712 by ``did:ethr:<key's address>``.

    Dates default to now (issuance, seconds precision), now + 90 days
    (expiration) and now (proof.created, milliseconds).
    """
    issued, expires, created_at = _dates(issuance_date, expiration_date, created)
    subject = _subject(address, provider, nullifiers, legacy_hash)
    if legacy_hash is not None:
        subject["@context"] = {"hash": SCHEMA_TEXT, "provider": SCHEMA_TEXT}
    else:
        subject["@context"] = {
            "nullifiers": {"@container": "@list", "@type": SCHEMA_TEXT},
            "provider": SCHEMA_TEXT,
        }
    unsigned = {
        "@context": [VC_CONTEXT, STATUS_LIST_CONTEXT],
        "type": ["VerifiableCredential"],
        "credentialSubject": subject,
        "issuer": ethr_did(private_key),
        "issuanceDate": issued,
        "expirationDate": expires,
    }
    return sign_eip712(unsigned, private_key, eip712_types(legacy_hash is not None), created_at)


def sign_ed25519_credential(
    seed: bytes,
    address: str,
    provider: str,
    nullifiers: Sequence[str] = (),
    *,
    issuance_date: datetime | str | None = None,
    expiration_date: datetime | str | None = None,
    created: datetime | str | None = None,
    legacy_hash: str | None = None,
) -> dict:
    """A stamp for ``address`` signed with Ed25519Signature2018 by the seed's ``did:key``."""
    issued, expires, created_at = _dates(issuance_date, expiration_date, created)
    if legacy_hash is not None:
        terms: dict[str, Any] = {"provider": SCHEMA_TEXT, "hash": SCHEMA_TEXT}
    else:
        terms = {"provider": SCHEMA_TEXT, "nullifiers": {"@container": "@list", "@id": SCHEMA_TEXT}}
    unsigned = {
        "@context": [VC_CONTEXT, terms],
        "type": ["VerifiableCredential"],
        "credentialSubject": _subject(address, provider, nullifiers, legacy_hash),
        "issuer": ed25519_did(seed),
        "issuanceDate": issued,
        "expirationDate": expires,
    }
    return sign_ed25519(unsigned, seed, created_at)
