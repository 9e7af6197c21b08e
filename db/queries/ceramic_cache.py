"""ceramic_cache_ceramiccache: the stamp store the Passport app and the embed widget write (V1 rows)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

import orjson

from db.literals import Literal
from db.prepared import Statement, execute
from db.queries import scoring


@dataclass(frozen=True)
class NewRow:
    provider: str
    text: str                # the credential's JSON
    proof_value: str
    issuance_date: datetime | None
    expiration_date: datetime | None


class InsertedRow(NamedTuple):
    id: int
    version: int             # the row's xmin (app.credentials.verifier.row_key)
    provider: str


# Serializes the writers of one address: upserting its passport row takes a row lock that a
# concurrent writer waits on until this transaction ends (no session-level advisory lock, so nothing
# pins a connection behind RDS Proxy).
_LOCK = """INSERT INTO registry_passport (address, community_id) VALUES (%(address)s, %(community_id)s)
           ON CONFLICT (address, community_id) DO UPDATE SET address = EXCLUDED.address"""

_SOFT_DELETE = """UPDATE ceramic_cache_ceramiccache SET deleted_at = now(), updated_at = now()
                  WHERE address = %(address)s AND provider = ANY(%(providers)s::text[]) AND type = 1
                    AND deleted_at IS NULL"""

# The live rows of other providers, as the statement's snapshot sees them: they stay live.
_KEPT = """kept AS (SELECT cc.id, cc.xmin, cc.provider, cc.proof_value, cc.updated_at
                  FROM ceramic_cache_ceramiccache cc
                  WHERE cc.address = %(address)s AND cc.type = 1 AND cc.deleted_at IS NULL
                    AND cc.provider <> ALL(%(providers)s::text[]))"""

# The new rows arrive as one JSON array of [provider, stamp, issuance date, expiration date, proof
# value] arrays, in order: one parameter, dollar-quoted (db/literals.py), where psycopg2's quoting of
# five arrays of ten values cost more than the rest of the statement; orjson writes the dates and
# splices each stamp's JSON text in as it is. ``r->1`` is the stamp as jsonb, as a ``jsonb[]`` element would be.
# The scalar subquery runs the soft delete to completion before the first row is inserted (a
# data-modifying CTE that nothing waits on would run after the INSERT). Rows this transaction has
# just soft-deleted are dead to the conflict check, so a replaced provider's new row goes in.
_INSERTED = """inserted AS (
INSERT INTO ceramic_cache_ceramiccache
  (type, address, provider, stamp, created_at, updated_at, compose_db_save_status,
   compose_db_stream_id, issuance_date, expiration_date, proof_value, source_app, source_scorer_id)
SELECT 1, %(address)s, r->>0, r->1, now(), now(), 'pending', '', (r->>2)::timestamptz, (r->>3)::timestamptz,
       r->>4, %(app)s, %(scorer)s
FROM jsonb_array_elements(%(rows)s::jsonb) AS t(r)
WHERE (SELECT count(*) FROM deleted) >= 0
ON CONFLICT (type, address, provider) WHERE deleted_at IS NULL DO NOTHING
RETURNING id, xmin, provider, proof_value, updated_at)"""

# The write and the score's read in one statement: the address's live rows after the write are the
# kept ones and the inserted ones (its snapshot still shows the replaced rows live, and not the new
# ones), read as scoring's read reads them (db/queries/scoring.py), digest left NULL; then the
# counts and the inserted rows with the stamp as the database stored it (jsonb's text).
_REPLACE = ("WITH deleted AS (" + _SOFT_DELETE + " RETURNING 1), " + _KEPT + ", " + _INSERTED + "\nSELECT "
            + scoring.STAMP_ROWS.format(source="""(SELECT id, xmin, provider, proof_value, updated_at FROM kept
              UNION ALL SELECT id, xmin, provider, proof_value, updated_at FROM inserted)
             AS cc(id, xmin, provider, proof_value, updated_at)""")
            + ",\n       " + scoring.PASSPORT_AND_LINKS + """, NULL,
       (SELECT count(*) FROM deleted), (SELECT count(*) FROM kept),
       (SELECT json_agg(json_build_array(id, xmin::text::bigint, provider) ORDER BY id) FROM inserted)
""" + scoring.PASSPORT_JOIN)

LOCK = Statement("lock_passport", _LOCK)
REPLACE = Statement("replace_stamps", _REPLACE)


@dataclass
class Replaced:
    deleted: int                 # live stamps soft-deleted
    kept: int                    # live stamps of other providers, left as they were
    inserted: list[InsertedRow]  # the rows that went in
    read: scoring.ScoreRead      # scoring's read of the address after the write (no digest)


def replace_stamps(cur, address: str, community_id: int, providers: list[str], rows: list[NewRow],
                   source_app: int | None, source_scorer_id: int | None) -> Replaced:
    """Lock the address, soft-delete its live stamps of ``providers``, insert ``rows`` as live stamps
    and read what scoring the address for ``community_id`` reads: one round trip, in that order. A
    row whose provider has a live row a concurrent writer inserted is skipped (not in ``inserted``)."""
    execute(cur, (LOCK, REPLACE), {
        "address": address, "community_id": community_id, "providers": providers, "app": source_app,
        "scorer": source_scorer_id, "rows": Literal(orjson.dumps(
            [(r.provider, orjson.Fragment(r.text), r.issuance_date, r.expiration_date, r.proof_value)
             for r in rows]).decode())})
    row = cur.fetchone()
    return Replaced(row[5], row[6], [InsertedRow(*r) for r in row[7] or ()], scoring.score_read(row))


# A live stamp: V1, not deleted, not revoked. Python checks the revocation of the row; a revoked
# proof posted again (a new row, the same canonical proof value) is revoked too.
_LIVE = """FROM ceramic_cache_ceramiccache cc
           WHERE cc.address = %(address)s AND cc.type = 1 AND cc.deleted_at IS NULL
             AND NOT EXISTS (SELECT 1 FROM ceramic_cache_revocation r WHERE r.ceramic_cache_id = cc.id)
             AND NOT EXISTS (SELECT 1 FROM ceramic_cache_revocation r WHERE r.proof_value = cc.proof_value)
           ORDER BY cc.created_at DESC NULLS LAST, cc.id DESC
           LIMIT %(limit)s"""


LIVE_JSON = Statement("live_stamps_json", """
SELECT coalesce(json_agg(json_build_object('id', cc.id, 'address', cc.address, 'provider', cc.provider,
                                           'stamp', cc.stamp)
                         ORDER BY cc.created_at DESC NULLS LAST, cc.id DESC), '[]')::text
FROM (SELECT cc.id, cc.address, cc.provider, cc.stamp, cc.created_at """ + _LIVE + """) cc""")
# The same array spelled without spaces, as orjson writes it (the bulk writes' answers): built as
# text, with to_json escaping the texts as orjson does (quote, backslash, control characters).
LIVE_COMPACT = Statement("live_stamps_compact", """
SELECT '[' || coalesce(string_agg('{"id":' || cc.id || ',"address":' || to_json(cc.address)::text
                                  || ',"provider":' || to_json(cc.provider)::text || ',"stamp":' || cc.stamp::text
                                  || '}', ',' ORDER BY cc.created_at DESC NULLS LAST, cc.id DESC), '') || ']'
FROM (SELECT cc.id, cc.address, cc.provider, cc.stamp, cc.created_at """ + _LIVE + """) cc""")


def live_stamps_json(cur, address: str, *, limit: int, compact: bool = False, after_commit: bool = False) -> bytes:
    """The address's live, non-revoked V1 stamps (the newest ``limit``) as a JSON array of
    CachedStamp, newest first. The stamps are passed through as the server's JSON text, never
    decoded here.

    ``compact``: spelled without spaces between keys and values, as orjson writes JSON (the bulk
    writes' answers), not with ``json_build_object``'s (the listing's answer).

    ``after_commit``: ``cur``'s transaction (``Pool.transaction``) is committed first, in the same
    message: the listing is then what the write committed (and anything committed since)."""
    execute(cur, LIVE_COMPACT if compact else LIVE_JSON, {"address": address, "limit": limit},
            after_commit=after_commit)
    return cur.fetchone()[0].encode()


@dataclass(frozen=True)
class StoredScore:
    score: object
    status: str | None
    error: str | None
    last_score_timestamp: datetime | None
    expiration_date: datetime | None
    evidence: dict | None
    stamps: dict | None


def stored_score(cur, address: str, community_id: int) -> tuple[bool, StoredScore | None] | None:
    """(the community's human_points_program, the address's stored score or None); None when the
    community does not exist."""
    cur.execute(
        """SELECT c.human_points_program, s.score, s.status, s.error, s.last_score_timestamp,
                  s.expiration_date, s.evidence, s.stamps, s.id IS NOT NULL
           FROM account_community c
           LEFT JOIN registry_passport p ON p.community_id = c.id AND p.address = %s
           LEFT JOIN registry_score s ON s.passport_id = p.id
           WHERE c.id = %s""", (address, community_id))
    row = cur.fetchone()
    if row is None:
        return None
    program, *fields, has_score = row
    return program, (StoredScore(*fields) if has_score else None)


def score_exists(cur, address: str, community_id: int) -> bool:
    cur.execute("SELECT 1 FROM registry_score s JOIN registry_passport p ON p.id = s.passport_id "
                "WHERE p.address = %s AND p.community_id = %s", (address, community_id))
    return cur.fetchone() is not None


def scorer_weights(cur, community_id: int) -> tuple[bool, str | None]:
    """(community exists, its scorer's weights JSON text or None), following the scorer type."""
    cur.execute(
        """SELECT CASE s.type WHEN 'WEIGHTED_BINARY' THEN bw.weights WHEN 'WEIGHTED' THEN w.weights END::text
           FROM account_community c
           JOIN scorer_weighted_scorer s ON s.id = c.scorer_id
           LEFT JOIN scorer_weighted_binaryweightedscorer bw ON bw.scorer_ptr_id = s.id
           LEFT JOIN scorer_weighted_weightedscorer w ON w.scorer_ptr_id = s.id
           WHERE c.id = %s""", (community_id,))
    row = cur.fetchone()
    return (False, None) if row is None else (True, row[0])
