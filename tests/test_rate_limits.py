"""Per-API-key rate limits of the v2 score, in a real Redis, counted as the Python service counts them."""
from __future__ import annotations

import concurrent.futures
import hashlib
import logging
import re
import time
import zlib

import pytest
import requests
import webtest

from app.rate_limits import RateLimited, RateLimiter, cache_key, parse_rate, window_end
from tests.redisutil import RedisProcess, redis_server_binary
from tests.servers import gunicorn_server
from tests.world import new_address

FORM = "https://example.org/rate-limit-form"
MESSAGE = f"You have been rate limited! Use this form to request a rate limit elevation: {FORM}"


# --- the key, the window and the stored value, as django-ratelimit 4.1 and Django's cache make them

def django_key(group: str, rate: str, value: str, now: float) -> str:
    """What django-ratelimit 4.1's get_usage (method=ALL) and Django's cache key function make of a
    request, written out here from their code: _split_rate, _get_window, _make_cache_key, then
    default_key_func with KEY_PREFIX "" and VERSION 1."""
    count, multi, period = re.compile(r"([\d]+)/([\d]*)([smhd])?").match(rate).groups()
    seconds = {"s": 1, "m": 60, "h": 3600, "d": 86400}[(period or "s").lower()] * (int(multi) if multi else 1)
    ts = int(now)
    if seconds == 1:
        window = ts
    else:
        window = ts - (ts % seconds) + (zlib.crc32(value.encode("utf-8")) % seconds)
        if window < ts:
            window += seconds
    parts = [group, "%d/%ds" % (int(count), seconds), value, str(window), ""]
    return "%s:%s:%s" % ("", 1, "rl:" + hashlib.sha256("".join(parts).encode("utf-8")).hexdigest())


def our_key(rate: str, value: str, now: float) -> str:
    count, period = parse_rate(rate)
    return cache_key(value, count, period, window_end(value, period, int(now)))


def test_the_key_is_the_one_the_python_service_writes():
    # Computed by django-ratelimit 4.1.0 with Django 4.2's RedisCache for a fixed clock.
    assert our_key("5/1m", "abcd1234", 1700000000) == \
        ":1:rl:36a5a024629bde1411e84a83e2fd3ea09512035d6f0a86d5b794ed96feae1418"
    assert our_key("125/15m", "abcd1234", 1700000000) == \
        ":1:rl:f6cbf38b4b23c832584c8549f65a766afbbc226c507d3524373e37c051ad8a10"
    for now in (1700000000, 1700000059.9, 1700000060, 1733011200, 1764547200.5):
        for rate in ("125/15m", "350/15m", "2000/15m", "5/1m", "7/m", "10/2h", "3/1d", "4/s", "9/"):
            for value in ("abcd1234", "Zz09Yy18", "prefix-x"):
                assert our_key(rate, value, now) == django_key("registry", rate, value, now), (rate, value, now)


@pytest.mark.parametrize("rate, parsed", [
    ("125/15m", (125, 900)), ("5/1m", (5, 60)), ("5/m", (5, 60)), ("100/2h", (100, 7200)), ("1/d", (1, 86400)),
    ("5/", (5, 1)), ("5/1x", (5, 1)), ("5/M", (5, 1)), ("5/15min", (5, 900)),
    ("abc", None), ("", None), ("/5m", None), ("5/0m", None)])
def test_rates_read_as_django_ratelimit_reads_them(rate, parsed):
    assert parse_rate(rate) == parsed


# --- the limiter against a real Redis ---------------------------------------------------------------

class Clock:
    def __init__(self, now: float):
        self.now = now

    def __call__(self) -> float:
        return self.now


def limiter(server, clock, **kwargs) -> RateLimiter:
    return RateLimiter(server.client(), MESSAGE, clock=clock, **kwargs)


def prefix() -> str:
    return new_address()[2:10]


def test_the_n_plus_first_request_of_a_window_is_refused_and_a_new_window_resets(redis_server):
    key, clock = prefix(), Clock(1_800_000_000)
    limits = limiter(redis_server, clock)
    period_end = window_end(key, 60, int(clock.now))
    for _ in range(5):
        limits.check(key, "5/1m")
    with pytest.raises(RateLimited) as info:
        limits.check(key, "5/1m")
    assert (info.value.status, info.value.detail) == (429, MESSAGE)
    # at least 1 s: a key whose window ends this very second (1 random key in 60) is told 1
    assert info.value.retry_after == max(1, period_end - int(clock.now))
    stored = redis_server.client().get(our_key("5/1m", key, clock.now))
    assert stored == b"6"  # every request counts, as django-ratelimit's increment does
    clock.now = period_end + 1  # the next window (the end second itself still counts in this one)
    limits.check(key, "5/1m")
    assert redis_server.client().get(our_key("5/1m", key, clock.now)) == b"1"


def test_the_count_expires_with_pythons_fudge(redis_server):
    key, clock = prefix(), Clock(time.time())
    limiter(redis_server, clock).check(key, "5/1m")
    ttl = redis_server.client().ttl(our_key("5/1m", key, clock.now))
    assert 60 < ttl <= 65


def test_unlimited_keys_are_never_counted(redis_server):
    client = redis_server.client()
    before = set(client.keys("*"))
    limits = limiter(redis_server, Clock(time.time()))
    for _ in range(50):
        limits.check(prefix(), "")
        limits.check(prefix(), None)
    assert set(client.keys("*")) == before


def test_the_count_is_shared_with_the_python_service(redis_server):
    """A window already counted by the Python service (Django's cache: SET NX EX, then INCRBY) goes
    on counting here, and Python reads what this service stored."""
    key, clock = prefix(), Clock(time.time())
    count, period = parse_rate("5/1m")
    redis_key = our_key("5/1m", key, clock.now)
    client = redis_server.client()
    for _ in range(4):  # Python's get_usage: cache.add(key, 1, period + 5) else cache.incr(key)
        if not client.set(redis_key, 1, ex=period + 5, nx=True):
            assert client.exists(redis_key)
            client.incrby(redis_key, 1)
    limits = limiter(redis_server, clock)
    limits.check(key, "5/1m")  # the 5th of the window
    with pytest.raises(RateLimited):
        limits.check(key, "5/1m")
    assert int(client.get(redis_key)) == 6  # Django's RedisSerializer reads ints as their digits


def test_redis_trouble_never_fails_a_request_and_is_logged_once_a_minute(redis_server, caplog):
    key, clock, ticks = prefix(), Clock(time.time()), Clock(1000.0)
    redis_server.client().set(our_key("5/1m", key, clock.now), b"\x80\x04K\x01.")  # a pickled value
    limits = limiter(redis_server, clock, backoff=5.0, monotonic=ticks)
    with caplog.at_level(logging.WARNING, logger="app.rate_limits"):
        for _ in range(20):
            limits.check(key, "5/1m")  # served: Python fails open too
            ticks.now += 1
    assert limits.failures == 4  # once, then every backoff (5 s) of the 20
    assert len([r for r in caplog.records if "rate limit check skipped" in r.getMessage()]) == 1


def test_redis_stopped_mid_run_then_back(database_url, world, make_app):
    """Redis stopped: every request is still served, at once (a refused connection, then no attempt
    for the back-off); once it is back, limiting resumes."""
    binary = redis_server_binary()
    if binary is None:  # pragma: no cover
        pytest.skip("no redis-server binary")
    server = RedisProcess(binary)
    server.start()
    try:
        community = world.community({"Google": 1}, "1")
        account = world.account_of(community)
        _, key = world.api_key(account)
        world.query("UPDATE account_accountapikey SET rate_limit = '3/1d' WHERE prefix = %s", key.split(".")[0])
        services, app = make_app(RATELIMIT_ENABLE="True", REDIS_URL=server.url, RATELIMIT_BACKOFF="3",
                                 PASSPORT_API_RATE_LIMITING_FORM=FORM)
        api = webtest.TestApp(app)
        url = f"/v2/stamps/{community}/score/{new_address()}"
        headers = {"X-API-KEY": key}
        server.stop()
        for _ in range(10):
            started = time.monotonic()
            api.get(url, headers=headers, status=200)
            assert time.monotonic() - started < 1.0
        assert services.rate_limits.failures == 1  # the back-off skipped the others
        server.start()
        time.sleep(3.2)
        statuses = [api.get(url, headers=headers, expect_errors=True).status_int for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
    finally:
        server.stop()


def test_a_limited_request_is_refused_before_any_scoring(redis_server, world, make_app):
    community = world.community({"Google": 1}, "1")
    _, key = world.api_key(world.account_of(community))
    world.query("UPDATE account_accountapikey SET rate_limit = '2/1d' WHERE prefix = %s", key.split(".")[0])
    services, app = make_app(RATELIMIT_ENABLE="on", REDIS_URL=redis_server.url, PASSPORT_API_RATE_LIMITING_FORM=FORM,
                             FF_API_ANALYTICS="on")
    api = webtest.TestApp(app)
    address = new_address()
    world.stamp(address, "Google")
    url = f"/v2/stamps/{community}/score/{address}"
    for _ in range(2):
        api.get(url, headers={"X-API-KEY": key})
    events = world.query("SELECT count(*) FROM registry_event WHERE address = %s", address)
    scored_at = world.query("SELECT s.last_score_timestamp FROM registry_score s JOIN registry_passport p "
                            "ON p.id = s.passport_id WHERE p.address = %s", address)
    resp = api.get(url, headers={"X-API-KEY": key}, status=429)
    assert resp.json == {"detail": MESSAGE, "error": MESSAGE}
    assert 1 <= int(resp.headers["Retry-After"]) <= 86400
    assert world.query("SELECT count(*) FROM registry_event WHERE address = %s", address) == events
    assert world.query("SELECT s.last_score_timestamp FROM registry_score s JOIN registry_passport p "
                       "ON p.id = s.passport_id WHERE p.address = %s", address) == scored_at
    assert services.usage.flush()
    assert world.query("SELECT status_code, error FROM account_accountapikeyanalytics WHERE api_key_id = "
                       "(SELECT id FROM account_accountapikey WHERE prefix = %s) ORDER BY id",
                       key.split(".")[0])[-1] == (429, MESSAGE)


def test_limits_are_off_unless_switched_on(world, make_app):
    community = world.community({"Google": 1}, "1")
    _, key = world.api_key(world.account_of(community))
    world.query("UPDATE account_accountapikey SET rate_limit = '1/1d' WHERE prefix = %s", key.split(".")[0])
    _, app = make_app(REDIS_URL="redis://127.0.0.1:1/0")  # unreachable and unused
    api = webtest.TestApp(app)
    for _ in range(3):
        api.get(f"/v2/stamps/{community}/score/{new_address()}", headers={"X-API-KEY": key})


@pytest.mark.slow
def test_twenty_concurrent_requests_on_a_five_per_minute_key_give_exactly_five(redis_server, database_url, world):
    """Two gunicorn workers, one count: exactly 5 of 20 concurrent requests are served."""
    community = world.community({"Google": 1}, "1")
    _, key = world.api_key(world.account_of(community))
    key_prefix = key.split(".")[0]
    world.query("UPDATE account_accountapikey SET rate_limit = '5/1m' WHERE prefix = %s", key_prefix)
    with gunicorn_server(database_url, "web.wsgi:application", WEB_CONCURRENCY=2, RATELIMIT_ENABLE="true",
                         REDIS_URL=redis_server.url, PASSPORT_API_RATE_LIMITING_FORM=FORM) as server:
        left = window_end(key_prefix, 60, int(time.time())) - time.time()
        if left < 10:  # all 20 must fall in one window
            time.sleep(left + 0.5)
        url = f"{server.base}/v2/stamps/{community}/score/{new_address()}"
        with concurrent.futures.ThreadPoolExecutor(max_workers=20) as pool:
            statuses = list(pool.map(lambda _: requests.get(url, headers={"X-API-KEY": key}, timeout=30).status_code,
                                     range(20)))
    assert sorted(statuses) == [200] * 5 + [429] * 15
