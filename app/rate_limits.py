"""Per-API-key rate limits of the v2 score, counted in Redis exactly where Python counts them.

The production Python service limits ``GET /v2/stamps/{scorer_id}/score/{address}`` with
django-ratelimit 4.1 on Django's Redis cache (``RATELIMIT_ENABLE``). During a weighted rollout both
services serve the same partners, so this module writes the same Redis keys and values for the same
request: a partner's window is one count across both services.

What django-ratelimit does (``core.py``, with the upstream settings: group ``registry``, key the API
key's prefix, the rate the key row's ``rate_limit``, every method, ``increment=True``):

* the rate ``"<count>/<multiplier><unit>"`` (``125/15m``: 125 per 900 s; unit s, m, h or d, default
  s; the multiplier is optional) is matched at the start of the string only (``_split_rate``);
* windows are fixed and end at ``ts - ts % period + crc32(prefix) % period`` (one period later if
  that is already past), so each key's window edge is offset from the others' (``_get_window``);
* the key is ``rl:`` + the SHA-256 hex digest of ``group + "<count>/<seconds>s" + prefix + window``
  (the empty method suffix included), and Django's cache adds its ``:1:`` version prefix;
* the first request of a window stores ``1`` with a lifetime of period + 5 s (``SET ... NX EX``, an
  int stored as its digits by Django's RedisSerializer); later ones ``INCRBY 1`` it; a request is
  limited when the count after its own increment is greater than the limit.

Here the same stored value is reached in one pipelined round trip: ``SET key 0 EX period+5 NX``
then ``INCR key`` (the count after this request). Redis trouble never fails a request: Python fails
open too (``RATELIMIT_FAIL_OPEN``). A failure is logged at most once a minute per worker, and the
check is skipped for ``backoff`` seconds after it, so a dead Redis adds no latency.
"""
from __future__ import annotations

import hashlib
import logging
import re
import time
import zlib
from typing import Callable

from app.errors import ServiceError
from app.metrics import RATE_LIMIT_DECISIONS, REDIS_FAILURES

log = logging.getLogger(__name__)
_ALLOWED, _LIMITED, _SKIPPED = (RATE_LIMIT_DECISIONS.labels(d) for d in ("allowed", "limited", "skipped"))

GROUP = "registry"
EXPIRATION_FUDGE = 5  # django-ratelimit keeps a count this much longer than its window
_RATE = re.compile(r"([\d]+)/([\d]*)([smhd])?")
_PERIODS = {"s": 1, "m": 60, "h": 60 * 60, "d": 24 * 60 * 60}
WARN_EVERY = 60.0


class RateLimited(ServiceError):
    status = 429


def parse_rate(rate: str) -> tuple[int, int] | None:
    """(count, period in seconds) as django-ratelimit reads ``rate``; None when it cannot."""
    match = _RATE.match(rate)
    if match is None:
        return None
    count, multiplier, unit = match.groups()
    seconds = _PERIODS[unit or "s"] * (int(multiplier) if multiplier else 1)
    return (int(count), seconds) if seconds > 0 else None


def window_end(value: str, period: int, now: int) -> int:
    """The end of the fixed window ``now`` falls in, offset per ``value``."""
    if period == 1:
        return now
    window = now - now % period + zlib.crc32(value.encode()) % period
    return window + period if window < now else window


def cache_key(value: str, count: int, period: int, window: int, group: str = GROUP) -> str:
    """The Redis key Django's cache stores this window's count under."""
    digest = hashlib.sha256(f"{group}{count}/{period}s{value}{window}".encode()).hexdigest()
    return f":1:rl:{digest}"


class RateLimiter:
    """Counts v2 score requests per API key prefix; ``check`` raises RateLimited (429) past the limit."""

    def __init__(self, redis_client, message: str, enabled: bool = True, backoff: float = 5.0,
                 clock: Callable[[], float] = time.time, monotonic: Callable[[], float] = time.monotonic):
        self._redis = redis_client
        self._message = message
        self.enabled = enabled and redis_client is not None
        self._backoff = backoff
        self._clock = clock
        self._monotonic = monotonic
        self._skip_until = 0.0
        self._warned_at = float("-inf")
        self.failures = 0

    def check(self, prefix: str, rate: str | None) -> None:
        """Count this request against the key's window; RateLimited when it is over the limit.
        ``rate`` "" or None is unlimited (no Redis at all), as in Python."""
        if not self.enabled or not rate:
            return
        parsed = parse_rate(rate)
        if parsed is None:
            self._warn(f"API key {prefix}: unreadable rate limit {rate!r}, not limited")
            return
        if self._monotonic() < self._skip_until:
            _SKIPPED.inc()
            return
        count, period = parsed
        now = int(self._clock())
        window = window_end(prefix, period, now)
        key = cache_key(prefix, count, period, window)
        try:
            pipe = self._redis.pipeline(transaction=False)
            pipe.set(key, 0, ex=period + EXPIRATION_FUDGE, nx=True)
            pipe.incr(key)
            _, used = pipe.execute()
        except Exception as exc:  # unreachable, slow, or a value of another type: serve the request
            REDIS_FAILURES.inc()
            _SKIPPED.inc()
            self.failures += 1
            self._skip_until = self._monotonic() + self._backoff
            self._warn(f"rate limit check skipped for {self._backoff:g} s: {type(exc).__name__}: {exc}")
            return
        if used > count:
            _LIMITED.inc()
            raise RateLimited(self._message, retry_after=max(1, window - now))
        _ALLOWED.inc()

    def close(self) -> None:
        if self._redis is not None:
            self._redis.close()
            self._redis.connection_pool.disconnect()

    def _warn(self, message: str) -> None:
        now = self._monotonic()
        if now - self._warned_at >= WARN_EVERY:
            self._warned_at = now
            log.warning(message)
