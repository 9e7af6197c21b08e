"""Bans and revocations, as the IAM checks them before issuing or accepting credentials.

Bans are reported, not applied to scores. A credential is banned by the first active ban that
matches: ``account`` (same address, no provider), ``hash`` (same hash) or ``single_stamp`` (same
address and provider).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from app.addresses import did_address
from app.credentials.eip712 import proof_value_spellings
from app.errors import BadRequest
from db.queries import bans as sql


@dataclass(frozen=True)
class BanResult:
    hash: str | None
    is_banned: bool
    end_time: datetime | None = None
    ban_type: str | None = None
    reason: str | None = None


class BanService:
    def __init__(self, pool):
        self._pool = pool

    def check_bans(self, subjects: list[dict]) -> list[BanResult]:
        """``subjects``: the credentialSubject of each credential ({hash, provider, id}, values may be
        null). One result per credential, in order."""
        dids = {s.get("id") for s in subjects if s.get("id") is not None}
        if not subjects or not dids:
            raise BadRequest("Must provide valid credential(s)")
        if len(dids) > 1 or len(dids) != len({s.get("id") for s in subjects}):
            raise BadRequest("All credentials must be issued to the same address")
        address = did_address(str(next(iter(dids))))
        hashes = [s["hash"] for s in subjects if s.get("hash")]
        with self._pool.cursor() as cur:
            bans = sql.active_bans(cur, address, hashes)
        return [self._result(subject, address, bans) for subject in subjects]

    @staticmethod
    def _result(subject: dict, address: str, bans: list[tuple]) -> BanResult:
        hash_, provider = subject.get("hash"), subject.get("provider")
        for ban_type, ban_address, ban_hash, ban_provider, end_time, reason in bans:
            same_address = ban_address.lower() == address.lower()
            if ((ban_type == "account" and same_address and ban_provider == "")
                    or (ban_type == "hash" and hash_ and ban_hash == hash_)
                    or (ban_type == "single_stamp" and same_address and ban_provider == provider)):
                return BanResult(hash_, True, end_time, ban_type, reason)
        return BanResult(hash_, False)

    def check_revocations(self, proof_values: list[str]) -> list[tuple[str, bool]]:
        """One result per proof value, in order, duplicates kept. A value is revoked when a
        revocation names the same EIP-712 signature in any of its usual spellings (hex case,
        ``v`` as 0/1 or 27/28, high or low ``s``); other proof values compare as they are."""
        if not proof_values:
            return []
        spellings = [proof_value_spellings(value) for value in proof_values]
        with self._pool.cursor() as cur:
            revoked = sql.revoked_proof_values(cur, sorted(set().union(*spellings)))
        return [(value, not forms.isdisjoint(revoked)) for value, forms in zip(proof_values, spellings, strict=True)]
