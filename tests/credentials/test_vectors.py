"""The independent vectors (tests/fixtures/credentials.json) give their documented results.

The file's dates: valid stamps run 2026-11-28 .. 2031-11-28; the expired one
ran 2024-01-01 .. 2025-01-01; ``expired_at_2027`` says which are expired on
2027-01-01, the fixed "now" used here.
"""

from __future__ import annotations

import copy
from datetime import datetime, timezone

import orjson
import pytest
from eth_account.messages import _hash_eip191_message, encode_typed_data

from app.credentials import CredentialVerifier, Reason, check_proof, eip712, nullifiers_of

from .helpers import load_vectors

VECTORS = load_vectors()
NOW_2027 = datetime(2027, 1, 1, tzinfo=timezone.utc)
BY_NAME = {v["name"]: v for v in VECTORS["vectors"]}


def _verifier(now=NOW_2027, **kw) -> CredentialVerifier:
    return CredentialVerifier(VECTORS["trusted_issuers"], now=lambda: now, **kw)


def test_vector_file_covers_both_proof_types_and_tampering():
    types = {v["credential"]["proof"]["type"] for v in VECTORS["vectors"]}
    assert types == {"EthereumEip712Signature2021", "Ed25519Signature2018"}
    assert any(not v["valid_signature"] for v in VECTORS["vectors"])
    assert any(v["expired_at_2027"] for v in VECTORS["vectors"])


@pytest.mark.parametrize("vector", VECTORS["vectors"], ids=lambda v: v["name"])
def test_signature_result_matches_the_vector(vector):
    reason = check_proof(copy.deepcopy(vector["credential"]))
    if vector["valid_signature"]:
        assert reason is None
    else:
        assert reason == Reason.INVALID_SIGNATURE


@pytest.mark.parametrize("vector", VECTORS["vectors"], ids=lambda v: v["name"])
@pytest.mark.parametrize("stored", [False, True], ids=["object", "stored-text"])
def test_verdict_matches_the_vector(vector, stored):
    if stored:  # the scoring read: the stamp's JSON text as the database returns it
        verdict, fields = _verifier().verify_stored(orjson.dumps(vector["credential"]).decode(),
                                                    VECTORS["subject_address"])
        assert (fields is not None) is verdict.valid
    else:
        verdict = _verifier().verify(vector["credential"], VECTORS["subject_address"])
    expected_valid = vector["valid_signature"] and not vector["expired_at_2027"]
    assert verdict.valid is expected_valid, verdict
    if vector["name"] == "eip712-tampered-subject":
        # The subject check runs first, and the vector was retargeted to 0x…01.
        assert verdict.reason == Reason.SUBJECT_MISMATCH
    elif vector["expired_at_2027"]:
        assert verdict.reason == Reason.EXPIRED
    elif not vector["valid_signature"]:
        assert verdict.reason == Reason.INVALID_SIGNATURE
    else:
        assert verdict.reason is None


def test_tampered_subject_fails_on_its_signature_for_its_own_address():
    vector = BY_NAME["eip712-tampered-subject"]
    address = vector["credential"]["credentialSubject"]["id"].rsplit(":", 1)[1]
    verdict = _verifier().verify(vector["credential"], address)
    assert verdict.reason == Reason.INVALID_SIGNATURE


def test_expired_vector_has_a_valid_signature_and_was_valid_before_expiry():
    vector = BY_NAME["eip712-expired-twitter"]
    before = datetime(2024, 6, 1, tzinfo=timezone.utc)
    assert _verifier(now=before).verify(vector["credential"], VECTORS["subject_address"]).valid
    after = datetime(2025, 1, 1, 0, 0, 1, tzinfo=timezone.utc)
    verdict = _verifier(now=after).verify(vector["credential"], VECTORS["subject_address"])
    assert verdict.reason == Reason.EXPIRED


def test_expiry_exactly_now_still_passes():
    vector = BY_NAME["eip712-expired-twitter"]
    at = datetime(2025, 1, 1, tzinfo=timezone.utc)
    assert _verifier(now=at).verify(vector["credential"], VECTORS["subject_address"]).valid


def test_untrusted_issuer_for_vectors():
    verifier = CredentialVerifier([], now=lambda: NOW_2027)
    for vector in VECTORS["vectors"]:
        verdict = verifier.verify(vector["credential"], VECTORS["subject_address"])
        assert verdict.reason == Reason.UNTRUSTED_ISSUER


def test_address_case_does_not_matter():
    vector = BY_NAME["eip712-valid-google"]
    address = "0x5B38Da6a701c568545dCfcB03FcB875f56beddC4"
    assert _verifier().verify(vector["credential"], address).valid


@pytest.mark.parametrize(
    "vector",
    [v for v in VECTORS["vectors"] if v["credential"]["proof"]["type"].startswith("Ethereum")],
    ids=lambda v: v["name"],
)
def test_eip712_digest_equals_eth_account(vector):
    types, primary, domain, message = eip712.signing_message(vector["credential"])
    ours = eip712.typed_data_digest(types, primary, domain, message)
    theirs = _hash_eip191_message(
        encode_typed_data(
            full_message={"types": types, "primaryType": primary, "domain": domain, "message": message}
        )
    )
    assert ours == theirs


def test_vector_nullifiers():
    vector = BY_NAME["eip712-valid-google"]
    assert nullifiers_of(vector["credential"]) == ["v0:Google:vector-nullifier-1"]
