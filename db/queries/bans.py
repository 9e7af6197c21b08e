"""ceramic_cache_ban and ceramic_cache_revocation lookups."""
from __future__ import annotations


def active_bans(cur, address: str, hashes: list[str]) -> list[tuple]:
    """(type, address, hash, provider, end_time, reason) of active bans on the address or hashes."""
    cur.execute(
        """SELECT type, address, hash, provider, end_time, reason FROM ceramic_cache_ban
           WHERE (lower(address) = lower(%s) OR hash = ANY(%s))
             AND (end_time IS NULL OR end_time > now())
           ORDER BY id""", (address, hashes))
    return cur.fetchall()


def revoked_proof_values(cur, proof_values: list[str]) -> set[str]:
    cur.execute("SELECT DISTINCT proof_value FROM ceramic_cache_revocation WHERE proof_value = ANY(%s)",
                (proof_values,))
    return {row[0] for row in cur.fetchall()}
