"""Test data: communities, API keys and signed stamps, written to the test database for real."""
from __future__ import annotations

import secrets
from datetime import datetime, timedelta, timezone

import psycopg2

from app import api_keys
from app.credentials.signing import ethr_did, sign_eip712_credential
from db import seed

# A throw-away EIP-712 issuer that the test configuration trusts, and one it does not.
ISSUER_KEY = "0x" + "4f" * 32
ISSUER_DID = ethr_did(ISSUER_KEY)
UNTRUSTED_KEY = "0x" + "5e" * 32


def new_address() -> str:
    return "0x" + secrets.token_hex(20)


def in_days(days: float, base: datetime | None = None) -> datetime:
    return (base or datetime.now(timezone.utc)).replace(microsecond=0) + timedelta(days=days)


class World:
    """Each call commits, as the Django admin or the Passport app would have."""

    def __init__(self, dsn: str):
        self.conn = psycopg2.connect(dsn)
        self.conn.autocommit = True

    def close(self) -> None:
        self.conn.close()

    def query(self, sql: str, *params):
        with self.conn.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall() if cur.description else None

    def account(self) -> int:
        with self.conn.cursor() as cur:
            return seed.create_account(cur)

    def community(self, weights: dict, threshold="20", *, account_id: int | None = None,
                  kind: str = "WEIGHTED_BINARY", **kwargs) -> int:
        with self.conn.cursor() as cur:
            account_id = account_id or seed.create_account(cur)
            scorer_id = seed.create_scorer(cur, weights, threshold, kind)
            return seed.create_community(cur, account_id, scorer_id, **kwargs)

    def customization(self, community_id: int) -> int:
        with self.conn.cursor() as cur:
            return seed.create_customization(cur, community_id)

    def account_of(self, community_id: int) -> int:
        return self.query("SELECT account_id FROM account_community WHERE id = %s", community_id)[0][0]

    def api_key(self, account_id: int, *, with_sha256: bool = True, pbkdf2_iterations: int = 1000,
                **kwargs) -> tuple[str, str]:
        """A key of the account: (row id, plaintext key)."""
        prefix, key, hashed, hashed_sha256 = api_keys.new_key(pbkdf2_iterations)
        with self.conn.cursor() as cur:
            key_id = seed.create_api_key(cur, account_id, prefix, hashed, hashed_sha256 if with_sha256 else None,
                                         **kwargs)
        return key_id, key

    def credential(self, address: str, provider: str, nullifiers=None, *, expires: datetime | None = None,
                   issued: datetime | None = None, key: str = ISSUER_KEY, **kwargs) -> dict:
        expires = expires or in_days(90)
        return sign_eip712_credential(
            key, address, provider,
            nullifiers if nullifiers is not None else [f"v0:{provider}:{secrets.token_hex(8)}"],
            issuance_date=issued or expires - timedelta(days=90), expiration_date=expires, **kwargs)

    def stamp(self, address: str, provider: str, nullifiers=None, **kwargs) -> dict:
        """Sign a stamp and store it as a live ceramic-cache row; returns the credential."""
        credential = self.credential(address, provider, nullifiers, **kwargs)
        self.cache(address, credential)
        return credential

    def cache(self, address: str, credential: dict, **kwargs) -> int:
        with self.conn.cursor() as cur:
            return seed.add_cached_stamp(cur, address, credential, **kwargs)

    def link(self, community_id: int, nullifier: str, address: str, expires: datetime) -> None:
        self.query("INSERT INTO registry_hashscorerlink (hash, address, community_id, expires_at) "
                   "VALUES (%s, %s, %s, %s)", nullifier, address, community_id, expires)

    def links(self, community_id: int) -> dict[str, tuple[str, datetime]]:
        rows = self.query("SELECT hash, address, expires_at FROM registry_hashscorerlink "
                          "WHERE community_id = %s", community_id)
        return {h: (a, e) for h, a, e in rows}
