"""Ed25519Signature2018 proofs (detached JWS over URDNA2015-canonical data).

Verify data, as Linked Data Signatures defines it::

    sha256(canonical(proof options)) || sha256(canonical(credential without proof))

where the proof options are the proof without ``jws``, carrying the
credential's ``@context`` unless the proof has its own. The JWS is
``base64url(header) + ".." + base64url(signature)`` with the header
``{"alg":"EdDSA","b64":false,"crit":["b64"]}``, so the signed bytes are
``base64url(header) + "." + verify data`` (RFC 7797, unencoded payload).

The issuer is a ``did:key`` for an Ed25519 key (multibase base58btc ``z`` +
multicodec ``0xed 0x01`` + 32 bytes); the proof's verificationMethod must be
that key, ``did:key:<id>#<id>``.
"""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Any

import base58
import orjson
from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey

from .checks import Reason
from .jsonld import CanonicalizationError, UnknownContext, canonicalize

PROOF_TYPE = "Ed25519Signature2018"
ED25519_MULTICODEC = b"\xed\x01"

_DID_KEY = re.compile(r"did:key:(z6Mk[1-9A-HJ-NP-Za-km-z]{40,50})")
_JWS = re.compile(r"([A-Za-z0-9_-]{1,200})\.\.([A-Za-z0-9_-]{86})")


def public_key_from_did_key(did: Any) -> bytes | None:
    """The 32-byte Ed25519 public key of a ``did:key:z6Mk...``, or None."""
    match = _DID_KEY.fullmatch(did) if isinstance(did, str) else None
    if match is None:
        return None
    try:
        decoded = base58.b58decode(match.group(1)[1:])
    except ValueError:
        return None
    if len(decoded) != 34 or decoded[:2] != ED25519_MULTICODEC:
        return None
    return decoded[2:]


def did_key_from_public_key(public_key: bytes) -> str:
    return "did:key:z" + base58.b58encode(ED25519_MULTICODEC + public_key).decode("ascii")


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def verify_data(credential: dict, proof: dict) -> bytes:
    """The 64 bytes that the JWS signs (after ``header.``). Raises CanonicalizationError."""
    document = {k: v for k, v in credential.items() if k != "proof"}
    options = {k: v for k, v in proof.items() if k != "jws"}
    if "@context" not in options and "@context" in credential:
        options["@context"] = credential["@context"]
    return (
        hashlib.sha256(canonicalize(options).encode("utf-8")).digest()
        + hashlib.sha256(canonicalize(document).encode("utf-8")).digest()
    )


def _header_ok(encoded: str) -> bool:
    try:
        header = orjson.loads(_b64url_decode(encoded))
    except (ValueError, orjson.JSONDecodeError):
        return False
    return (
        isinstance(header, dict)
        and header.keys() == {"alg", "b64", "crit"}
        and header["alg"] == "EdDSA"
        and header["b64"] is False
        and header["crit"] == ["b64"]
    )


def verify_proof(credential: dict) -> str | None:
    """None if the Ed25519Signature2018 proof is valid and made by the issuer's key."""
    proof = credential.get("proof")
    if not isinstance(proof, dict):
        return Reason.MALFORMED
    jws = proof.get("jws")
    match = _JWS.fullmatch(jws) if isinstance(jws, str) else None
    if match is None:
        return Reason.MALFORMED
    issuer = credential.get("issuer")
    public_key = public_key_from_did_key(issuer)
    if public_key is None:
        return Reason.INVALID_SIGNATURE
    if proof.get("proofPurpose") != "assertionMethod":
        return Reason.INVALID_SIGNATURE
    if proof.get("verificationMethod") != f"{issuer}#{issuer[len('did:key:'):]}":
        return Reason.INVALID_SIGNATURE
    subject = credential.get("credentialSubject")
    if isinstance(subject, dict) and "hash" in subject and subject["hash"] == subject.get("provider"):
        # Both are schema:Text literals: equal values collapse into one RDF
        # triple, so one of them would not be covered by the signature.
        return Reason.INVALID_SIGNATURE
    header, signature = match.group(1), _b64url_decode(match.group(2))
    if not _header_ok(header) or len(signature) != 64:
        return Reason.MALFORMED
    try:
        data = verify_data(credential, proof)
    except UnknownContext:  # a context URL not bundled, or an unknown inline context
        return Reason.UNSUPPORTED_CONTEXT
    except CanonicalizationError:
        return Reason.INVALID_SIGNATURE
    try:
        VerifyKey(public_key).verify(header.encode("ascii") + b"." + data, signature)
    except (BadSignatureError, ValueError):
        return Reason.INVALID_SIGNATURE
    return None
