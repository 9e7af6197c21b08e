"""Human points writes for a passing score: one statement, idempotent through the unique keys."""
from __future__ import annotations

_AWARD = """
WITH qualified AS (
    INSERT INTO registry_humanpointscommunityqualifiedusers (address, community_id)
    VALUES (%(address)s, %(community_id)s)
    ON CONFLICT (address, community_id) DO NOTHING
), lists AS (
    SELECT l.name FROM account_addresslist l
    JOIN account_addresslistmember m ON m.list_id = l.id
    WHERE m.address = %(address)s AND l.name IN ('MetaMaskOG2', 'SeasonedPassportOGs', 'TheChosenOnes')
), awards (action, tx_hash, provider) AS (
    -- Human keys: one per provider, ever; tx_hash is the stamp's last nullifier.
    SELECT 'HKY', t.tx_hash, t.provider
    FROM unnest(%(hky_provider)s::text[], %(hky_tx_hash)s::text[]) AS t(provider, tx_hash)
    WHERE NOT EXISTS (SELECT 1 FROM registry_humanpoints h
                      WHERE h.address = %(address)s AND h.action = 'HKY' AND h.provider = t.provider)
    UNION ALL
    SELECT a, '', '' FROM unnest(%(stamp_actions)s::text[]) AS a
    UNION ALL
    -- Scoring bonus: qualified in 4 or more communities, counting this one.
    SELECT 'SCB', '', '' WHERE (
        SELECT count(DISTINCT q.community_id) FROM registry_humanpointscommunityqualifiedusers q
        WHERE q.address = %(address)s AND q.community_id <> %(community_id)s) + 1 >= 4
    UNION ALL
    SELECT 'MM2', '', '' WHERE %(mta_enabled)s
        AND EXISTS (SELECT 1 FROM lists WHERE name = 'MetaMaskOG2')
        AND (SELECT count(*) FROM registry_humanpoints WHERE action = 'MM2') < 5000
    UNION ALL
    SELECT 'SOG', '', '' WHERE EXISTS (SELECT 1 FROM lists WHERE name = 'SeasonedPassportOGs')
    UNION ALL
    SELECT 'TCO', '', '' WHERE EXISTS (SELECT 1 FROM lists WHERE name = 'TheChosenOnes')
)
INSERT INTO registry_humanpoints (address, action, timestamp, tx_hash, chain_id, provider)
SELECT %(address)s, action, now(), tx_hash, 0, provider FROM awards
ON CONFLICT (address, action, chain_id, provider, tx_hash) DO NOTHING
"""


def award(cur, address: str, community_id: int, human_keys: list[tuple[str, str]],
          stamp_actions: list[str], mta_enabled: bool) -> None:
    cur.execute(_AWARD, {
        "address": address, "community_id": community_id, "mta_enabled": mta_enabled,
        "hky_provider": [p for p, _ in human_keys], "hky_tx_hash": [t for _, t in human_keys],
        "stamp_actions": stamp_actions,
    })


_POINTS = """
SELECT
  (SELECT coalesce(json_agg(json_build_array(t.action, t.chain_id, t.points)), '[]') FROM (
       SELECT h.action, h.chain_id, sum(c.points) AS points
       FROM registry_humanpoints h
       JOIN registry_humanpointsconfig c ON c.action = h.action AND c.active
       WHERE h.address = %(address)s AND h.action <> 'HIM'
       GROUP BY h.action, h.chain_id) t),
  (SELECT multiplier FROM registry_humanpointsmultiplier WHERE address = %(address)s),
  EXISTS (SELECT 1 FROM registry_humanpointscommunityqualifiedusers WHERE address = %(address)s),
  (SELECT coalesce(json_object_agg(action, points), '{}') FROM registry_humanpointsconfig WHERE active)
"""


def points(cur, address: str):
    """(earned rows [(action, chain_id, points)], multiplier or None, eligible, active config)."""
    cur.execute(_POINTS, {"address": address})
    return cur.fetchone()
