"""Fresh credentials of both proof types verify; changing any signed field does not."""

from __future__ import annotations

import pytest

from app.credentials import Reason, check_proof
from app.credentials.signing import ed25519_did, ethr_did

from .helpers import (
    ADDRESS,
    OTHER_ADDRESS,
    OTHER_ED25519_SEED,
    OTHER_EIP712_KEY,
    PROOF_TYPES,
    issue,
    make_verifier,
)


def _set_subject(c):
    c["credentialSubject"]["id"] = "did:pkh:eip155:1:" + OTHER_ADDRESS


def _other_issuer(c):
    kind = c["proof"]["type"]
    other = ethr_did(OTHER_EIP712_KEY) if kind.startswith("Ethereum") else ed25519_did(OTHER_ED25519_SEED)
    c["issuer"] = other


def _other_issuer_and_method(c):
    old = c["issuer"]
    _other_issuer(c)
    c["proof"]["verificationMethod"] = c["proof"]["verificationMethod"].replace(
        old[len("did:key:"):] if old.startswith("did:key:") else old,
        c["issuer"][len("did:key:"):] if old.startswith("did:key:") else c["issuer"],
    )


def _other_method(c):
    if c["proof"]["type"].startswith("Ethereum"):
        c["proof"]["verificationMethod"] = c["issuer"] + "#Eip712Method2021"
    else:
        c["proof"]["verificationMethod"] = c["issuer"] + "#key-1"


def _context(c):
    c["@context"] = c["@context"][:1]  # drop the status-list URL / the inline context


def _context_inline(c):
    if c["proof"]["type"].startswith("Ethereum"):
        c["credentialSubject"]["@context"]["provider"] = "https://schema.org/name"
    else:
        c["@context"][1] = dict(c["@context"][1], provider="https://schema.org/name")


TAMPERS = {
    "subject": _set_subject,
    "provider": lambda c: c["credentialSubject"].update(provider="Github"),
    "nullifier value": lambda c: c["credentialSubject"]["nullifiers"].__setitem__(0, "v0:Google:x"),
    "nullifier order": lambda c: c["credentialSubject"]["nullifiers"].reverse(),
    "nullifier removed": lambda c: c["credentialSubject"]["nullifiers"].pop(),
    "nullifier added": lambda c: c["credentialSubject"]["nullifiers"].append("v0:Google:x"),
    "expirationDate": lambda c: c.update(expirationDate="2031-01-01T00:00:00Z"),
    "expirationDate format": lambda c: c.update(expirationDate="2030-01-01T00:00:00.000Z"),
    "issuanceDate": lambda c: c.update(issuanceDate="2025-12-31T00:00:00Z"),
    "issuer": _other_issuer,
    "issuer and verificationMethod": _other_issuer_and_method,
    "proof.created": lambda c: c["proof"].update(created="2026-01-01T12:30:15.124Z"),
    "proof.verificationMethod": _other_method,
    "proof.proofPurpose": lambda c: c["proof"].update(proofPurpose="authentication"),
    "@context": _context,
    "@context inline term": _context_inline,
    "type": lambda c: c.update(type=["VerifiableCredential", "https://example.org/Stamp"]),
    "added legacy hash": lambda c: c["credentialSubject"].update(hash="v0:chosen-by-attacker"),
    "added subject field": lambda c: c["credentialSubject"].update(provider2="x"),
    "added top-level field": lambda c: c.update(id="urn:uuid:0b2c5e0c-1d0d-4e8c-9d1f-3f2f7c1b8a11"),
}


@pytest.mark.parametrize("kind", PROOF_TYPES)
def test_fresh_credential_is_valid(kind, verifier):
    credential = issue(kind)
    assert check_proof(credential) is None
    assert verifier.verify(credential, ADDRESS).valid


@pytest.mark.parametrize("kind", PROOF_TYPES)
@pytest.mark.parametrize("name", list(TAMPERS))
def test_changing_a_signed_field_is_rejected(kind, name, verifier):
    credential = issue(kind)
    TAMPERS[name](credential)
    # Verify a retargeted stamp against its new subject, so only the signature can fail.
    address = OTHER_ADDRESS if name == "subject" else ADDRESS
    verdict = verifier.verify(credential, address)
    assert not verdict.valid
    assert verdict.reason in (Reason.INVALID_SIGNATURE, Reason.UNSUPPORTED_CONTEXT), verdict


@pytest.mark.parametrize("kind", PROOF_TYPES)
def test_signature_bytes_changed(kind, verifier):
    credential = issue(kind)
    proof = credential["proof"]
    if kind == "eip712":
        value = proof["proofValue"]
        proof["proofValue"] = value[:10] + ("0" if value[10] != "0" else "1") + value[11:]
    else:
        jws = proof["jws"]
        proof["jws"] = jws[:-5] + ("A" if jws[-5] != "A" else "B") + jws[-4:]
    assert verifier.verify(credential, ADDRESS).reason == Reason.INVALID_SIGNATURE


def test_eip712_domain_and_types_are_signed(verifier):
    credential = issue("eip712")
    credential["proof"]["eip712Domain"]["domain"]["name"] = "Other"
    assert verifier.verify(credential, ADDRESS).reason == Reason.INVALID_SIGNATURE

    credential = issue("eip712")
    types = credential["proof"]["eip712Domain"]["types"]
    types["Document"] = [m for m in types["Document"] if m["name"] != "issuanceDate"]
    del credential["issuanceDate"]  # even with the data made to fit the new types
    assert verifier.verify(credential, ADDRESS).reason == Reason.INVALID_SIGNATURE


def test_eip712_v_values_0_1_and_27_28_both_accepted(verifier):
    credential = issue("eip712")
    value = credential["proof"]["proofValue"]
    v = int(value[-2:], 16)
    credential["proof"]["proofValue"] = value[:-2] + f"{v - 27:02x}"
    assert verifier.verify(credential, ADDRESS).valid


@pytest.mark.parametrize("kind", PROOF_TYPES)
def test_key_order_does_not_matter(kind, verifier):
    credential = issue(kind)
    reordered = dict(reversed(list(credential.items())))
    reordered["credentialSubject"] = dict(reversed(list(credential["credentialSubject"].items())))
    assert verifier.verify(reordered, ADDRESS).valid


@pytest.mark.parametrize("kind", PROOF_TYPES)
def test_same_fields_signed_by_other_trusted_key_is_valid_only_under_its_own_issuer(kind):
    credential = issue(kind)
    verifier = make_verifier(trusted=[credential["issuer"]])
    assert verifier.verify(credential, ADDRESS).valid
    # Trusting only the other key: the stamp is untrusted, whatever its proof.
    other = ethr_did(OTHER_EIP712_KEY) if kind == "eip712" else ed25519_did(OTHER_ED25519_SEED)
    assert make_verifier(trusted=[other]).verify(credential, ADDRESS).reason == Reason.UNTRUSTED_ISSUER
