"""API keys as djangorestframework-api-key creates them: ``<8-char prefix>.<32-char secret>``.

The whole key string is hashed. ``hashed_key`` holds Django's PBKDF2-SHA256 password hash;
``hashed_key_sha256`` the fast path ``"sha256$" + hex(sha256(key))``.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import string

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
