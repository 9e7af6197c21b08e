"""SQL of one score: the context read, hash-link writes, and the persisted result.

Round trips of a score: ``load_community`` (scorer config and customization weights; cached by the
service for a few seconds), ``load_stamps_and_links`` (the address's stamps and the hash links of
their nullifiers, in one statement), then ``persist_score`` (passport, stamps, score, LDP and SCU
events in one statement). When a hash link must change (or points are due) the writes form one
transaction instead: ``write_hash_links`` (BEGIN travels with it), ``persist_score``, COMMIT. Rows
that already hold the right values are not rewritten.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Iterable

import orjson
from psycopg2.extras import Json

_LIVE_STAMPS = """
    SELECT DISTINCT ON (cc.provider) cc.id, cc.provider, cc.stamp
    FROM ceramic_cache_ceramiccache cc
    WHERE cc.address = %(address)s AND cc.type = 1 AND cc.deleted_at IS NULL
      AND NOT EXISTS (SELECT 1 FROM ceramic_cache_revocation r WHERE r.ceramic_cache_id = cc.id)
    ORDER BY cc.provider, cc.updated_at DESC, cc.id DESC
"""

_COMMUNITY = """
SELECT c.id, c.human_points_program, s.type,
       CASE s.type WHEN 'WEIGHTED_BINARY' THEN bw.weights WHEN 'WEIGHTED' THEN w.weights END::text,
       CASE s.type WHEN 'WEIGHTED_BINARY' THEN bw.threshold WHEN 'WEIGHTED' THEN w.threshold END,
       (SELECT json_agg(json_build_array(o.provider, o.weight)) FROM (
            SELECT 'AllowList#' || l.name AS provider, a.weight::text AS weight
            FROM account_customization cu
            JOIN account_allowlist a ON a.customization_id = cu.id
            JOIN account_addresslist l ON l.id = a.address_list_id
            WHERE cu.scorer_id = c.id
            UNION ALL
            SELECT r.provider_id, cr.weight::text
            FROM account_customization cu
            JOIN account_customcredential cr ON cr.customization_id = cu.id
            JOIN account_customcredentialruleset r ON r.id = cr.ruleset_id
            WHERE cu.scorer_id = c.id) o)
FROM account_community c
JOIN scorer_weighted_scorer s ON s.id = c.scorer_id
LEFT JOIN scorer_weighted_binaryweightedscorer bw ON bw.scorer_ptr_id = s.id
LEFT JOIN scorer_weighted_weightedscorer w ON w.scorer_ptr_id = s.id
WHERE {where}
ORDER BY {order}
LIMIT 1
"""
COMMUNITY_BY_ID = _COMMUNITY.format(where="c.id = %(community_id)s", order="c.id")
# Python's v2 API: the scorer id may be the community id or its external_scorer_id, and only the
# API key's account's communities qualify; an external id match wins.
COMMUNITY_FOR_ACCOUNT = _COMMUNITY.format(
    where="c.account_id = %(account_id)s AND (c.external_scorer_id = %(ref)s OR c.id = %(community_id)s)",
    order="(c.external_scorer_id = %(ref)s) DESC NULLS LAST")


@dataclass
class CommunityRow:
    community_id: int
    human_points_program: bool
    scorer_type: str
    weights_json: str | None
    threshold: Decimal | None
    overlay: list[tuple[str, str]]


def load_community(cur, community_id: int | None, *, account_id: int | None = None,
                   ref: str | None = None) -> CommunityRow | None:
    """The community's scorer type, weights JSON text, threshold and customization weights."""
    if account_id is None:
        cur.execute(COMMUNITY_BY_ID, {"community_id": community_id})
    else:
        cur.execute(COMMUNITY_FOR_ACCOUNT, {"community_id": community_id, "account_id": account_id, "ref": ref})
    row = cur.fetchone()
    if row is None:
        return None
    cid, program, scorer_type, weights, threshold, overlay = row
    return CommunityRow(cid, program, scorer_type, weights, threshold, [tuple(o) for o in overlay or ()])


# A stamp's candidate nullifiers: its nullifiers array and its legacy hash (over-fetching links
# for stamps that later prove invalid is harmless).
STAMPS_AND_LINKS = """
WITH stamps AS (""" + _LIVE_STAMPS + """), nullifiers AS (
    SELECT jsonb_array_elements_text(s.stamp #> '{credentialSubject,nullifiers}') AS hash
    FROM stamps s WHERE jsonb_typeof(s.stamp #> '{credentialSubject,nullifiers}') = 'array'
    UNION
    SELECT s.stamp #>> '{credentialSubject,hash}' FROM stamps s
    WHERE jsonb_typeof(s.stamp #> '{credentialSubject,hash}') = 'string'
)
SELECT st.ids, st.providers, st.texts,
       (SELECT json_agg(json_build_array(l.hash, l.address, l.expires_at))
        FROM registry_hashscorerlink l
        -- = ANY(ARRAY(...)) keeps this on the (hash, community_id) index whatever the statistics say
        WHERE l.hash = ANY(ARRAY(SELECT hash FROM nullifiers)) AND l.community_id = %(community_id)s)
FROM (SELECT array_agg(s.id ORDER BY s.provider) AS ids, array_agg(s.provider ORDER BY s.provider) AS providers,
             array_agg(s.stamp::text ORDER BY s.provider) AS texts
      FROM stamps s) st
"""


def load_stamps_and_links(cur, address: str, community_id: int):
    """([(cache id, provider, credential JSON text)], [(hash, address, expires_at ISO text)]) in one
    statement. The credentials stay text: the verifier's cache is keyed by it, so a known stamp is
    never decoded again."""
    cur.execute(STAMPS_AND_LINKS, {"address": address, "community_id": community_id})
    ids, providers, texts, links = cur.fetchone()
    return list(zip(ids or (), providers or (), texts or (), strict=True)), [tuple(l) for l in links or ()]


def community_exists(cur, community_id: int | None, *, account_id: int | None = None,
                     ref: str | None = None) -> bool:
    if account_id is None:
        cur.execute("SELECT 1 FROM account_community WHERE id = %s", (community_id,))
    else:
        cur.execute("SELECT 1 FROM account_community WHERE account_id = %s "
                    "AND (external_scorer_id = %s OR id = %s)", (account_id, ref, community_id))
    return cur.fetchone() is not None


def load_hash_links(cur, community_id: int, hashes: Iterable[str]) -> list[tuple[str, str, datetime]]:
    cur.execute("SELECT hash, address, expires_at FROM registry_hashscorerlink "
                "WHERE community_id = %s AND hash = ANY(%s)", (community_id, list(hashes)))
    return cur.fetchall()


_WRITE_LINKS = """
SAVEPOINT lifo;
WITH inserted AS (
    INSERT INTO registry_hashscorerlink (hash, address, community_id, expires_at)
    SELECT h, a, %(community_id)s, e
    FROM unnest(%(ins_hash)s::text[], %(ins_address)s::text[], %(ins_expires)s::timestamptz[]) AS t(h, a, e)
    ORDER BY h
    ON CONFLICT (hash, community_id) DO NOTHING
    RETURNING hash
), updated AS (
    UPDATE registry_hashscorerlink l SET address = %(address)s, expires_at = t.e
    FROM unnest(%(upd_hash)s::text[], %(upd_expires)s::timestamptz[]) AS t(h, e)
    WHERE l.community_id = %(community_id)s AND l.hash = t.h
      AND (l.address = %(address)s OR l.expires_at <= %(now)s)
    RETURNING l.hash
)
SELECT count(*) FROM (SELECT hash FROM inserted UNION ALL SELECT hash FROM updated) AS written
"""


def write_hash_links(cur, address: str, community_id: int, inserts, updates: dict, now: datetime) -> bool:
    """Apply the planned link writes after a savepoint; True if every write took effect (no
    concurrent claim got in between). Inserts are conditional (ON CONFLICT DO NOTHING) and
    updates re-check ownership, so a race shows as a short count, never as an error."""
    ordered = sorted(inserts.values(), key=lambda link: link.hash)
    upd = sorted(updates.items())
    cur.execute(_WRITE_LINKS, {
        "community_id": community_id, "address": address, "now": now,
        "ins_hash": [l.hash for l in ordered], "ins_address": [l.address for l in ordered],
        "ins_expires": [l.expires_at for l in ordered],
        "upd_hash": [h for h, _ in upd], "upd_expires": [e for _, e in upd],
    })
    return cur.fetchone()[0] == len(ordered) + len(upd)


def rollback_hash_links(cur) -> None:
    cur.execute("ROLLBACK TO SAVEPOINT lifo")


_PERSIST = """
WITH passport AS (
    INSERT INTO registry_passport (address, community_id) VALUES (%(address)s, %(community_id)s)
    ON CONFLICT (address, community_id) DO UPDATE SET address = EXCLUDED.address
    RETURNING id
), counted AS (
    SELECT cc.provider, cc.stamp FROM ceramic_cache_ceramiccache cc WHERE cc.id = ANY(%(stamp_ids)s)
), current_rows AS MATERIALIZED (
    -- only this passport's rows, through the passport_id index (whatever the statistics say)
    SELECT id, provider, credential FROM registry_stamp WHERE passport_id = (SELECT id FROM passport)
), kept AS (
    -- registry_stamp ends up holding exactly the counted stamps; rows that already hold one of them
    -- stay (one per stamp), the rest are replaced, so an unchanged passport writes no stamp rows.
    SELECT DISTINCT ON (r.provider) r.id, r.provider
    FROM current_rows r JOIN counted c ON c.provider = r.provider AND c.stamp = r.credential
    ORDER BY r.provider, r.id
), removed AS (
    DELETE FROM registry_stamp WHERE passport_id = (SELECT id FROM passport)
      AND id NOT IN (SELECT id FROM kept)
), stamps AS (
    INSERT INTO registry_stamp (passport_id, provider, credential)
    SELECT (SELECT id FROM passport), c.provider, c.stamp FROM counted c
    WHERE c.provider NOT IN (SELECT provider FROM kept)
), ldp AS (
    INSERT INTO registry_event (action, address, data, community_id, created_at)
    SELECT 'LDP', %(address)s, e, %(community_id)s, now() FROM unnest(%(ldp)s::jsonb[]) AS e
    RETURNING id
), score AS (
    INSERT INTO registry_score (passport_id, score, status, error, last_score_timestamp, evidence,
                                stamp_scores, stamps, expiration_date)
    SELECT id, %(score)s, 'DONE', NULL, %(timestamp)s, %(evidence)s, %(stamp_scores)s, %(stamps)s,
           %(expiration)s
    FROM passport
    ON CONFLICT (passport_id) DO UPDATE SET
        score = EXCLUDED.score, status = EXCLUDED.status, error = NULL,
        last_score_timestamp = EXCLUDED.last_score_timestamp, evidence = EXCLUDED.evidence,
        stamp_scores = EXCLUDED.stamp_scores, stamps = EXCLUDED.stamps,
        expiration_date = EXCLUDED.expiration_date
    RETURNING id, passport_id
)
INSERT INTO registry_event (action, address, data, community_id, created_at)
SELECT 'SCU', %(address)s,
       jsonb_build_object('model', 'registry.score', 'pk', score.id,
                          'fields', jsonb_build_object('passport', score.passport_id) || %(fields)s::jsonb),
       %(community_id)s, now()
FROM score
WHERE (SELECT count(*) FROM ldp) >= 0  -- forces the LDP events first, so their ids come before SCU
RETURNING (data ->> 'pk')::bigint
"""


def _json(value) -> Json:
    return Json(value, dumps=lambda v: orjson.dumps(v).decode())


def persist_score(cur, result, ldp_events: list[dict]) -> int:
    """Passport, counted stamps, score, LDP and SCU events; returns the score id."""
    cur.execute(_PERSIST, {
        "address": result.address, "community_id": result.community_id,
        "stamp_ids": result.counted_cache_ids,
        "ldp": [orjson.dumps(e).decode() for e in ldp_events],
        "score": result.binary_score, "timestamp": result.last_score_timestamp,
        "evidence": _json(result.evidence), "stamp_scores": _json(result.stamp_scores),
        "stamps": _json(result.stamps), "expiration": result.expiration,
        "fields": _json(result.event_fields()),
    })
    return cur.fetchone()[0]
