"""SQL of one score: the context reads, hash-link writes, and the persisted result.

Round trips of a steady-state score: ``load_community`` (scorer config and customization weights;
cached by the service for a few seconds), ``read_for_score`` (the address's live stamp rows by id
and version, without their credentials; its passport and the versions of its ``registry_stamp``
rows; the hash links it owns), then ``persist_score`` (score and events). ``stamp_texts`` fetches
the credentials of rows the verifier has not seen; ``complete_context`` reads the links of
nullifiers the address does not own, and ``load_score_context`` reads passport and links afresh
after a verification. When ``registry_stamp`` may not hold the counted stamps,
``persist_score_and_stamps`` also writes it; when a hash link must change (or points are due) the
writes form one transaction: ``write_hash_links`` (BEGIN travels with it),
``persist_score_and_stamps``, COMMIT. Rows that already hold the right values are not rewritten. A
row's version is its ``xmin`` (new on every UPDATE).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Iterable

import orjson

from db.prepared import Statement, execute

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
COMMUNITY_BY_ID = Statement("community_by_id", _COMMUNITY.format(where="c.id = %(community_id)s", order="c.id"))
# Python's v2 API: the scorer id may be the community id or its external_scorer_id, and only the
# API key's account's communities qualify; an external id match wins.
COMMUNITY_FOR_ACCOUNT = Statement("community_for_account", _COMMUNITY.format(
    where="c.account_id = %(account_id)s AND (c.external_scorer_id = %(ref)s OR c.id = %(community_id)s)",
    order="(c.external_scorer_id = %(ref)s) DESC NULLS LAST"))


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
        execute(cur, COMMUNITY_BY_ID, {"community_id": community_id})
    else:
        execute(cur, COMMUNITY_FOR_ACCOUNT, {"community_id": community_id, "account_id": account_id, "ref": ref})
    row = cur.fetchone()
    if row is None:
        return None
    cid, program, scorer_type, weights, threshold, overlay = row
    return CommunityRow(cid, program, scorer_type, weights, threshold, [tuple(o) for o in overlay or ()])


# The usual read of a score, in one round trip:
# * the address's live V1 rows, newest first per provider (Python: DISTINCT ON (provider) ... ORDER
#   BY provider, updated_at DESC), by id and version, revoked ones flagged (the caller skips them):
#   a revocation of the row (Python's rule) or of its proof value (the same proof posted again; new
#   rows store the canonical spelling of an EIP-712 signature, which revocations copy).
#   No credential is read: decompressing and printing ten 2 KB jsonb values was most of this
#   read's cost, and the verifier knows a row version it has seen;
# * the passport and the versions of its registry_stamp rows;
# * the hash links the address owns in the community. Links are found by nullifier, which only the
#   checked credentials name, but a stamp that counted before owns its nullifiers' links: in the
#   usual rescore these are all the links needed, and ``complete_context`` reads any others.
# The read's first column, over ``cc`` (``{source}``): rows with id, xmin, provider, proof_value and
# updated_at. The bulk write (db/queries/ceramic_cache.py) reads it from the rows it keeps and inserts.
STAMP_ROWS = """(SELECT json_agg(json_build_array(cc.id, cc.xmin::text::bigint, cc.provider,
                                         EXISTS (SELECT 1 FROM ceramic_cache_revocation r
                                                 WHERE r.ceramic_cache_id = cc.id)
                                         OR EXISTS (SELECT 1 FROM ceramic_cache_revocation r
                                                    WHERE r.proof_value = cc.proof_value))
                        ORDER BY cc.provider, cc.updated_at DESC, cc.id DESC)
        FROM {source})"""
# The read's other three columns (passport, its registry_stamp rows, the links the address owns).
PASSPORT_AND_LINKS = """p.id,
       (SELECT array_agg(ARRAY[s.id, s.xmin::text::bigint] ORDER BY s.id)
        FROM registry_stamp s WHERE s.passport_id = p.id),
       -- "+ 0" keeps the planner on the address index: with the community's index it ANDs a
       -- bitmap of every link of the community (100,000 in the benchmark, 3 ms) whenever the
       -- statistics underestimate how many that is.
       (SELECT json_agg(json_build_array(l.hash, l.address, l.expires_at) ORDER BY l.hash)
        FROM registry_hashscorerlink l
        WHERE l.address = %(address)s AND l.community_id + 0 = %(community_id)s)"""
PASSPORT_JOIN = """FROM (VALUES (1)) AS one
LEFT JOIN registry_passport p ON p.address = %(address)s AND p.community_id = %(community_id)s"""
_READ = ("\nSELECT " + STAMP_ROWS.format(source="""ceramic_cache_ceramiccache cc
        WHERE cc.address = %(address)s AND cc.type = 1 AND cc.deleted_at IS NULL""")
         + ",\n       " + PASSPORT_AND_LINKS + "\n" + PASSPORT_JOIN + "\n")
# The read's digest: the memo of a rescore (app/scoring/memo.py) is valid while the same read gives
# the same digest. Every part is spelled out (coalesce) so that no two different reads concatenate
# to the same text.
_DIGEST = """md5(coalesce(rd.stamps::text, '-') || '|' || coalesce(rd.passport_id::text, '-') || '|'
           || coalesce(rd.registry::text, '-') || '|' || coalesce(rd.links::text, '-'))"""
# OFFSET 0 keeps the read a subquery of its own: pulled up, each of its aggregates would run twice.
_READ_WITH_DIGEST = (f"SELECT rd.*, {_DIGEST} AS digest "
                     f"FROM ({_READ} OFFSET 0) AS rd(stamps, passport_id, registry, links)")
SCORE_READ = Statement("score_read", _READ_WITH_DIGEST)


@dataclass
class ScoreRead:
    stamp_rows: list[list]                     # [cache id, row version, provider, revoked]
    passport_id: int | None
    registry_rows: list[tuple[int, int]]       # (id, version) of the passport's registry_stamp rows
    owned_links: list[list]                    # [hash, address, expires_at ISO text] owned by the address
    digest: str                                # md5 of all of the above, as read


def read_for_score(cur, address: str, community_id: int) -> ScoreRead:
    execute(cur, SCORE_READ, {"address": address, "community_id": community_id})
    return score_read(cur.fetchone())


def score_read(row) -> ScoreRead:
    """A ``ScoreRead`` from a row whose first five columns are the read's (digest NULL if not made)."""
    stamps, passport_id, registry, links, digest = row[:5]
    return ScoreRead(stamps or [], passport_id, [(i, v) for i, v in registry or ()], links or [], digest)


STAMP_TEXTS = Statement("stamp_texts", "SELECT id, xmin::text::bigint, stamp::text "
                        "FROM ceramic_cache_ceramiccache WHERE id = ANY(%(ids)s::bigint[])")


def stamp_texts(cur, ids: list[int]) -> list[tuple[int, int, str]]:
    """[(cache id, row version, credential JSON text)] of these rows."""
    execute(cur, STAMP_TEXTS, {"ids": ids})
    return cur.fetchall()


SCORE_CONTEXT = Statement("score_context", """
SELECT p.id,
       (SELECT array_agg(ARRAY[s.id, s.xmin::text::bigint] ORDER BY s.id)
        FROM registry_stamp s WHERE s.passport_id = p.id),
       (SELECT json_agg(json_build_array(l.hash, l.address, l.expires_at))
        FROM registry_hashscorerlink l
        WHERE l.hash = ANY(%(hashes)s::text[]) AND l.community_id = %(community_id)s)
FROM (VALUES (1)) AS one
LEFT JOIN registry_passport p ON p.address = %(address)s AND p.community_id = %(community_id)s
""")


@dataclass
class ScoreContext:
    passport_id: int | None
    stamp_rows: list[tuple[int, int]]          # (id, version) of the passport's registry_stamp rows
    links: list[tuple]                         # (hash, address, expires_at as ISO text or datetime)


def load_score_context(cur, address: str, community_id: int, hashes: Iterable[str]) -> ScoreContext:
    """The passport (if any), its registry_stamp row versions, and the hash links of ``hashes``."""
    execute(cur, SCORE_CONTEXT, {"address": address, "community_id": community_id, "hashes": list(hashes)})
    passport_id, rows, links = cur.fetchone()
    return ScoreContext(passport_id, [(i, v) for i, v in rows or ()], [tuple(link) for link in links or ()])


def complete_context(cur, read: ScoreRead, community_id: int, hashes: set[str]) -> ScoreContext:
    """``read``'s passport and the links of ``hashes``: those the address owns came with the read;
    the others (another address's, or none yet) take one more round trip."""
    links = [tuple(link) for link in read.owned_links if link[0] in hashes]
    missing = hashes.difference(link[0] for link in links)
    if missing:
        links += load_hash_links(cur, community_id, missing)
    return ScoreContext(read.passport_id, read.registry_rows, links)


def community_exists(cur, community_id: int | None, *, account_id: int | None = None,
                     ref: str | None = None) -> bool:
    if account_id is None:
        cur.execute("SELECT 1 FROM account_community WHERE id = %s", (community_id,))
    else:
        cur.execute("SELECT 1 FROM account_community WHERE account_id = %s "
                    "AND (external_scorer_id = %s OR id = %s)", (account_id, ref, community_id))
    return cur.fetchone() is not None


HASH_LINKS = Statement("hash_links", "SELECT hash, address, expires_at FROM registry_hashscorerlink "
                       "WHERE community_id = %(community_id)s AND hash = ANY(%(hashes)s::text[])")


def load_hash_links(cur, community_id: int, hashes: Iterable[str]) -> list[tuple[str, str, datetime]]:
    execute(cur, HASH_LINKS, {"community_id": community_id, "hashes": list(hashes)})
    return cur.fetchall()


WRITE_LINKS = Statement("write_links", """
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
""")


def write_hash_links(cur, address: str, community_id: int, inserts, updates: dict, now: datetime) -> bool:
    """Apply the planned link writes after a savepoint; True if every write took effect (no
    concurrent claim got in between). Inserts are conditional (ON CONFLICT DO NOTHING) and
    updates re-check ownership, so a race shows as a short count, never as an error."""
    ordered = sorted(inserts.values(), key=lambda link: link.hash)
    upd = sorted(updates.items())
    execute(cur, ("SAVEPOINT lifo", WRITE_LINKS), {
        "community_id": community_id, "address": address, "now": now,
        "ins_hash": [link.hash for link in ordered], "ins_address": [link.address for link in ordered],
        "ins_expires": [link.expires_at for link in ordered],
        "upd_hash": [h for h, _ in upd], "upd_expires": [e for _, e in upd],
    })
    return cur.fetchone()[0] == len(ordered) + len(upd)


def rollback_hash_links(cur) -> None:
    cur.execute("ROLLBACK TO SAVEPOINT lifo")


_LDP = """ldp AS (
    INSERT INTO registry_event (action, address, data, community_id, created_at)
    SELECT 'LDP', %(address)s, e, %(community_id)s, now() FROM unnest(%(ldp)s::jsonb[]) AS e
    WHERE EXISTS (SELECT FROM passport)  -- nothing at all is written for a passport that is gone
    RETURNING id
)"""

_SCORE = """score AS (
    INSERT INTO registry_score (passport_id, score, status, error, last_score_timestamp, evidence,
                                stamp_scores, stamps, expiration_date)
    SELECT id, %(score)s, 'DONE', NULL, %(timestamp)s, %(evidence)s::jsonb, %(stamp_scores)s::jsonb,
           %(stamps)s::jsonb, %(expiration)s
    FROM passport
    ON CONFLICT (passport_id) DO UPDATE SET
        score = EXCLUDED.score, status = EXCLUDED.status, error = NULL,
        last_score_timestamp = EXCLUDED.last_score_timestamp, evidence = EXCLUDED.evidence,
        stamp_scores = EXCLUDED.stamp_scores, stamps = EXCLUDED.stamps,
        expiration_date = EXCLUDED.expiration_date
    RETURNING id, passport_id, evidence, stamp_scores, stamps
)"""

_SCU = """
INSERT INTO registry_event (action, address, data, community_id, created_at)
SELECT 'SCU', %(address)s,
       jsonb_build_object('model', 'registry.score', 'pk', score.id,
                          'fields', jsonb_build_object('passport', score.passport_id, 'evidence', score.evidence,
                                                       'stamp_scores', score.stamp_scores, 'stamps', score.stamps)
                                    || %(fields)s::jsonb),
       %(community_id)s, now()
FROM score
WHERE (SELECT count(*) FROM ldp) >= 0  -- forces the LDP events first, so their ids come before SCU
"""

# The passport exists and its registry_stamp rows already hold the counted stamps: score and events.
PERSIST_SCORE = Statement("persist_score", "WITH passport AS (SELECT id FROM registry_passport "
                          "WHERE id = %(passport_id)s), " + _LDP + ", " + _SCORE + _SCU
                          + "RETURNING (data ->> 'pk')::bigint")

# A remembered rescore in one round trip (app/scoring/memo.py): the read as SCORE_READ, and, only
# when its digest is the memo's and the links its deduplicated stamps clashed with are all as they
# were (none for most addresses), persist_score's writes. What comes back is the new score's id, or
# NULL and the read when nothing was written (the caller then scores from this read): a remembered
# answer needs no read, so none is sent, converted and parsed.
_CLASHES_SAME = """
               AND (SELECT count(*) FROM registry_hashscorerlink l
                    JOIN unnest(%(clash_hash)s::text[], %(clash_address)s::text[], %(clash_expires)s::timestamptz[])
                      AS c(h, a, e) ON l.hash = c.h AND l.address = c.a AND l.expires_at = c.e
                    WHERE l.community_id = %(community_id)s) = cardinality(%(clash_hash)s::text[])"""


def _read_and_persist_if(clashes: str) -> str:
    return f"""
WITH memo_read AS MATERIALIZED ({_READ_WITH_DIGEST}),
passport AS (SELECT id FROM registry_passport
             WHERE id = %(passport_id)s AND (SELECT digest FROM memo_read) = %(digest)s{clashes}),
{_LDP}, {_SCORE}, scu AS ({_SCU} RETURNING (data ->> 'pk')::bigint AS pk),
written AS (SELECT (SELECT pk FROM scu) AS pk)
SELECT written.pk, memo_read.* FROM written LEFT JOIN memo_read ON written.pk IS NULL
"""


# Two statements, so that the addresses without a clash (nearly all) keep a plan with no link check:
# with it, their statement measured more PostgreSQL CPU on a freshly seeded database.
READ_AND_PERSIST_IF = Statement("read_and_persist_if", _read_and_persist_if(""))
READ_AND_PERSIST_IF_CLASHES = Statement("read_and_persist_if_clashes", _read_and_persist_if(_CLASHES_SAME))

PERSIST_SCORE_AND_STAMPS = Statement("persist_score_and_stamps", """
WITH passport AS (
    INSERT INTO registry_passport (address, community_id) VALUES (%(address)s, %(community_id)s)
    ON CONFLICT (address, community_id) DO UPDATE SET address = EXCLUDED.address
    RETURNING id
), counted AS (
    SELECT cc.provider, cc.stamp FROM ceramic_cache_ceramiccache cc WHERE cc.id = ANY(%(stamp_ids)s::bigint[])
), current_rows AS MATERIALIZED (
    -- only this passport's rows, through the passport_id index (whatever the statistics say)
    SELECT id, xmin::text::bigint AS version, provider, credential FROM registry_stamp
    WHERE passport_id = (SELECT id FROM passport)
), kept AS (
    -- registry_stamp ends up holding exactly the counted stamps; rows that already hold one of them
    -- stay (one per stamp), the rest are replaced, so an unchanged passport writes no stamp rows.
    SELECT DISTINCT ON (r.provider) r.id, r.version, r.provider
    FROM current_rows r JOIN counted c ON c.provider = r.provider AND c.stamp = r.credential
    ORDER BY r.provider, r.id
), removed AS (
    DELETE FROM registry_stamp WHERE passport_id = (SELECT id FROM passport)
      AND id NOT IN (SELECT id FROM kept)
), stamps AS (
    INSERT INTO registry_stamp (passport_id, provider, credential)
    SELECT (SELECT id FROM passport), c.provider, c.stamp FROM counted c
    WHERE c.provider NOT IN (SELECT provider FROM kept)
    RETURNING id, xmin::text::bigint AS version
), """ + _LDP + ", " + _SCORE + _SCU + """RETURNING (data ->> 'pk')::bigint, (SELECT passport_id FROM score),
          (SELECT array_agg(ARRAY[id, version] ORDER BY id)
           FROM (SELECT id, version FROM kept UNION ALL SELECT id, version FROM stamps) AS now_held)
""")


def _json(value) -> str:
    # JSON text with a ::jsonb cast in the SQL: a plain string parameter is quoted in C, where a
    # psycopg2 Json adapter costs a Python call per value.
    return orjson.dumps(value).decode()


@dataclass(frozen=True)
class ScoreRecord:
    """The values a score writes, as the core computed them: the registry_score columns, the SCU
    event snapshot's own fields, the ceramic-cache rows of the counted stamps."""

    address: str
    community_id: int
    score: Decimal                 # 1 or 0
    last_score_timestamp: datetime
    evidence: dict
    stamp_scores: dict
    stamps: dict
    expiration_date: datetime | None
    event_fields: dict             # the snapshot's fields but those the SQL takes from the score row
    counted_cache_ids: list[int]


def _params(record: ScoreRecord, ldp_events: list[dict]) -> dict:
    return {
        "address": record.address, "community_id": record.community_id,
        "ldp": [orjson.dumps(e).decode() for e in ldp_events],
        "score": record.score, "timestamp": record.last_score_timestamp,
        "evidence": _json(record.evidence), "stamp_scores": _json(record.stamp_scores),
        "stamps": _json(record.stamps), "expiration": record.expiration_date,
        "fields": _json(record.event_fields),
    }


def persist_score(cur, passport_id: int, record: ScoreRecord, ldp_events: list[dict]) -> int | None:
    """Score, LDP and SCU events of an existing passport whose stamps are already in place; the
    score id, or None if the passport is gone."""
    execute(cur, PERSIST_SCORE, {**_params(record, ldp_events), "passport_id": passport_id})
    row = cur.fetchone()
    return None if row is None else row[0]


def read_and_persist_if(cur, digest: str, passport_id: int, record: ScoreRecord, ldp_events: list[dict] = (),
                        clashes: list = ()) -> tuple[ScoreRead | None, int | None]:
    """The score, LDP and SCU events of ``record`` written if the score read's digest is ``digest``
    and the hash links ``clashes`` (dedup.Link) are all as given: (None, the score id); else (the
    read, None)."""
    params = {**_params(record, ldp_events), "passport_id": passport_id, "digest": digest}
    if clashes:
        params.update({"clash_hash": [link.hash for link in clashes],
                       "clash_address": [link.address for link in clashes],
                       "clash_expires": [link.expires_at.isoformat() for link in clashes]})
    execute(cur, READ_AND_PERSIST_IF_CLASHES if clashes else READ_AND_PERSIST_IF, params)
    row = cur.fetchone()
    return (None, row[0]) if row[0] is not None else (score_read(row[1:]), None)


@dataclass
class Persisted:
    score_id: int
    passport_id: int
    stamp_rows: list[tuple[int, int]]  # (id, version) of the registry_stamp rows now held


def persist_score_and_stamps(cur, record: ScoreRecord, ldp_events: list[dict]) -> Persisted:
    """Passport, counted stamps, score, LDP and SCU events."""
    execute(cur, PERSIST_SCORE_AND_STAMPS, {**_params(record, ldp_events), "stamp_ids": record.counted_cache_ids})
    score_id, passport_id, rows = cur.fetchone()
    return Persisted(score_id, passport_id, [(i, v) for i, v in rows or ()])
