"""cgrants: contributions of an address to Gitcoin grants (cgrants) and protocol rounds."""
from __future__ import annotations

_STATISTICS = """
WITH grants AS (
    SELECT count(DISTINCT gci.grant_id) AS n, coalesce(sum(gci.amount), 0) AS amount
    FROM cgrants_grantcontributionindex gci
    JOIN cgrants_contribution c ON c.id = gci.contribution_id
    WHERE gci.contributor_address = %(address)s AND c.success
), squelched AS (
    SELECT rm.round_eth_address FROM cgrants_squelchedaccounts sa
    JOIN cgrants_roundmapping rm ON rm.round_number = sa.round_number
    WHERE sa.address = %(address)s
), protocol AS (
    SELECT count(DISTINCT pc.project) AS n, round(coalesce(sum(pc.amount), 0), 3) AS amount
    FROM cgrants_protocolcontributions pc
    WHERE pc.contributor = %(address)s AND pc.amount >= 0.95
      AND pc.round NOT IN (SELECT round_eth_address FROM squelched)
)
SELECT grants.n + protocol.n, round(grants.amount + protocol.amount, 2) FROM grants, protocol
"""


def contributor_statistics(cur, address: str):
    """(number of grants and projects contributed to, total amount rounded to 2 decimals)."""
    cur.execute(_STATISTICS, {"address": address})
    return cur.fetchone()
