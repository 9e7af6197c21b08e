"""ApiKeyService against the real table: the per-worker cache of key rows and what it may not change."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from app import api_keys
from app.api_keys import ApiKeyService, InvalidApiKey
from db.pool import Pool


@pytest.fixture
def pool(database_url):
    p = Pool(database_url, size=2)
    yield p
    p.close()


class Clocks:
    """The cache's monotonic clock and the wall clock that expiry is judged by, moved together."""

    def __init__(self):
        self.mono = 1000.0
        self.wall = datetime.now(timezone.utc)

    def advance(self, seconds: float) -> None:
        self.mono += seconds
        self.wall += timedelta(seconds=seconds)


@pytest.fixture
def clocks():
    return Clocks()


def service(pool, clocks, ttl=10.0, offload=None):
    return ApiKeyService(pool, offload=offload, ttl=ttl, clock=lambda: clocks.mono, now=lambda: clocks.wall)


def revoke(world, key_id):
    world.query("UPDATE account_accountapikey SET revoked = true WHERE id = %s", key_id)


def test_a_revocation_applies_once_the_cached_row_expires(world, pool, clocks):
    key_id, key = world.api_key(world.account())
    keys = service(pool, clocks)
    assert keys.authenticate(key).id == key_id
    revoke(world, key_id)
    clocks.advance(9)
    assert keys.authenticate(key).id == key_id  # the row read 9 s ago
    clocks.advance(2)
    with pytest.raises(InvalidApiKey) as refused:
        keys.authenticate(key)
    assert refused.value.key_id == key_id


def test_without_a_ttl_every_request_reads_the_row(world, pool, clocks):
    key_id, key = world.api_key(world.account())
    keys = service(pool, clocks, ttl=0)
    keys.authenticate(key)
    revoke(world, key_id)
    with pytest.raises(InvalidApiKey):
        keys.authenticate(key)


def test_a_cached_row_still_checks_the_secret(world, pool, clocks):
    key_id, key = world.api_key(world.account())
    keys = service(pool, clocks)
    keys.authenticate(key)
    prefix, secret = key.split(".")
    changed = ("y" if secret[0] == "x" else "x") + secret[1:]  # one character off, whatever the secret
    for wrong in (prefix + "." + changed, prefix + "." + "0" * 32):
        with pytest.raises(InvalidApiKey) as refused:
            keys.authenticate(wrong)
        assert refused.value.key_id == key_id
    assert keys.authenticate(key).id == key_id


def test_expiry_is_judged_at_use_not_when_the_row_was_read(world, pool, clocks):
    key_id, key = world.api_key(world.account(), expiry_date=clocks.wall + timedelta(seconds=5))
    keys = service(pool, clocks, ttl=60)
    assert keys.authenticate(key).id == key_id
    clocks.advance(6)
    with pytest.raises(InvalidApiKey):
        keys.authenticate(key)


def test_an_unknown_prefix_is_not_remembered(world, pool, clocks):
    keys = service(pool, clocks)
    account = world.account()
    key_id, key = world.api_key(account)
    prefix = key.split(".")[0]
    world.query("UPDATE account_accountapikey SET prefix = 'gone' || left(prefix, 4) WHERE id = %s", key_id)
    with pytest.raises(InvalidApiKey) as refused:
        keys.authenticate(key)
    assert refused.value.key_id is None
    world.query("UPDATE account_accountapikey SET prefix = %s WHERE id = %s", prefix, key_id)
    assert keys.authenticate(key).id == key_id  # at once, not after a TTL


def test_pbkdf2_runs_once_per_key_even_while_the_row_is_cached(world, pool, clocks):
    key_id, key = world.api_key(world.account(), with_sha256=False, pbkdf2_iterations=1000)
    calls = []

    def offload(fn, *args):
        calls.append(fn.__name__)
        return fn(*args)

    keys = service(pool, clocks, offload=offload)
    for _ in range(3):
        assert keys.authenticate(key).id == key_id
    assert calls == ["pbkdf2_matches"]
    assert world.query("SELECT hashed_key_sha256 FROM account_accountapikey WHERE id = %s",
                       key_id) == [(api_keys.sha256_hash(key),)]


def test_the_cache_is_per_key_and_bounded(world, pool, clocks, monkeypatch):
    monkeypatch.setattr(api_keys, "MAX_CACHED_KEYS", 2)
    account = world.account()
    made = [world.api_key(account) for _ in range(3)]
    keys = service(pool, clocks)
    for key_id, key in made:
        assert keys.authenticate(key).id == key_id
    assert len(keys._rows) <= 2
    revoke(world, made[0][0])
    with pytest.raises(InvalidApiKey):
        keys.authenticate(made[0][1])  # evicted, so read again


def _wrong(key: str) -> str:
    prefix, secret = key.split(".")
    return f"{prefix}.{'y' if secret[0] != 'y' else 'z'}{secret[1:]}"


def test_a_refused_legacy_secret_is_remembered_for_a_while(world, pool, clocks, monkeypatch):
    """A wrong secret sent again with a known prefix costs no second PBKDF2 run until the memory of
    the refusal expires; the right key still works meanwhile."""
    runs = []
    real = api_keys.pbkdf2_matches
    monkeypatch.setattr(api_keys, "pbkdf2_matches", lambda key, encoded: runs.append(key) or real(key, encoded))
    _, key = world.api_key(world.account(), with_sha256=False)
    keys = service(pool, clocks)
    for _ in range(3):
        with pytest.raises(InvalidApiKey):
            keys.authenticate(_wrong(key))
    assert len(runs) == 1
    clocks.advance(api_keys.PBKDF2_FAILURE_TTL + 1)
    with pytest.raises(InvalidApiKey):
        keys.authenticate(_wrong(key))
    assert len(runs) == 2
    assert keys.authenticate(key)


def test_legacy_key_checks_run_a_few_at_a_time(world, pool, clocks, monkeypatch):
    """At most PBKDF2_CONCURRENCY slow checks at once per worker; a caller that cannot get a turn
    within PBKDF2_WAIT is answered 503 (KeyCheckBusy), not queued for ever."""
    import threading
    import time

    running, most = [0], [0]
    lock = threading.Lock()

    def slow(key, encoded):
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.3)
        with lock:
            running[0] -= 1
        return False

    monkeypatch.setattr(api_keys, "pbkdf2_matches", slow)
    monkeypatch.setattr(api_keys, "PBKDF2_WAIT", 0.1)
    _, key = world.api_key(world.account(), with_sha256=False)
    keys = service(pool, clocks)
    outcomes = []

    def attempt(i):
        try:
            keys.authenticate(f"{key.split('.')[0]}.wrong-secret-{i}")
        except api_keys.KeyCheckBusy:
            outcomes.append("busy")
        except InvalidApiKey:
            outcomes.append("refused")

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert most[0] == api_keys.PBKDF2_CONCURRENCY
    assert outcomes.count("refused") == api_keys.PBKDF2_CONCURRENCY and outcomes.count("busy") == 4
