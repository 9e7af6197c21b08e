"""account_accountapikey lookups and the SHA-256 backfill."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from db.prepared import Statement, execute


@dataclass(frozen=True)
class ApiKeyRow:
    id: str
    account_id: int
    hashed_key: str
    hashed_key_sha256: str | None
    revoked: bool
    expiry_date: datetime | None
    embed_rate_limit: str | None
    prefix: str
    rate_limit: str | None

    def usable(self, now: datetime) -> bool:
        """Not revoked and not expired at ``now``."""
        return not self.revoked and (self.expiry_date is None or self.expiry_date > now)


BY_PREFIX = Statement("api_key_by_prefix", """
SELECT id, account_id, hashed_key, hashed_key_sha256, revoked, expiry_date, embed_rate_limit, prefix, rate_limit
FROM account_accountapikey WHERE prefix = %(prefix)s""")


def find_by_prefix(cur, prefix: str) -> ApiKeyRow | None:
    """The key row for ``prefix`` (unique), usable or not: analytics may name an unusable key."""
    execute(cur, BY_PREFIX, {"prefix": prefix})
    row = cur.fetchone()
    return ApiKeyRow(*row) if row else None


def backfill_sha256(cur, key_id: str, sha256_hash: str) -> None:
    cur.execute("UPDATE account_accountapikey SET hashed_key_sha256 = %s "
                "WHERE id = %s AND hashed_key_sha256 IS NULL", (sha256_hash, key_id))
