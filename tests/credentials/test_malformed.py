"""Malformed, hostile or absurd input gives an invalid verdict with a reason, never an exception."""

from __future__ import annotations

import math
import time
from datetime import datetime, timezone

import orjson
import pytest

from app.credentials import Reason, Verdict

from .helpers import ADDRESS, PROOF_TYPES, issue, make_verifier

ALL_REASONS = {v for k, v in vars(Reason).items() if not k.startswith("_")}
MB = "x" * (1 << 20)


def _nest(depth: int) -> dict:
    value: dict = {}
    for _ in range(depth):
        value = {"a": value}
    return value


def _assert_rejected(credential, reason=None, address=ADDRESS):
    started = time.perf_counter()
    verdict = make_verifier().verify(credential, address)
    assert time.perf_counter() - started < 2
    assert isinstance(verdict, Verdict)
    assert not verdict.valid
    assert verdict.reason in ALL_REASONS
    if reason is not None:
        assert verdict.reason == reason, verdict
    # The same credential stored (the scoring read verifies its JSON text) gets the same verdict.
    try:
        text = orjson.dumps(credential, option=orjson.OPT_PASSTHROUGH_DATETIME
                            | orjson.OPT_PASSTHROUGH_DATACLASS).decode()
    except TypeError:  # not JSON at all (bytes, sets, datetimes, ...): it could not have been stored
        return verdict
    stored, fields = make_verifier().verify_stored(text, address)
    assert (stored, fields) == (verdict, None)
    return verdict


@pytest.mark.parametrize("value", [None, [], "credential", 42, 1.5, True, b"{}", set(), {}])
def test_not_a_credential(value):
    _assert_rejected(value)


def test_non_string_address():
    for address in (None, 42, ["0x"], b"0x"):
        _assert_rejected(issue("eip712"), Reason.SUBJECT_MISMATCH, address=address)


def _recursive_type(c):
    types = c["proof"]["eip712Domain"]["types"]
    types["Loop"] = [{"name": "next", "type": "Loop"}]
    types["Proof"].append({"name": "loop", "type": "Loop"})
    loop: dict = {}
    for _ in range(12):
        loop = {"next": loop}
    c["proof"]["loop"] = loop


def top(**fields):
    return lambda c: c.update(fields)


def subject(**fields):
    return lambda c: c["credentialSubject"].update(fields)


def proof(**fields):
    return lambda c: c["proof"].update(fields)


def types(mutate):
    return lambda c: mutate(c["proof"]["eip712Domain"]["types"])


def _first_wrapped(key):
    return lambda c: c.update({key: [c[key]]})


def _mutations(kind: str):
    """(name, mutate, expected reason or None) triples; mutate edits a fresh stamp in place."""
    M, T, E = Reason.MALFORMED, Reason.UNTRUSTED_ISSUER, Reason.INVALID_EXPIRATION
    S, U, SIG = Reason.SUBJECT_MISMATCH, Reason.UNSUPPORTED_PROOF, Reason.INVALID_SIGNATURE
    yield "missing proof", lambda c: c.pop("proof"), M
    yield "proof is a list", lambda c: c.update(proof=[c["proof"]]), M
    yield "proof is a string", top(proof="0x00"), M
    yield "proof type missing", lambda c: c["proof"].pop("type"), U
    yield "proof type unknown", proof(type="JsonWebSignature2020"), U
    yield "proof type a list", lambda c: c["proof"].update(type=[c["proof"]["type"]]), U
    yield "1 MB provider", subject(provider=MB), M
    yield "1 MB nullifier", lambda c: c["credentialSubject"]["nullifiers"].append(MB), M
    yield "1 MB extra field", top(evidence=MB), M
    yield "1 MB issuer", top(issuer=MB), T
    yield "1 MB subject id", subject(id=MB), S
    yield "1 MB expirationDate", top(expirationDate=MB), E
    yield "deep nesting", subject(extra=_nest(100_000)), M
    yield "moderate nesting", subject(extra=_nest(100)), None
    yield "non-string key", lambda c: c["credentialSubject"].update({1: "x"}), M
    yield "huge integer", top(n=10**100), M
    yield "NaN", top(n=math.nan), None
    yield "datetime value", proof(created=datetime.now(timezone.utc)), M
    yield "lone surrogate", lambda c: c["credentialSubject"]["nullifiers"].append("v0:\ud800"), M
    yield "issuer is a list", _first_wrapped("issuer"), T
    yield "issuer is an object", lambda c: c.update(issuer={"id": c["issuer"]}), T
    yield "subject is a list", _first_wrapped("credentialSubject"), M
    yield "subject id is a list", subject(id=["did:pkh:eip155:1:" + ADDRESS]), S
    yield "provider is a list", subject(provider=["Google"]), M
    yield "provider is an object", subject(provider={"@value": "Google"}), M
    yield "nullifiers is a string", subject(nullifiers="v0:a"), M
    yield "nullifier is a number", subject(nullifiers=[1]), M
    yield "hash is a list", subject(hash=["v0:a"]), M
    yield "expirationDate is a list", _first_wrapped("expirationDate"), E
    if kind == "eip712":
        value = "0x" + "ab" * 65
        yield "proofValue missing", lambda c: c["proof"].pop("proofValue"), M
        yield "proofValue not hex", proof(proofValue="0x" + "zz" * 65), M
        yield "proofValue no 0x", proof(proofValue=value[2:]), M
        yield "proofValue short", proof(proofValue=value[:-2]), M
        yield "proofValue spaces", proof(proofValue="0x" + " ".join(["00"] * 65)), M
        yield "proofValue a list", proof(proofValue=[value]), M
        yield "proofValue 1 MB", proof(proofValue="0x" + "ab" * 500_000), M
        yield "bad recovery id", proof(proofValue=value[:-2] + "1d"), SIG
        yield "zero signature", proof(proofValue="0x" + "00" * 64 + "1b"), SIG
        yield "eip712Domain missing", lambda c: c["proof"].pop("eip712Domain"), M
        yield "eip712Domain a list", proof(eip712Domain=[]), M
        domain = lambda c: c["proof"]["eip712Domain"]  # noqa: E731
        yield "types not an object", lambda c: domain(c).update(types=[]), SIG
        yield "types missing", lambda c: domain(c).pop("types"), SIG
        yield "primaryType missing", lambda c: domain(c).pop("primaryType"), SIG
        yield "primaryType unknown", lambda c: domain(c).update(primaryType="Nope"), SIG
        yield "primaryType domain", lambda c: domain(c).update(primaryType="EIP712Domain"), SIG
        yield "domain type missing", types(lambda t: t.pop("EIP712Domain")), SIG
        yield "member without type", types(lambda t: t["Proof"].append({"name": "x"})), SIG
        yield "member type a list", types(lambda t: t["Proof"].append({"name": "x", "type": ["string"]})), SIG
        yield "unknown member type", types(lambda t: t["Proof"].append({"name": "x", "type": "Nope"})), SIG
        yield "duplicate member", types(lambda t: t["Proof"].append(dict(t["Proof"][0]))), SIG
        yield "recursive type", _recursive_type, SIG
        sub = {"name": "sub", "type": "CredentialSubject"}
        yield "self-referencing data", types(lambda t: t["CredentialSubject"].append(sub)), SIG
        as_uint = {"name": "created", "type": "uint256"}
        yield "string typed as uint", types(lambda t: t["Proof"].__setitem__(1, as_uint)), SIG
        yield "1000 types", types(lambda t: t.update({f"T{i}": [] for i in range(1000)})), SIG
        yield "did:ethr not an address", top(issuer="did:ethr:mainnet:0x" + "1" * 40), T
    else:
        signature = lambda c: c["proof"]["jws"].split("..")[1]  # noqa: E731
        yield "jws missing", lambda c: c["proof"].pop("jws"), M
        yield "jws garbage", proof(jws="not a jws"), M
        yield "jws attached payload", lambda c: proof(jws="eyJ9.eyJ9." + signature(c))(c), M
        yield "jws header alg none", lambda c: proof(jws="eyJhbGciOiJub25lIn0.." + signature(c))(c), M
        yield "jws a list", lambda c: c["proof"].update(jws=[c["proof"]["jws"]]), M
        yield "jws 1 MB", proof(jws=MB), M
        C = Reason.UNSUPPORTED_CONTEXT
        yield "unknown context URL", lambda c: c["@context"].append("https://example.org/v1"), C
        yield "context is a number", top(**{"@context": 5}), C
        yield "proof context unknown", proof(**{"@context": "https://w3id.org/security/v2"}), C


def _cases():
    for kind in PROOF_TYPES:
        for name, mutate, reason in _mutations(kind):
            yield pytest.param(kind, mutate, reason, id=f"{kind}-{name}")


@pytest.mark.parametrize("kind, mutate, reason", list(_cases()))
def test_mutated_credential_is_rejected_without_raising(kind, mutate, reason):
    credential = issue(kind)
    mutate(credential)
    _assert_rejected(credential, reason)


def test_a_trusted_issuer_that_is_no_supported_did_is_rejected():
    credential = issue("eip712")
    credential["issuer"] = "did:web:example.org"
    verifier = make_verifier(trusted=["did:web:example.org"])
    assert verifier.verify(credential, ADDRESS).reason == Reason.INVALID_SIGNATURE


def test_trusted_issuers_must_be_an_iterable_of_strings():
    with pytest.raises(TypeError):
        make_verifier(trusted="did:ethr:0x" + "1" * 40)


def test_unused_eip712_types_do_not_change_the_hash():
    # EIP-712 hashes only the types reachable from the primary type.
    credential = issue("eip712")
    credential["proof"]["eip712Domain"]["types"]["Unused"] = [{"name": "x", "type": "Unused"}]
    assert make_verifier().verify(credential, ADDRESS).valid
