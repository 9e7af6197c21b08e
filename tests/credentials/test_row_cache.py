"""Stored stamps known by row version (id and xmin): ``verify_stored(..., row=)`` then ``verify_row``.

What is cached for a row version must give the same verdicts as verifying its text again, with the
expiry still checked against the clock, and without cryptography."""

from __future__ import annotations

from datetime import timedelta

import orjson
import pytest

from app.credentials import Reason, Verdict
from app.credentials.verifier import row_key

from .helpers import ADDRESS, EXPIRES, NOW, OTHER_ADDRESS, PROOF_TYPES, issue, make_verifier
from .test_cache import crypto_calls  # noqa: F401 - fixture


def _text(credential) -> str:
    return orjson.dumps(credential).decode()


ROW = row_key(41, 7001)


def test_row_keys_differ_by_id_and_by_version():
    keys = {row_key(i, v) for i in (1, 2, 2**40) for v in (0, 1, 2**32 - 1)}
    assert len(keys) == 9
    assert row_key(1, 2**32 + 5) == row_key(1, 5)  # xmin is 32 bits


@pytest.mark.parametrize("kind", PROOF_TYPES)
def test_a_known_row_is_valid_without_decoding_or_cryptography(kind, crypto_calls):  # noqa: F811
    verifier = make_verifier()
    text = _text(issue(kind, nullifiers=["v0:a", "v1:b"]))
    assert verifier.verify_row(ROW, ADDRESS) is None
    verdict, fields = verifier.verify_stored(text, ADDRESS, row=ROW)
    assert verdict.valid
    calls = crypto_calls["n"]
    assert calls >= 2
    known, row_fields = verifier.verify_row(ROW, ADDRESS)
    assert known.valid and crypto_calls["n"] == calls
    assert (row_fields.expires_at, row_fields.expiration_raw, row_fields.nullifiers,
            row_fields.stored_nullifiers) == (fields.expires_at, fields.expiration_raw, fields.nullifiers,
                                              fields.stored_nullifiers)
    assert verifier.verify_row(row_key(41, 7002), ADDRESS) is None  # another version of the row


def test_an_unsigned_change_to_the_subject_is_remembered_as_a_bad_signature():
    verifier = make_verifier()
    credential = issue("eip712", nullifiers=["v0:stored"])
    credential["credentialSubject"]["hash"] = "v0:legacy"
    verifier.verify_stored(_text(credential), ADDRESS, row=ROW)
    assert verifier.verify_row(ROW, ADDRESS) == (Verdict(False, Reason.INVALID_SIGNATURE), None)


@pytest.mark.parametrize("kind", PROOF_TYPES)
def test_a_known_row_expires_with_the_clock(kind):
    clock = {"now": NOW}
    verifier = make_verifier(now=lambda: clock["now"])
    verifier.verify_stored(_text(issue(kind)), ADDRESS, row=ROW)
    clock["now"] = EXPIRES + timedelta(seconds=1)
    assert verifier.verify_row(ROW, ADDRESS) == (Verdict(False, Reason.EXPIRED), None)
    clock["now"] = EXPIRES  # expirationDate == now still passes
    assert verifier.verify_row(ROW, ADDRESS)[0].valid


def test_a_row_cached_while_expired_has_no_proof_result(crypto_calls):  # noqa: F811
    clock = {"now": EXPIRES + timedelta(days=1)}
    verifier = make_verifier(now=lambda: clock["now"])
    assert verifier.verify_stored(_text(issue("eip712")), ADDRESS, row=ROW)[0].reason == Reason.EXPIRED
    assert crypto_calls["n"] == 0  # no cryptography for an expired stamp
    assert verifier.verify_row(ROW, ADDRESS) == (Verdict(False, Reason.EXPIRED), None)
    clock["now"] = NOW  # a clock set back: unknown again, so the text is verified
    assert verifier.verify_row(ROW, ADDRESS) is None


@pytest.mark.parametrize("mutate, reason", [
    (lambda c: c.update(issuer="did:ethr:0x" + "11" * 20), Reason.UNTRUSTED_ISSUER),
    (lambda c: c.update(expirationDate="soon"), Reason.INVALID_EXPIRATION),
    (lambda c: c["credentialSubject"].update(id="did:pkh:eip155:1:" + OTHER_ADDRESS), Reason.SUBJECT_MISMATCH),
    (lambda c: c["credentialSubject"].pop("provider"), Reason.MISSING_PROVIDER),
    (lambda c: c["credentialSubject"].update(nullifiers=[]), Reason.MISSING_NULLIFIERS),
    (lambda c: c["proof"].update(proofValue="0x" + "00" * 65), Reason.INVALID_SIGNATURE),
])
def test_invalid_rows_are_remembered_with_the_reason_a_fresh_check_gives(mutate, reason, crypto_calls):  # noqa: F811
    verifier = make_verifier()
    credential = issue("eip712")
    mutate(credential)
    text = _text(credential)
    assert verifier.verify_stored(text, ADDRESS) == (Verdict(False, reason), None)
    assert verifier.verify_stored(text, ADDRESS, row=ROW) == (Verdict(False, reason), None)
    calls = crypto_calls["n"]
    for _ in range(2):
        assert verifier.verify_row(ROW, ADDRESS) == (Verdict(False, reason), None)
    assert crypto_calls["n"] == calls


@pytest.mark.parametrize("text", ["{", "", "null", "[1, 2]", None])
def test_rows_that_are_not_credentials_are_remembered_as_malformed(text):
    verifier = make_verifier()
    assert verifier.verify_stored(text, ADDRESS, row=ROW) == (Verdict(False, Reason.MALFORMED), None)
    assert verifier.verify_row(ROW, ADDRESS) == (Verdict(False, Reason.MALFORMED), None)


def test_a_huge_row_is_malformed_without_cryptography(crypto_calls):  # noqa: F811
    verifier = make_verifier(max_bytes=1000)
    assert verifier.verify_stored(_text(issue("eip712")), ADDRESS, row=ROW)[0].reason == Reason.MALFORMED
    assert crypto_calls["n"] == 0
    assert verifier.verify_row(ROW, ADDRESS)[0].reason == Reason.MALFORMED


def test_a_new_trusted_issuer_list_forgets_the_rows():
    verifier = make_verifier()
    verifier.verify_stored(_text(issue("eip712")), ADDRESS, row=ROW)
    verifier.trusted_issuers = []
    assert verifier.verify_row(ROW, ADDRESS) is None


def test_row_entries_are_small_and_untracked_by_the_garbage_collector():
    """Measured as allocated (tracemalloc), not as ``sys.getsizeof`` reports: orjson's bytes keep a
    4 KB buffer whatever their length, which once made each entry 20 times its size."""
    import gc
    import tracemalloc

    verifier = make_verifier()
    text = _text(issue("eip712"))
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for i in range(2000):
            verifier.verify_stored(text, ADDRESS, row=row_key(i, 1))
        per_entry = (tracemalloc.get_traced_memory()[0] - before) / 2000
    finally:
        tracemalloc.stop()
    assert len(verifier.cache) == 2000
    assert per_entry < 300, per_entry
    entry = verifier.cache._data[row_key(7, 1)]
    assert not gc.is_tracked(entry) and not gc.is_tracked(verifier.cache._data)


@pytest.mark.parametrize("kind", PROOF_TYPES)
def test_a_stamp_posted_again_is_not_verified_again(kind, crypto_calls):  # noqa: F811
    """A new row (a re-post) of a text verified when it was written takes the proof's verdict from
    the text's digest: no cryptography twice, valid or not. Rows a score reads are remembered by row
    only, so the cache holds one entry per stored stamp, not two."""
    verifier = make_verifier()
    good = _text(issue(kind))
    bad = issue(kind)
    bad["credentialSubject"]["nullifiers"] = ["v0:changed after signing"]
    for text in (good, _text(bad)):
        first = verifier.verify_stored(text, ADDRESS, row=row_key(1, 1), remember_text=True)
        calls = crypto_calls["n"]
        again = verifier.verify_stored(text, ADDRESS, row=row_key(2, 1), remember_text=True)
        assert again[0] == first[0] and crypto_calls["n"] == calls
    read = _text(issue(kind, provider="Read"))
    verifier.verify_stored(read, ADDRESS, row=row_key(3, 1))
    entries = len(verifier.cache) + len(verifier.failures)
    verifier.verify_stored(read, ADDRESS, row=row_key(4, 1))
    assert len(verifier.cache) + len(verifier.failures) == entries + 1


def test_failed_verifications_do_not_evict_valid_ones():
    """Verdicts of bad stamps live apart: a flood of them leaves the valid rows' entries alone."""
    verifier = make_verifier(cache_size=100)
    good = _text(issue("eip712"))
    for i in range(50):
        verifier.verify_stored(good, ADDRESS, row=row_key(i, 1))
    bad = issue("eip712")
    bad["proof"]["proofValue"] = "0x" + "1" * 130
    bad_text = _text(bad)
    for i in range(50_000, 55_000):
        assert not verifier.verify_stored(bad_text, ADDRESS, row=row_key(i, 1))[0].valid
    assert all(verifier.verify_row(row_key(i, 1), ADDRESS)[0].valid for i in range(50))
    assert len(verifier.failures) <= verifier.failures.maxsize
