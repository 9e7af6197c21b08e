"""Read-only facts internal services ask about an address: allow lists, custom credential
definitions, GTC stakes, legacy staking events, grants contribution statistics."""
from __future__ import annotations

from app.addresses import normalize_address
from app.errors import NotFound
from app.scoring.result import iso
from db.queries import accounts, cgrants, stakes


class Lookups:
    def __init__(self, pool):
        self._pool = pool

    def is_list_member(self, list_name: str, address: str) -> bool:
        """Membership of the address, lowercased as Python's ORM lowercases every value compared
        with an ``EthAddressField``: a checksummed address finds its (lowercase) row. Not
        validated (Python does not validate it either): anything else is simply not a member."""
        with self._pool.cursor() as cur:
            return accounts.is_list_member(cur, list_name, address.lower())

    def credential_definition(self, provider_id: str) -> dict:
        with self._pool.cursor() as cur:
            definition = accounts.credential_definition(cur, provider_id.replace("%23", "#"))
        if definition is None:
            raise NotFound("Not Found")
        return {"ruleset": definition}

    def gtc_stakes(self, raw_address: str) -> dict:
        address = normalize_address(raw_address)
        with self._pool.cursor() as cur:
            rows = stakes.gtc_stakes(cur, address)
        return {"items": [
            {"chain": chain, "staker": staker, "stakee": stakee, "amount": format(amount, ".18f"),
             "lock_time": iso(lock_time), "unlock_time": iso(unlock_time),
             "last_updated_in_block": int(block)}
            for chain, staker, stakee, amount, lock_time, unlock_time, block in rows]}

    def legacy_gtc_events(self, raw_address: str, round_id: int) -> dict:
        address = normalize_address(raw_address)
        with self._pool.cursor() as cur:
            rows = stakes.legacy_events(cur, address, round_id)
        keys = ("id", "address", "amount", "staked", "staker", "event_type", "round_id", "tx_hash",
                "block_number")
        return {"results": [{**dict(zip(keys, row, strict=True)), "amount": str(row[2])} for row in rows]}

    def contributor_statistics(self, raw_address: str) -> dict:
        address = normalize_address(raw_address)
        with self._pool.cursor() as cur:
            count, amount = cgrants.contributor_statistics(cur, address)
        return {"num_grants_contribute_to": float(count), "total_contribution_amount": float(amount)}
