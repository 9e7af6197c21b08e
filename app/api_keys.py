"""API keys as djangorestframework-api-key creates them: ``<8-char prefix>.<32-char secret>``.

The whole key string is hashed. ``hashed_key`` holds Django's PBKDF2-SHA256 password hash;
``hashed_key_sha256`` the fast path ``"sha256$" + hex(sha256(key))``.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
import string
from dataclasses import dataclass
from typing import Callable

from app.errors import Unauthorized
from db.queries import api_keys as sql

log = logging.getLogger(__name__)

_ALPHABET = string.ascii_letters + string.digits
PBKDF2_ITERATIONS = 600_000  # Django 4.2's default for new hashes


def generate_key() -> tuple[str, str]:
    """A new (prefix, full key)."""
    prefix = "".join(secrets.choice(_ALPHABET) for _ in range(8))
    secret = "".join(secrets.choice(_ALPHABET) for _ in range(32))
    return prefix, f"{prefix}.{secret}"


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


class ApiKeyService:
    """Authenticates partner API keys against ``account_accountapikey``.

    The SHA-256 fast path is checked when present (a mismatch is final); otherwise the Django PBKDF2
    hash, after which the SHA-256 hash is stored so the slow path runs once per key. PBKDF2 is
    600,000 rounds of CPU: ``offload`` runs it off the event loop (a native thread under gevent).
    """

    def __init__(self, pool, offload: Callable[..., bool] | None = None):
        self._pool = pool
        self._offload = offload or (lambda fn, *args: fn(*args))

    def authenticate(self, key: str | None) -> ApiKey:
        if not key or len(key) > 200:
            raise InvalidApiKey()
        prefix, dot, _ = key.partition(".")
        if not dot or not prefix:
            raise InvalidApiKey()
        with self._pool.cursor() as cur:
            row = sql.find_by_prefix(cur, prefix)
        if row is None:
            raise InvalidApiKey()
        if not row.usable:
            raise InvalidApiKey(row.id)
        if row.hashed_key_sha256:
            ok = sha256_matches(key, row.hashed_key_sha256)
        elif row.hashed_key.startswith("sha256$"):
            ok = sha256_matches(key, row.hashed_key)
        elif row.hashed_key.startswith("pbkdf2_sha256$"):
            ok = self._offload(pbkdf2_matches, key, row.hashed_key)
            if ok:
                with self._pool.cursor() as cur:
                    sql.backfill_sha256(cur, row.id, sha256_hash(key))
                log.info("API key %s: stored its SHA-256 hash after a PBKDF2 match", row.id[:8])
        else:
            ok = False
        if not ok:
            raise InvalidApiKey(row.id)
        return ApiKey(row.id, row.account_id, row.embed_rate_limit)
