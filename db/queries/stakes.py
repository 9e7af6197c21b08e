"""stake_stake (current GTC stakes) and registry_gtcstakeevent (legacy staking rounds)."""
from __future__ import annotations


def gtc_stakes(cur, address: str) -> list[tuple]:
    """(chain, staker, stakee, current_amount, lock_time, unlock_time, last_updated_in_block)."""
    cur.execute("""SELECT chain, staker, stakee, current_amount, lock_time, unlock_time, last_updated_in_block
                   FROM stake_stake WHERE staker = %s OR stakee = %s ORDER BY id""", (address, address))
    return cur.fetchall()


def legacy_events(cur, address: str, round_id: int) -> list[tuple]:
    """(id, address, amount, staked, staker, event_type, round_id, tx_hash, block_number)."""
    cur.execute("""SELECT id, address, amount, staked, staker, event_type, round_id, tx_hash, block_number
                   FROM registry_gtcstakeevent
                   WHERE round_id = %s AND (staker = %s OR address = %s) ORDER BY id""",
                (round_id, address, address))
    return cur.fetchall()
