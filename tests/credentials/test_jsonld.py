"""Offline JSON-LD: bundled contexts only, no network, no unsigned meaning, bounded work."""

from __future__ import annotations

import socket
import time

import pytest

from app.credentials import Reason, check_proof, jsonld, nullifiers_of

from .helpers import ADDRESS, issue, load_vectors, make_verifier

VC_V1 = "https://www.w3.org/2018/credentials/v1"
TEXT = "https://schema.org/Text"


def test_loader_serves_bundled_contexts_only():
    document = jsonld.document_loader(VC_V1, {})["document"]
    assert "@context" in document
    for url in ("https://w3id.org/security/v2", "http://localhost/x", "file:///etc/passwd", ""):
        with pytest.raises(jsonld.UnknownContext):
            jsonld.document_loader(url, {})


def test_loader_returns_copies():
    jsonld.document_loader(VC_V1, {})["document"]["@context"]["id"] = "tampered"
    assert jsonld.document_loader(VC_V1, {})["document"]["@context"]["id"] == "@id"


def test_verification_never_touches_the_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    vectors = load_vectors()
    for vector in vectors["vectors"]:
        expected = None if vector["valid_signature"] else Reason.INVALID_SIGNATURE
        assert check_proof(vector["credential"]) == expected
    credential = issue("ed25519")
    credential["@context"].append("https://w3id.org/vc/status-list/2021/v1")
    assert check_proof(credential) == Reason.UNSUPPORTED_CONTEXT


def test_canonical_form_of_a_vector():
    vector = next(v for v in load_vectors()["vectors"] if v["name"] == "ed25519-valid-google")
    document = {k: v for k, v in vector["credential"].items() if k != "proof"}
    nquads = jsonld.canonicalize(document)
    assert '<https://www.w3.org/2018/credentials#issuer> <did:key:z6Mk' in nquads
    assert '"v0:Google:ed-vector-1"' in nquads
    assert nquads.count("\n") == 9


# --- the signature covers the RDF graph, not the JSON ---------------------------------


def _inject_hash_via_context(c):
    """Define ``hash`` in an extra inline context, equal to the provider literal: same graph."""
    c["@context"].append({"hash": TEXT})
    c["credentialSubject"]["hash"] = c["credentialSubject"]["provider"]


def _inject_hash_via_blank_node_id(c):
    """``hash`` typed @id, pointing at the nullifier list's node re-declared under an @id."""
    subject = c["credentialSubject"]
    c["@context"].append({"hash": {"@id": TEXT, "@type": "@id"}})
    items = subject.pop("nullifiers")
    subject["hash"] = "_:list"
    rdf = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
    first, rest = rdf + "first", rdf + "rest"
    chain = {"@id": rdf + "nil"}
    for i, item in reversed(list(enumerate(items))):
        chain = {"@id": f"_:list{i or ''}", first: item, rest: chain}
    c["@included"] = [chain]  # declares the nodes without adding an edge


def _legacy_swap_with_iri_key(c):
    """Legacy stamp: hash := provider, and re-add the real hash under its full IRI key."""
    subject = c["credentialSubject"]
    subject["https://schema.org/Text"] = subject["hash"]
    subject["hash"] = subject["provider"]


ATTACKS = {
    "hash via context": ("ed25519", {}, _inject_hash_via_context),
    "hash via blank node id": ("ed25519", {}, _inject_hash_via_blank_node_id),
    "legacy hash swapped": ("ed25519", {"legacy_hash": "v0.0.0:real"}, _legacy_swap_with_iri_key),
}


@pytest.mark.parametrize("name", list(ATTACKS))
def test_graph_preserving_json_changes_are_rejected(name, monkeypatch):
    kind, kw, attack = ATTACKS[name]
    credential = issue(kind, **kw)
    before = nullifiers_of(credential)
    attack(credential)
    assert nullifiers_of(credential) != before  # the attack changes what dedup would use
    verdict = make_verifier().verify(credential, ADDRESS)
    assert not verdict.valid
    assert verdict.reason in (Reason.UNSUPPORTED_CONTEXT, Reason.INVALID_SIGNATURE)


def test_the_context_and_key_guard_is_what_stops_the_attacks(monkeypatch):
    """Without the guard the signatures above do verify: the guard is load-bearing."""
    monkeypatch.setattr(jsonld, "check_contexts_and_keys", lambda document: None)
    kind, kw, attack = ATTACKS["hash via blank node id"]
    credential = issue(kind, **kw)
    attack(credential)
    assert check_proof(credential) is None
    assert nullifiers_of(credential) == []  # "_:list" is no v0 nullifier: dedup bypassed


@pytest.mark.parametrize(
    "key",
    ["https://schema.org/Text", "schema:Text", "@index", "@id", "@type", "@graph", "@included",
     "@nest", "@reverse"],
)
def test_keys_must_be_plain_terms(key):
    credential = issue("ed25519")
    credential["credentialSubject"][key] = "v0:x"
    assert not make_verifier().verify(credential, ADDRESS).valid


def test_only_one_inline_context():
    credential = issue("ed25519")
    credential["credentialSubject"]["@context"] = credential["@context"][1]
    assert make_verifier().verify(credential, ADDRESS).reason == Reason.UNSUPPORTED_CONTEXT


def test_undefined_term_is_not_silently_dropped():
    credential = issue("ed25519")
    credential["credentialSubject"]["score"] = 100  # not defined by any context
    with pytest.raises(jsonld.DroppedProperty):
        jsonld.canonicalize({k: v for k, v in credential.items() if k != "proof"})
    assert make_verifier().verify(credential, ADDRESS).reason == Reason.INVALID_SIGNATURE


# --- bounded work -----------------------------------------------------------------------


def _complete_graph(n: int) -> list:
    """n blank nodes, each linked to all others: identical first-degree hashes."""
    return [
        {"id": f"_:n{i}", "provider": [{"id": f"_:n{j}"} for j in range(n) if j != i]}
        for i in range(n)
    ]


def test_poison_blank_node_graph_is_refused_quickly():
    credential = issue("ed25519")
    credential["evidence"] = _complete_graph(9)  # 8! permutations per node if unbounded
    started = time.perf_counter()
    with pytest.raises(jsonld.TooComplex):
        jsonld.canonicalize({k: v for k, v in credential.items() if k != "proof"})
    assert make_verifier().verify(credential, ADDRESS).reason == Reason.INVALID_SIGNATURE
    assert time.perf_counter() - started < 1


def test_small_symmetric_graphs_still_canonicalize():
    document = {
        "@context": issue("ed25519")["@context"],
        "type": ["VerifiableCredential"],
        "evidence": _complete_graph(3),
    }
    assert jsonld.canonicalize(document).count("_:c14n") >= 6


def test_too_many_blank_nodes():
    credential = issue("ed25519")
    credential["evidence"] = [{"type": "VerifiableCredential"} for _ in range(300)]
    with pytest.raises(jsonld.TooComplex):
        jsonld.canonicalize({k: v for k, v in credential.items() if k != "proof"})
    assert make_verifier().verify(credential, ADDRESS).reason == Reason.INVALID_SIGNATURE


def test_largest_accepted_document_is_cheap():
    credential = issue("ed25519")
    credential["evidence"] = [{"id": f"urn:e:{i}", "type": "VerifiableCredential"} for i in range(450)]
    started = time.perf_counter()
    verdict = make_verifier().verify(credential, ADDRESS)
    assert verdict.reason in (Reason.INVALID_SIGNATURE, Reason.MALFORMED)
    assert time.perf_counter() - started < 1
