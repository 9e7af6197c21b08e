"""Read-only facts internal services ask about an address: allow lists, custom credential
definitions, GTC stakes, legacy staking events, grants contribution statistics."""
from __future__ import annotations

from app.addresses import normalize_address
from app.errors import NotFound
from db.queries import accounts, cgrants, stakes


class Lookups:
    def __init__(self, pool):
        self._pool = pool

    def is_list_member(self, list_name: str, address: str) -> bool:
        """Membership of the address, lowercased as Python's ORM lowercases every value compared
        with an ``EthAddressField``: a checksummed address finds its (lowercase) row. Not validated
        (app/addresses.py): anything else is simply not a member."""
        with self._pool.cursor() as cur:
            return accounts.is_list_member(cur, list_name, address.lower())

    def credential_definition(self, provider_id: str):
        """The ruleset's definition (stored JSON); NotFound without one."""
        with self._pool.cursor() as cur:
            definition = accounts.credential_definition(cur, provider_id.replace("%23", "#"))
        if definition is None:
            raise NotFound("Not Found")
        return definition

    def gtc_stakes(self, raw_address: str) -> list[tuple]:
        """The address's stakes, as staker or stakee: (chain, staker, stakee, amount, lock_time,
        unlock_time, last_updated_in_block)."""
        with self._pool.cursor() as cur:
            return stakes.gtc_stakes(cur, normalize_address(raw_address))

    def legacy_gtc_events(self, raw_address: str, round_id: int) -> list[tuple]:
        """Legacy staking events of a round: (id, address, amount, staked, staker, event_type,
        round_id, tx_hash, block_number)."""
        with self._pool.cursor() as cur:
            return stakes.legacy_events(cur, normalize_address(raw_address), round_id)

    def contributor_statistics(self, raw_address: str) -> tuple:
        """(grants contributed to, total amount)."""
        with self._pool.cursor() as cur:
            return cgrants.contributor_statistics(cur, normalize_address(raw_address))
