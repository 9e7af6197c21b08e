"""The proof result is cached per credential; issuer, subject and expiry are not."""

from __future__ import annotations

import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path

import orjson
import pytest

import app.credentials.verifier as verifier_module
from app.caches import BoundedCache
from app.credentials import Reason, Verdict, ed25519, eip712
from app.credentials.verifier import credential_text

from .helpers import ADDRESS, EXPIRES, NOW, OTHER_ADDRESS, PROOF_TYPES, issue, make_verifier


@pytest.fixture
def crypto_calls(monkeypatch):
    """Counts every cryptographic or canonicalization step either proof type performs."""
    calls = {"n": 0}

    def counting(fn):
        def wrapper(*args, **kwargs):
            calls["n"] += 1
            return fn(*args, **kwargs)

        return wrapper

    monkeypatch.setattr(eip712, "typed_data_digest", counting(eip712.typed_data_digest))
    monkeypatch.setattr(eip712, "recover_address", counting(eip712.recover_address))
    monkeypatch.setattr(ed25519, "canonicalize", counting(ed25519.canonicalize))
    monkeypatch.setattr(ed25519, "VerifyKey", counting(ed25519.VerifyKey))
    return calls


@pytest.mark.parametrize("kind", PROOF_TYPES)
def test_second_verification_does_no_cryptography(kind, crypto_calls):
    verifier = make_verifier()
    credential = issue(kind)
    assert verifier.verify(credential, ADDRESS).valid
    first = crypto_calls["n"]
    assert first >= 2
    for _ in range(3):
        assert verifier.verify(credential, ADDRESS).valid
    assert crypto_calls["n"] == first
    assert verifier.cache.hits == 3


@pytest.mark.parametrize("kind", PROOF_TYPES)
def test_invalid_signatures_are_cached_too(kind, crypto_calls):
    verifier = make_verifier()
    credential = issue(kind)
    credential["credentialSubject"]["provider"] = "Other"
    assert verifier.verify(credential, ADDRESS).reason == Reason.INVALID_SIGNATURE
    first = crypto_calls["n"]
    assert verifier.verify(credential, ADDRESS).reason == Reason.INVALID_SIGNATURE
    assert crypto_calls["n"] == first


@pytest.mark.parametrize("kind", PROOF_TYPES)
def test_expired_is_rejected_even_with_a_cached_signature(kind, crypto_calls):
    clock = {"now": NOW}
    verifier = make_verifier(now=lambda: clock["now"])
    credential = issue(kind)
    assert verifier.verify(credential, ADDRESS).valid
    calls = crypto_calls["n"]
    clock["now"] = EXPIRES + timedelta(seconds=1)
    assert verifier.verify(credential, ADDRESS).reason == Reason.EXPIRED
    assert crypto_calls["n"] == calls


@pytest.mark.parametrize("kind", PROOF_TYPES)
def test_subject_and_trust_are_rechecked_on_a_cache_hit(kind, crypto_calls):
    verifier = make_verifier()
    credential = issue(kind)
    assert verifier.verify(credential, ADDRESS).valid
    calls = crypto_calls["n"]
    assert verifier.verify(credential, OTHER_ADDRESS).reason == Reason.SUBJECT_MISMATCH
    verifier.trusted_issuers = frozenset()
    assert verifier.verify(credential, ADDRESS).reason == Reason.UNTRUSTED_ISSUER
    assert crypto_calls["n"] == calls


def test_any_change_misses_the_cache_and_key_order_does_not(crypto_calls):
    verifier = make_verifier()
    credential = issue("eip712")
    verifier.verify(credential, ADDRESS)
    calls = crypto_calls["n"]
    reordered = dict(reversed(list(credential.items())))
    assert verifier.verify(reordered, ADDRESS).valid
    assert crypto_calls["n"] == calls
    credential["proof"]["created"] = "2026-01-01T12:30:15.999Z"
    assert verifier.verify(credential, ADDRESS).reason == Reason.INVALID_SIGNATURE
    assert crypto_calls["n"] > calls


def test_cache_is_bounded(crypto_calls):
    verifier = make_verifier(cache_size=2)
    stamps = [issue("eip712", provider=p) for p in ("A", "B", "C")]
    for stamp in stamps:
        assert verifier.verify(stamp, ADDRESS).valid
    assert len(verifier.cache) == 2
    calls = crypto_calls["n"]
    verifier.verify(stamps[2], ADDRESS)  # still cached
    assert crypto_calls["n"] == calls
    verifier.verify(stamps[0], ADDRESS)  # evicted: verified again
    assert crypto_calls["n"] > calls


def test_cache_can_be_disabled(crypto_calls):
    verifier = make_verifier(cache_size=0)
    credential = issue("eip712")
    verifier.verify(credential, ADDRESS)
    calls = crypto_calls["n"]
    verifier.verify(credential, ADDRESS)
    assert crypto_calls["n"] == 2 * calls
    assert len(verifier.cache) == 0


def test_field_failures_do_not_fill_the_cache():
    verifier = make_verifier()
    verifier.verify(issue("eip712"), OTHER_ADDRESS)
    assert len(verifier.cache) == 0


def test_unexpected_errors_are_not_cached(monkeypatch):
    verifier = make_verifier()
    credential = issue("eip712")

    def boom(credential):
        raise RuntimeError("bug")

    monkeypatch.setitem(verifier_module.PROOF_VERIFIERS, "EthereumEip712Signature2021", boom)
    assert verifier.verify(credential, ADDRESS).reason == Reason.MALFORMED
    assert len(verifier.cache) == 0


def test_a_credential_objects_text_ignores_key_order_and_refuses_non_json():
    assert credential_text({"a": 1, "b": [1, 2]}, 100) == credential_text({"b": [1, 2], "a": 1}, 100)
    assert credential_text({"a": 1}, 100) != credential_text({"a": "1"}, 100)
    with pytest.raises(ValueError):
        credential_text({"a": "x" * 200}, 100)
    with pytest.raises(TypeError):
        credential_text({1: "x"}, 100)


def test_bounded_cache_basics():
    cache: BoundedCache[int] = BoundedCache(2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1  # a hit does not reorder (no churn on the hot path)
    cache.put("c", 3)
    assert "a" not in cache and cache.get("b") == 2 and cache.get("c") == 3  # oldest evicted first
    assert cache.get("zz", "default") == "default"
    cache.put("b", None)  # None is a value (a valid proof), not a miss
    assert "b" in cache and cache.get("b", "missing") is None
    assert (cache.hits, cache.misses) == (4, 1)


def test_large_cache_stays_bounded_and_untracked():
    import gc

    cache: BoundedCache[str | None] = BoundedCache(1000)
    for i in range(5000):
        cache.put(i.to_bytes(8, "big"), None if i % 3 else "invalid signature")
    assert 990 <= len(cache) <= 1000
    assert cache.get((4999).to_bytes(8, "big"), "missing") != "missing"
    assert not gc.is_tracked(cache._data)  # full collections never walk the entries


def test_a_full_cache_has_its_final_table_from_the_first_eviction_on():
    cache: BoundedCache[str] = BoundedCache(20_000)
    for i in range(20_000):
        cache.put(i, "v")
    before = sys.getsizeof(cache._data)
    cache.put(20_000, "v")  # the first eviction settles the table
    settled = sys.getsizeof(cache._data)
    assert settled > before  # the rebuild that churn would have caused later happened now
    for i in range(20_001, 200_000):  # nine times the cache's size of churn
        cache.put(i, "v")
        if i % 5_000 == 0:
            assert sys.getsizeof(cache._data) == settled
    assert 19_800 <= len(cache) <= 20_000
    cache.clear()  # frees the table; refilled, it settles again
    for i in range(20_001):
        cache.put(i, "v")
    assert sys.getsizeof(cache._data) == settled


def test_settling_keeps_the_entries_and_their_order():
    cache: BoundedCache[int] = BoundedCache(1_000)
    for i in range(1_001):
        cache.put(i, i)
    assert list(cache._data) == list(range(10, 1_001))  # only the oldest 1% went; no throw-away keys
    assert cache.get(1_000) == 1_000 and 9 not in cache


def test_many_threads_share_one_verifier():
    verifier = make_verifier(cache_size=8)
    stamps = [issue("eip712", provider=f"P{i}") for i in range(16)]
    errors: list = []

    def work():
        try:
            for _ in range(20):
                for stamp in stamps:
                    assert verifier.verify(stamp, ADDRESS).valid
        except BaseException as exc:  # noqa: BLE001 - collected for the main thread
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert len(verifier.cache) <= 8


def test_package_imports_neither_falcon_nor_gevent():
    root = Path(__file__).resolve().parents[2]
    code = (
        "import sys, app.credentials, app.credentials.signing; "
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('falcon', 'gevent')); "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


# --- stored stamps: the proof cache keyed by the JSON text ----------------------------------------

def _text(credential) -> str:
    return orjson.dumps(credential).decode()


@pytest.mark.parametrize("kind", PROOF_TYPES)
def test_a_known_stored_stamp_is_not_verified_again(kind, crypto_calls):
    verifier = make_verifier()
    text = _text(issue(kind))
    verdict, fields = verifier.verify_stored(text, ADDRESS)
    assert verdict.valid and fields.subject_id.lower() == "did:pkh:eip155:1:" + ADDRESS.lower()
    calls = crypto_calls["n"]
    assert calls >= 2
    for _ in range(3):
        assert verifier.verify_stored(text, ADDRESS) == (verdict, fields)
    assert crypto_calls["n"] == calls and verifier.cache.hits == 3


@pytest.mark.parametrize("kind", PROOF_TYPES)
def test_a_cached_stored_stamp_is_still_checked_for_expiry_subject_and_trust(kind, crypto_calls):
    clock = {"now": NOW}
    verifier = make_verifier(now=lambda: clock["now"])
    text = _text(issue(kind))
    assert verifier.verify_stored(text, ADDRESS)[0].valid
    calls = crypto_calls["n"]
    assert verifier.verify_stored(text, OTHER_ADDRESS) == (Verdict(False, Reason.SUBJECT_MISMATCH), None)
    clock["now"] = EXPIRES + timedelta(seconds=1)
    assert verifier.verify_stored(text, ADDRESS)[0].reason == Reason.EXPIRED
    clock["now"] = NOW
    verifier.trusted_issuers = frozenset()
    assert verifier.verify_stored(text, ADDRESS)[0].reason == Reason.UNTRUSTED_ISSUER
    assert crypto_calls["n"] == calls


def test_a_changed_stored_stamp_misses_the_cache_and_a_bad_signature_is_cached(crypto_calls):
    verifier = make_verifier()
    credential = issue("eip712")
    assert verifier.verify_stored(_text(credential), ADDRESS)[0].valid
    calls = crypto_calls["n"]
    credential["proof"]["created"] = "2026-01-01T12:30:15.999Z"
    tampered = _text(credential)
    assert verifier.verify_stored(tampered, ADDRESS)[0].reason == Reason.INVALID_SIGNATURE
    assert crypto_calls["n"] > calls
    calls = crypto_calls["n"]
    assert verifier.verify_stored(tampered, ADDRESS)[0].reason == Reason.INVALID_SIGNATURE
    assert crypto_calls["n"] == calls


def test_stored_stamps_that_fail_field_checks_or_are_not_json_do_not_fill_the_cache():
    verifier = make_verifier()
    assert verifier.verify_stored(_text(issue("eip712")), OTHER_ADDRESS)[0].reason == Reason.SUBJECT_MISMATCH
    for text in ("{", "", "null", '{"a": 1', "[1, 2]", None):
        assert verifier.verify_stored(text, ADDRESS) == (Verdict(False, Reason.MALFORMED), None)
    assert len(verifier.cache) == 0
