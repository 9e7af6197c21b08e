"""API keys as djangorestframework-api-key creates them: ``<8-char prefix>.<32-char secret>``.

The whole key string is hashed. ``hashed_key`` holds Django's PBKDF2-SHA256 password hash;
``hashed_key_sha256`` the fast path ``"sha256$" + hex(sha256(key))``.

A worker keeps each key row it read for ``API_KEY_CACHE_TTL`` seconds (default 10; 0 reads it on
every request), as it keeps scorer configs: the lookup was one of the four round trips of a v2
score. The presented key is still checked against the hash on every request, and expiry is judged
at use, so a cached row only delays a revocation (or any other edit of the row) by up to the TTL.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
import string
import threading
import time
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Callable

from app.caches import TtlCache
from app.errors import ServiceError, Unauthorized
from db.queries import api_keys as sql

log = logging.getLogger(__name__)

_ALPHABET = string.ascii_letters + string.digits
PBKDF2_ITERATIONS = 600_000  # Django 4.2's default for new hashes
MAX_CACHED_KEYS = 10_000
# A legacy key (PBKDF2 only) costs about half a second of CPU to check. So that wrong secrets sent
# with a known prefix cannot burn a worker's CPU: a refused (prefix, secret) is remembered for a
# while, and at most a few checks run at once per worker (a caller waits a moment for one, then 503).
PBKDF2_FAILURE_TTL = 60.0
PBKDF2_CONCURRENCY = 2
PBKDF2_WAIT = 2.0


def generate_key() -> tuple[str, str]:
    """A new (prefix, full key)."""
    prefix = "".join(secrets.choice(_ALPHABET) for _ in range(8))
    secret = "".join(secrets.choice(_ALPHABET) for _ in range(32))
    return prefix, f"{prefix}.{secret}"


def new_key(pbkdf2_iterations: int = PBKDF2_ITERATIONS) -> tuple[str, str, str, str]:
    """A new key as the Django library issues it: (prefix, full key, PBKDF2 hash, SHA-256 hash)."""
    prefix, key = generate_key()
    return prefix, key, pbkdf2_hash(key, iterations=pbkdf2_iterations), sha256_hash(key)


def sha256_hash(key: str) -> str:
    return "sha256$" + hashlib.sha256(key.encode()).hexdigest()


def pbkdf2_hash(key: str, salt: str | None = None, iterations: int = PBKDF2_ITERATIONS) -> str:
    salt = salt or "".join(secrets.choice(_ALPHABET) for _ in range(22))
    digest = hashlib.pbkdf2_hmac("sha256", key.encode(), salt.encode(), iterations, dklen=32)
    return f"pbkdf2_sha256${iterations}${salt}${base64.b64encode(digest).decode()}"


def pbkdf2_matches(key: str, encoded: str) -> bool:
    """Verify a Django ``pbkdf2_sha256$...`` hash in constant time; False for any other format."""
    try:
        algorithm, iterations, salt, expected = encoded.split("$", 3)
        rounds = int(iterations)
    except ValueError:
        return False
    if algorithm != "pbkdf2_sha256" or not 1 <= rounds <= 10_000_000:
        return False
    digest = hashlib.pbkdf2_hmac("sha256", key.encode(), salt.encode(), rounds, dklen=32)
    return hmac.compare_digest(base64.b64encode(digest).decode(), expected)


def sha256_matches(key: str, encoded: str) -> bool:
    return hmac.compare_digest(sha256_hash(key), encoded)


def extract_key(x_api_key: str | None, authorization: str | None) -> str | None:
    """``X-API-Key`` wins; else the second whitespace-separated token of ``Authorization``."""
    if x_api_key:
        return x_api_key.strip()
    parts = (authorization or "").split()
    return parts[1] if len(parts) >= 2 else None


class KeyCheckBusy(ServiceError):
    status = 503
    default_detail = "Too many API key checks at once, please retry."
    retry_after = 1


class InvalidApiKey(Unauthorized):
    default_detail = "Invalid API Key."

    def __init__(self, key_id: str | None = None):
        super().__init__()
        self.key_id = key_id  # set when the prefix names a key: analytics may record the attempt


@dataclass(frozen=True)
class ApiKey:
    id: str
    account_id: int
    embed_rate_limit: str | None
    prefix: str = ""
    rate_limit: str | None = None  # the v2 score's limit ("125/15m"; "" or None: unlimited)


class ApiKeyService:
    """Authenticates partner API keys against ``account_accountapikey``.

    The SHA-256 fast path is checked when present (a mismatch is final); otherwise the Django PBKDF2
    hash, after which the SHA-256 hash is stored so the slow path runs once per key. PBKDF2 is
    600,000 rounds of CPU: ``offload`` runs it off the event loop (a native thread under gevent).
    """

    def __init__(self, pool, offload: Callable[..., bool] | None = None, ttl: float = 10.0,
                 clock: Callable[[], float] = time.monotonic,
                 now: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
                 demo_key: str | None = None, demo_aliases: tuple[str, ...] = ()):
        self._pool = pool
        # Python: a key listed in DEMO_API_KEY_ALIASES is replaced by DEMO_API_KEY before anything else.
        self._aliases = frozenset(demo_aliases) if demo_key else frozenset()
        self._demo_key = demo_key
        self._offload = offload or (lambda fn, *args: fn(*args))
        self._now = now
        self._rows: TtlCache[sql.ApiKeyRow] = TtlCache(ttl, MAX_CACHED_KEYS, clock)
        self._refused: TtlCache[bool] = TtlCache(PBKDF2_FAILURE_TTL, MAX_CACHED_KEYS, clock)  # by digest
        self._pbkdf2_slots = threading.BoundedSemaphore(PBKDF2_CONCURRENCY)

    def authenticate(self, key: str | None) -> ApiKey:
        if key in self._aliases:
            key = self._demo_key
        if not key or len(key) > 200:
            raise InvalidApiKey()
        prefix, dot, _ = key.partition(".")
        if not dot or not prefix:
            raise InvalidApiKey()
        row = self._row(prefix)
        if row is None:
            raise InvalidApiKey()
        if not row.usable(self._now()):
            raise InvalidApiKey(row.id)
        if row.hashed_key_sha256:
            ok = sha256_matches(key, row.hashed_key_sha256)
        elif row.hashed_key.startswith("sha256$"):
            ok = sha256_matches(key, row.hashed_key)
        elif row.hashed_key.startswith("pbkdf2_sha256$"):
            ok = self._pbkdf2(key, row.hashed_key)
            if ok:
                with self._pool.cursor() as cur:
                    sql.backfill_sha256(cur, row.id, sha256_hash(key))
                log.info("API key %s: stored its SHA-256 hash after a PBKDF2 match", row.id[:8])
                # the cached copy takes the fast path too, or PBKDF2 would run until it expires
                self._rows.put(prefix, replace(row, hashed_key_sha256=sha256_hash(key)))
        else:
            ok = False
        if not ok:
            raise InvalidApiKey(row.id)
        return ApiKey(row.id, row.account_id, row.embed_rate_limit, row.prefix, row.rate_limit)

    def _pbkdf2(self, key: str, encoded: str) -> bool:
        """The slow check, bounded: a pair refused within PBKDF2_FAILURE_TTL is refused again
        without work, and at most PBKDF2_CONCURRENCY checks run at once (KeyCheckBusy past a wait)."""
        digest = hashlib.blake2b(f"{key}\0{encoded}".encode(), digest_size=16).digest()
        if self._refused.get(digest):
            return False
        if not self._pbkdf2_slots.acquire(timeout=PBKDF2_WAIT):
            raise KeyCheckBusy()
        try:
            ok = self._offload(pbkdf2_matches, key, encoded)
        finally:
            self._pbkdf2_slots.release()
        if not ok:
            self._refused.put(digest, True)
        return ok

    def _row(self, prefix: str) -> sql.ApiKeyRow | None:
        """The key row for ``prefix``: cached for ``ttl`` seconds once found (unknown prefixes are
        read every time, so a key created a moment ago works at once)."""
        row = self._rows.get(prefix)
        if row is not None:
            return row
        with self._pool.cursor() as cur:
            row = sql.find_by_prefix(cur, prefix)
        if row is not None:
            self._rows.put(prefix, row)
        return row
