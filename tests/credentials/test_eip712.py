"""The strict EIP-712 encoder agrees with eth-account wherever eth-account is strict enough."""

from __future__ import annotations

import pytest
from eth_account import Account
from eth_account.messages import _hash_eip191_message, encode_typed_data

from app.credentials import eip712
from app.credentials.signing import eth_address

from .helpers import EIP712_KEY, issue

MAIL = {
    "types": {
        "EIP712Domain": [
            {"name": "name", "type": "string"},
            {"name": "version", "type": "string"},
            {"name": "chainId", "type": "uint256"},
            {"name": "verifyingContract", "type": "address"},
        ],
        "Person": [{"name": "name", "type": "string"}, {"name": "wallets", "type": "address[]"}],
        "Mail": [
            {"name": "from", "type": "Person"},
            {"name": "to", "type": "Person[]"},
            {"name": "contents", "type": "string"},
            {"name": "flag", "type": "bool"},
            {"name": "delta", "type": "int256"},
            {"name": "salt", "type": "bytes32"},
            {"name": "blob", "type": "bytes"},
            {"name": "pair", "type": "uint8[2]"},
        ],
    },
    "primaryType": "Mail",
    "domain": {
        "name": "Ether Mail",
        "version": "1",
        "chainId": 1,
        "verifyingContract": "0xCcCCccccCCCCcCCCCCCcCcCccCcCCCcCcccccccC",
    },
    "message": {
        "from": {"name": "Cow", "wallets": ["0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826"]},
        "to": [{"name": "Bob", "wallets": []}, {"name": "", "wallets": ["0x" + "b" * 40]}],
        "contents": "Hello, Bob! ✓",
        "flag": True,
        "delta": -5,
        "salt": "0x" + "ab" * 32,
        "blob": "0x00ff",
        "pair": [1, 255],
    },
}


def _ours(full: dict) -> bytes:
    return eip712.typed_data_digest(full["types"], full["primaryType"], full["domain"], full["message"])


def _theirs(full: dict) -> bytes:
    return _hash_eip191_message(encode_typed_data(full_message=full))


def test_all_supported_types_match_eth_account():
    assert _ours(MAIL) == _theirs(MAIL)


def test_fresh_credential_digest_and_signature_match_eth_account():
    credential = issue("eip712")
    types, primary, domain, message = eip712.signing_message(credential)
    full = {"types": types, "primaryType": primary, "domain": domain, "message": message}
    assert _ours(full) == _theirs(full)
    signed = Account.sign_message(encode_typed_data(full_message=full), EIP712_KEY)
    assert "0x" + bytes(signed.signature).hex() == credential["proof"]["proofValue"]
    assert eip712.recover_address(_ours(full), bytes(signed.signature)).hex() == eth_address(EIP712_KEY)[2:]


def _mail(**changes):
    import copy

    full = copy.deepcopy(MAIL)
    for path, value in changes.items():
        target = full["message"]
        *parents, last = path.split("__")
        for key in parents:
            target = target[key]
        if value is KeyError:
            del target[last]
        else:
            target[last] = value
    return full


@pytest.mark.parametrize(
    "changes",
    [
        {"extra": "not typed"},  # eth-account ignores this; we refuse it
        {"from__extra": 1},
        {"contents": KeyError},  # eth-account encodes a missing field; we refuse it
        {"flag": 1},
        {"delta": True},
        {"delta": 2**255},
        {"pair": [1, 256]},
        {"pair": [1]},
        {"salt": "0x" + "ab" * 31},
        {"blob": "00ff"},
        {"contents": 5},
        {"to": {"name": "Bob", "wallets": []}},
        {"from__wallets": ["0x1234"]},
    ],
    ids=repr,
)
def test_data_must_match_types_exactly(changes):
    with pytest.raises(eip712.TypedDataError):
        _ours(_mail(**changes))


def test_eth_account_is_lenient_which_is_why_it_is_not_used_for_verification():
    full = _mail(extra="not typed")
    assert _theirs(full) == _theirs(MAIL)


def test_struct_nesting_is_bounded():
    types = {"EIP712Domain": [], "Node": [{"name": "next", "type": "Node[]"}]}
    node: dict = {"next": []}
    for _ in range(40):
        node = {"next": [node]}
    with pytest.raises(eip712.TypedDataError):
        eip712.typed_data_digest(types, "Node", {}, node)


def test_types_are_compiled_once():
    eip712._COMPILED.clear()
    _ours(MAIL)
    _ours(MAIL)
    assert len(eip712._COMPILED) == 1 and eip712._COMPILED.hits >= 1


@pytest.mark.parametrize("bad", ["Person(x", "Per son", "Person,", "string", "uint256", ""])
def test_type_names_that_would_make_encode_type_ambiguous_are_refused(bad):
    import copy

    full = copy.deepcopy(MAIL)
    full["types"][bad] = full["types"].pop("Person")
    for member in full["types"]["Mail"]:
        member["type"] = member["type"].replace("Person", bad)
    with pytest.raises(eip712.TypedDataError):
        _ours(full)


def test_unusual_but_unambiguous_names_match_eth_account():
    import copy

    full = copy.deepcopy(MAIL)
    full["types"]["@Per-son"] = full["types"].pop("Person")
    for member in full["types"]["Mail"]:
        member["type"] = member["type"].replace("Person", "@Per-son")
    assert _ours(full) == _theirs(full)


def _nested(depth: int) -> dict:
    value: dict = {}
    for _ in range(depth):
        value = {"a": value}
    return value


@pytest.mark.parametrize("depth", [30, 200, 900])
def test_deep_untyped_data_fails_the_signature_without_a_walk_of_the_document(depth):
    from app.credentials import Reason, check_proof

    credential = issue("eip712")
    credential["credentialSubject"]["extra"] = _nested(depth)
    assert check_proof(credential) == Reason.INVALID_SIGNATURE


def test_deep_ed25519_documents_are_still_refused_before_canonicalization():
    from app.credentials import Reason, check_proof

    credential = issue("ed25519")
    credential["credentialSubject"]["extra"] = _nested(200)
    assert check_proof(credential) == Reason.MALFORMED
