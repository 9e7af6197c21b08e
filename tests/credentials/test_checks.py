"""Issuer, subject, expiry, provider and nullifier checks, with their reasons."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from app.credentials import Reason, Verdict, check_proof, nullifiers_of
from app.credentials.signing import eip712_types, sign_ed25519, sign_eip712

from .helpers import (
    ADDRESS,
    ED25519_SEED,
    EIP712_KEY,
    EXPIRES,
    NOW,
    OTHER_ADDRESS,
    PROOF_TYPES,
    TRUSTED,
    issue,
    make_verifier,
)


@pytest.mark.parametrize("kind", PROOF_TYPES)
def test_wrong_subject(kind, verifier):
    assert verifier.verify(issue(kind), OTHER_ADDRESS) == Verdict(False, Reason.SUBJECT_MISMATCH)


@pytest.mark.parametrize("kind", PROOF_TYPES)
def test_untrusted_issuer(kind):
    trusted_others = [t for t in TRUSTED if t != issue(kind)["issuer"]]
    verdict = make_verifier(trusted=trusted_others).verify(issue(kind), ADDRESS)
    assert verdict == Verdict(False, Reason.UNTRUSTED_ISSUER)


@pytest.mark.parametrize("kind", PROOF_TYPES)
def test_expired(kind):
    verifier = make_verifier(now=lambda: EXPIRES + timedelta(microseconds=1))
    assert verifier.verify(issue(kind), ADDRESS) == Verdict(False, Reason.EXPIRED)
    # expirationDate == now is not expired yet (Python: expired iff expires < now).
    assert make_verifier(now=lambda: EXPIRES).verify(issue(kind), ADDRESS).valid


@pytest.mark.parametrize("kind", PROOF_TYPES)
def test_empty_nullifiers(kind, verifier):
    credential = issue(kind, nullifiers=[])
    assert credential["credentialSubject"]["nullifiers"] == []
    assert verifier.verify(credential, ADDRESS) == Verdict(False, Reason.MISSING_NULLIFIERS)


@pytest.mark.parametrize("kind", PROOF_TYPES)
def test_missing_nullifiers(kind, verifier):
    credential = issue(kind)
    del credential["credentialSubject"]["nullifiers"]
    assert verifier.verify(credential, ADDRESS) == Verdict(False, Reason.MISSING_NULLIFIERS)


@pytest.mark.parametrize("kind", PROOF_TYPES)
@pytest.mark.parametrize("bad", [[""], ["v0:x", ""]])
def test_empty_string_nullifier(kind, bad, verifier):
    credential = issue(kind, nullifiers=bad)
    assert verifier.verify(credential, ADDRESS) == Verdict(False, Reason.MISSING_NULLIFIERS)


@pytest.mark.parametrize("kind", PROOF_TYPES)
def test_missing_provider(kind, verifier):
    credential = issue(kind)
    del credential["credentialSubject"]["provider"]
    assert verifier.verify(credential, ADDRESS) == Verdict(False, Reason.MISSING_PROVIDER)
    credential["credentialSubject"]["provider"] = ""
    assert verifier.verify(credential, ADDRESS) == Verdict(False, Reason.MISSING_PROVIDER)


def _unsigned(**fields) -> dict:
    subject = {"id": "did:pkh:eip155:1:" + ADDRESS, "provider": "Google", "nullifiers": ["v0:a"]}
    return {
        "@context": ["https://www.w3.org/2018/credentials/v1"],
        "type": ["VerifiableCredential"],
        "credentialSubject": subject,
        "issuanceDate": "2026-01-01T00:00:00Z",
        **fields,
    }


@pytest.mark.parametrize(
    "expiration",
    [None, "", "tomorrow", "2030-01-01", "2030-01-01T00:00:00", "2030-13-01T00:00:00Z", 1893456000],
)
def test_missing_or_unparseable_expiration_is_invalid_not_an_error(expiration, verifier):
    credential = issue("eip712")
    if expiration is None:
        del credential["expirationDate"]
    else:
        credential["expirationDate"] = expiration
    assert verifier.verify(credential, ADDRESS) == Verdict(False, Reason.INVALID_EXPIRATION)


def test_expiration_with_offset_is_compared_in_utc():
    credential = issue("eip712", expiration_date="2027-01-01T02:00:00+02:00")  # == NOW in UTC
    assert make_verifier().verify(credential, ADDRESS).valid
    later = make_verifier(now=lambda: NOW + timedelta(seconds=1))
    assert later.verify(credential, ADDRESS).reason == Reason.EXPIRED


def test_naive_now_is_taken_as_utc():
    verifier = make_verifier(now=lambda: datetime(2027, 1, 1))
    assert verifier.verify(issue("eip712"), ADDRESS).valid


def test_order_of_checks_issuer_then_expiry_then_subject():
    credential = issue("eip712")
    credential["expirationDate"] = "2020-01-01T00:00:00Z"
    credential["credentialSubject"]["id"] = "did:pkh:eip155:1:" + OTHER_ADDRESS
    assert make_verifier(trusted=[]).verify(credential, ADDRESS).reason == Reason.UNTRUSTED_ISSUER
    assert make_verifier().verify(credential, ADDRESS).reason == Reason.EXPIRED
    credential["expirationDate"] = "2030-01-01T00:00:00Z"
    assert make_verifier().verify(credential, ADDRESS).reason == Reason.SUBJECT_MISMATCH


@pytest.mark.parametrize("kind", PROOF_TYPES)
def test_legacy_hash_credential_is_accepted_and_hash_is_the_nullifier(kind, verifier):
    credential = issue(kind, legacy_hash="v0.0.0:legacy-hash-value")
    assert "nullifiers" not in credential["credentialSubject"]
    assert verifier.verify(credential, ADDRESS).valid
    assert nullifiers_of(credential) == ["v0.0.0:legacy-hash-value"]


def test_subject_id_compared_case_insensitively(verifier):
    credential = issue("eip712")
    unsigned = {k: v for k, v in credential.items() if k != "proof"}
    unsigned["credentialSubject"]["id"] = "did:pkh:eip155:1:0x5B38Da6a701c568545dCfcB03FcB875f56beddC4"
    mixed = sign_eip712(unsigned, EIP712_KEY, eip712_types())
    assert verifier.verify(mixed, ADDRESS).valid


def test_nullifiers_of_python_rule():
    def stamp(**subject):
        return {"credentialSubject": subject}

    both = stamp(hash="v0.0.0:h", nullifiers=["v0:a"])
    assert nullifiers_of(both) == ["v0.0.0:h"]  # hash wins, as in Python
    multi = stamp(nullifiers=["v0:a", "v1:b", "v0:c"])
    assert nullifiers_of(multi) == ["v0:a", "v0:c"]  # FF_MULTI_NULLIFIER off: v0 only
    assert nullifiers_of(multi, multi_nullifier=True) == ["v0:a", "v1:b", "v0:c"]
    assert nullifiers_of(stamp(nullifiers=["v1:only"])) == []
    for bad in (None, [], "x", {}, stamp(), stamp(nullifiers="v0:a"), stamp(nullifiers=[1]),
                stamp(hash=5), {"credentialSubject": []}):
        assert nullifiers_of(bad) == []


def test_low_level_signing_helpers_sign_any_document():
    context = [
        "https://www.w3.org/2018/credentials/v1",
        {"provider": "https://schema.org/Text",
         "nullifiers": {"@container": "@list", "@id": "https://schema.org/Text"}},
    ]
    unsigned = _unsigned(expirationDate="2030-01-01T00:00:00Z", **{"@context": context})
    assert check_proof(sign_ed25519(unsigned, ED25519_SEED)) is None

    unsigned = _unsigned(expirationDate="2030-01-01T00:00:00Z")
    unsigned["credentialSubject"]["@context"] = {
        "nullifiers": {"@container": "@list", "@type": "https://schema.org/Text"},
        "provider": "https://schema.org/Text",
    }
    assert check_proof(sign_eip712(unsigned, EIP712_KEY, eip712_types())) is None
